//! `medpay envelope` as an integrator uses it: fed the golden vector's inputs
//! (docs/vectors/mid-platform-envelope.md) it reproduces the vector's sign
//! string and encData byte for byte, and `verify` names the disagreeing step.

use medpay_harness::medpay_bin;
use std::path::PathBuf;
use std::process::{Command, Output};

const APP_ID: &str = "43AF047BBA47FC8A1AE8EFB232BDBBCB";
const APP_SECRET: &str = "4117E877F5FA0A0188891283E4B617D5";
const VECTOR_KEY: &str = "211fee8c3c5fee2fad3dc926fc9403366d2def02cdd0bb5bd683ca015d99db7f";
const VECTOR_PUB: &str = "0417cc16abaebedc7f87b2e0a508c0cb93631761db7fa19adece712c6aade1d673e389b5e902df7a2e6fe3917b0f55747e00d74e36e939ecc3e7967b7058a91858";

fn scratch(name: &str, content: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("medpay-envcli-{}-{name}", std::process::id()));
    std::fs::write(&p, content).unwrap();
    p
}

fn medpay(args: &[&str]) -> Output {
    Command::new(medpay_bin()).args(args).output().unwrap()
}

fn line<'a>(stdout: &'a str, label: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(label).map(|r| r.trim_start_matches([' ', ':']).trim()))
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{stdout}"))
}

fn seal_mid_platform(data: &str, timestamp: &str, version: &str, extra: &[&str]) -> String {
    let data_file = scratch(&format!("data-{timestamp}"), data);
    let mut args = vec![
        "envelope",
        "seal",
        "mid-platform",
        "--app-id",
        APP_ID,
        "--app-secret",
        APP_SECRET,
        "--private-key",
        VECTOR_KEY,
        "--data",
        data_file.to_str().unwrap(),
        "--timestamp",
        timestamp,
        "--version",
        version,
    ];
    args.extend_from_slice(extra);
    let out = medpay(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn seal_reproduces_the_spec_example_vector() {
    let out = seal_mid_platform(
        r#"{"appId":"43AF047BBA47FC8A1AE8EFB232BDBBCB","appUserId":"o8z4C5avQXqC0aWFPf1Mzu6D7WCQ_bd","idNo":"350181199011193519","idType":"01","phoneNumber":"13763873033","userName":"测试"}"#,
        "20200207175759",
        "1.0.0",
        &[],
    );
    assert_eq!(line(&out, "data key"), "38363342354634304337304237314541 (ASCII 863B5F40C70B71EA)");
    assert_eq!(
        line(&out, "sign string"),
        r#"appId=43AF047BBA47FC8A1AE8EFB232BDBBCB&data={"appId":"43AF047BBA47FC8A1AE8EFB232BDBBCB","appUserId":"o8z4C5avQXqC0aWFPf1Mzu6D7WCQ_bd","idNo":"350181199011193519","idType":"01","phoneNumber":"13763873033","userName":"测试"}&encType=SM4&signType=SM2&timestamp=20200207175759&version=1.0.0&key=4117E877F5FA0A0188891283E4B617D5"#
    );
    assert_eq!(
        line(&out, "encData"),
        "64A9C5A7AB3AEA5FC01DE87025F999521C08D25DA13BD715D7E036A7D7C1DBCB6AB7914898A23A99C97EBEFE5277247AD7D0DD9B18F4DCC71A2C280C5143F25B857C795E6BA9F399652C3A4264FC2CBBA7E06B08E151362301659FC3F377348019010E5EA11342846470277652953B35C2CA95C9975090885AB286BB736BA3BB98F3540962552F40C8350926B93CD21CB7A624E6C4E41E349627E7B36B5C1B5F2A3E846EEB254C6DCD536A5D25825E8E0A4E1A6424F4D8B4116AEF8D0699C425"
    );
    assert_eq!(line(&out, "SM3 digest e").len(), 64);
    assert_eq!(base64_len(line(&out, "signature raw")), 64);
}

fn base64_len(s: &str) -> usize {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap().len()
}

#[test]
fn seal_reproduces_the_edge_case_vector() {
    let out = seal_mid_platform(
        r#"{"emptyString":"","nullValue":null,"emptyDict":{},"emptyList":[],"nested":{"b":2,"a":1,"deep":{"z":"","y":[1,"",null,{"k":"值"}]}},"boolTrue":true,"boolFalse":false,"number":123,"chinese":"高平市人民医院"}"#,
        "20260903000000",
        "2.0.1",
        &[],
    );
    assert_eq!(
        line(&out, "sign string"),
        r#"appId=43AF047BBA47FC8A1AE8EFB232BDBBCB&data={"boolFalse":false,"boolTrue":true,"chinese":"高平市人民医院","nested":{"a":1,"b":2,"deep":{"y":[1,{"k":"值"}]}},"number":123}&encType=SM4&signType=SM2&timestamp=20260903000000&version=2.0.1&key=4117E877F5FA0A0188891283E4B617D5"#
    );
    assert_eq!(
        line(&out, "encData"),
        "F8B6D0EE9B2BBD4C15FB93D134536C51F1D611E1709EBBD7C55DA0E66CA8CA15799897233519F644B0B887A3499BDE42342F95ACA31A7481661752DA66259506A807ACB78800CDE6128D813451AE8B120567A9454E19C20859172CB3EC677B2B3EF8062D261F382FA553D13C9336C0F23190EEC5C8A5CB0298B03C37A37B173788D1656BDA4A973DCC3B4154158592C7"
    );
}

#[test]
fn verify_accepts_the_sealed_body_and_names_a_number_style_mismatch() {
    let out = seal_mid_platform(r#"{"payOrdId":"ORD1","cnt":2}"#, "20261126120000", "2.0.1", &["--numbers", "string"]);
    let body = scratch("body.json", line(&out, "body"));
    let verify = |numbers: &str| {
        medpay(&[
            "envelope",
            "verify",
            "mid-platform",
            "--app-id",
            APP_ID,
            "--app-secret",
            APP_SECRET,
            "--public-key",
            VECTOR_PUB,
            "--message",
            body.to_str().unwrap(),
            "--numbers",
            numbers,
        ])
    };
    let ok = verify("string");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stdout));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("verdict: verified"));
    let mismatch = verify("literal");
    assert!(!mismatch.status.success());
    let text = String::from_utf8_lossy(&mismatch.stdout);
    assert!(text.contains("numbers signed as String"), "{text}");
}

#[test]
fn bank_seal_and_verify_round_trip_through_the_cli() {
    let biz = scratch("biz.json", r#"{"out_trade_no":"SP1","total_fee":"3000"}"#);
    let out = medpay(&[
        "envelope",
        "seal",
        "bank",
        "--app-id",
        "APP1",
        "--path",
        "/api/mimp/mixorder/V1",
        "--private-key",
        VECTOR_KEY,
        "--data",
        biz.to_str().unwrap(),
        "--msg-id",
        "m-1",
        "--timestamp-millis",
        "1764000000000",
        "--biz-key",
        "00112233445566778899aabbccddeeff",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(line(&stdout, "sign string").starts_with("/api/mimp/mixorder/V1?app_id=APP1&biz_content="));
    let form = scratch("form.txt", line(&stdout, "form body"));
    let verify = |path: &str| {
        medpay(&[
            "envelope",
            "verify",
            "bank",
            "--app-id",
            "APP1",
            "--path",
            path,
            "--public-key",
            VECTOR_PUB,
            "--message",
            form.to_str().unwrap(),
            "--biz-key",
            "00112233445566778899aabbccddeeff",
        ])
    };
    let ok = verify("/api/mimp/mixorder/V1");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains(r#""out_trade_no":"SP1""#));
    let wrong_path = verify("/api/mimp/orderstatusquery/V1");
    assert!(!wrong_path.status.success());
    assert!(String::from_utf8_lossy(&wrong_path.stderr).contains("signature does not verify"));
}
