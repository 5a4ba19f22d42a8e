//! Statement files over a real OpenSSH SFTP server with host-key checking on; their header and
//! trailer control totals; the statement faults; and wire recording.

mod common;
use common::*;
use medpay_schemas::wire::bank::*;
use serde_json::json;
use std::process::Command;
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// (header count, header payments, header refunds, detail lines, trailer digest ok)
fn check(text: &str) -> (usize, i64, i64, Vec<Vec<String>>, bool) {
    let lines: Vec<&str> = text.lines().collect();
    let h: Vec<&str> = lines[0].split('|').collect();
    let t: Vec<&str> = lines[lines.len() - 1].split('|').collect();
    assert_eq!((h[0], t[0]), ("H", "T"));
    let details: Vec<&str> = lines[1..lines.len() - 1].to_vec();
    let digest = hex::encode(medpay_crypto::sm3::sm3(details.join("\n").as_bytes()));
    let rows = details.iter().map(|l| l.split('|').map(String::from).collect()).collect();
    (h[4].parse().unwrap(), h[5].parse().unwrap(), h[6].parse().unwrap(), rows, t[4] == digest)
}

fn sum(rows: &[Vec<String>], direction: &str, col: usize) -> i64 {
    rows.iter().filter(|r| r[2] == direction).map(|r| r[col].parse::<i64>().unwrap()).sum()
}

fn sftp_get(
    sftp: &medpay_sandbox::sftp::SftpInfo,
    known_hosts: &std::path::Path,
    remote: &str,
    local: &std::path::Path,
) -> std::process::Output {
    let batch = local.with_extension("batch");
    std::fs::write(&batch, format!("get {remote} {}\n", local.display())).unwrap();
    Command::new("sftp")
        .args(["-b", batch.to_str().unwrap(), "-P", &sftp.port.to_string(), "-i", sftp.private_key.to_str().unwrap()])
        .args(["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o"])
        .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
        .arg(format!("{}@{}", sftp.user, sftp.host))
        .output()
        .unwrap()
}

#[tokio::test]
async fn statements_over_sftp_with_control_totals_and_recording() {
    let record = scratch("record");
    let env = start("sftp", |c| {
        c.sftp_port = Some(free_port());
        c.record_dir = Some(record.clone());
    })
    .await;
    let o = order(&env, "mixed", "HIS-S-1", &[30_000]).await.unwrap();
    env.post("/sandbox/patient/pay", json!({"mix_trade_no": o.mix_trade_no})).await;
    let h = env.hospital().clone();
    let refund = medpay_activities::bank::transformers::self_pay_refund(
        &h.bank.mer_id,
        &o.out_trade_no,
        "RF-S-1",
        &patient_refund(&o, &h.org_code, "RF-S-1", 1_000),
    );
    let _: SelfPayRefundResponse = env.bank.call(BankOp::SelfPayRefund, "m-s-rf", &refund).await.unwrap();

    let (status, v) = env.post("/sandbox/control/statements", json!({"kind": "selfpay", "period": today()})).await;
    assert_eq!(status, 200, "{v}");
    let remote = v["files"][0].as_str().unwrap().to_string();
    let sftp = env.sandbox.sftp.clone().unwrap();
    let local = env.dir.join("downloaded.txt");
    let out = sftp_get(&sftp, &sftp.known_hosts, &remote, &local);
    assert!(out.status.success(), "sftp failed: {}", String::from_utf8_lossy(&out.stderr));
    let (count, payments, refunds, rows, digest_ok) = check(&std::fs::read_to_string(&local).unwrap());
    assert!(digest_ok);
    assert_eq!((count, payments, refunds), (2, 4_000, 1_000));
    assert_eq!((sum(&rows, "PAYMENT", 7), sum(&rows, "REFUND", 7)), (payments, refunds));
    assert_eq!(rows[0][3], o.out_trade_no.as_str());

    // Host-key checking is on: a known_hosts with another key refuses the server.
    let wrong = env.dir.join("wrong_known_hosts");
    let other_key = env.dir.join("other_host_key");
    Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f", other_key.to_str().unwrap()])
        .status()
        .unwrap();
    let pubkey = std::fs::read_to_string(other_key.with_extension("pub")).unwrap();
    let pubkey: Vec<&str> = pubkey.split_whitespace().take(2).collect();
    std::fs::write(&wrong, format!("[127.0.0.1]:{} {}\n", sftp.port, pubkey.join(" "))).unwrap();
    let refused = sftp_get(&sftp, &wrong, &remote, &env.dir.join("refused.txt"));
    assert!(!refused.status.success(), "sftp accepted an unknown host key");

    // The monthly insurance detail.
    let month = &today()[..7];
    let (_, v) = env.post("/sandbox/control/statements", json!({"kind": "insurance", "period": month})).await;
    let ins = std::fs::read_to_string(
        medpay_sandbox::statements::root(&env.sandbox.app).join(v["files"][0].as_str().unwrap()),
    )
    .unwrap();
    let (count, payments, _, rows, digest_ok) = check(&ins);
    assert!(digest_ok);
    assert_eq!((count, payments), (1, 26_000), "fund 210.00 + account 50.00");
    assert_eq!(sum(&rows, "PAYMENT", 6) + sum(&rows, "PAYMENT", 7), payments);

    // Every raw exchange was recorded.
    let names: Vec<String> = std::fs::read_dir(&record)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let upload =
        names.iter().find(|n| n.contains("uldFeeInfo") && n.ends_with(".response.txt")).expect("6201 recorded");
    assert!(std::fs::read_to_string(record.join(upload)).unwrap().contains("encData"));
    assert!(names.iter().any(|n| n.contains("mixorder") && n.ends_with(".request.txt")));
    env.sandbox.stop().await;
}

#[tokio::test]
async fn statement_faults() {
    let env = start("stmt-faults", |_| {}).await;
    let o = order(&env, "mixed", "HIS-F-1", &[30_000]).await.unwrap();
    env.post("/sandbox/patient/pay", json!({"mix_trade_no": o.mix_trade_no})).await;
    let o2 = order(&env, "resident", "HIS-F-2", &[10_000]).await.unwrap();
    env.post("/sandbox/patient/pay", json!({"mix_trade_no": o2.mix_trade_no})).await;
    let root = medpay_sandbox::statements::root(&env.sandbox.app);
    let write = async |fault: serde_json::Value| {
        env.put_faults(json!({"global": {"statement": fault}})).await;
        let (_, v) = env.post("/sandbox/control/statements", json!({"kind": "selfpay", "period": today()})).await;
        root.join(v["files"][0].as_str().unwrap())
    };
    let clean = check(&std::fs::read_to_string(write(json!({})).await).unwrap());
    assert_eq!(clean.3.len(), clean.0);
    assert_eq!(sum(&clean.3, "PAYMENT", 7), clean.1);

    let missing = check(&std::fs::read_to_string(write(json!({"missing_line": true})).await).unwrap());
    assert_eq!(missing.3.len(), missing.0 - 1, "one line fewer than the header says");
    let extra = check(&std::fs::read_to_string(write(json!({"extra_line": true})).await).unwrap());
    assert_eq!(extra.3.len(), extra.0 + 1);
    assert!(extra.3.iter().any(|r| r[3] == "SANDBOX-UNKNOWN-ORDER"));
    let wrong = check(&std::fs::read_to_string(write(json!({"wrong_amount": true})).await).unwrap());
    assert_eq!(sum(&wrong.3, "PAYMENT", 7), wrong.1 + 1, "one fen off the control total");
    assert!(wrong.4, "the digest covers the lines as written: only the control totals disagree");

    let path = write(json!({"late_secs": 2})).await;
    let _ = std::fs::remove_file(&path);
    let path = write(json!({"late_secs": 2})).await;
    assert!(!path.exists(), "a late file must not be there yet");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(path.exists(), "the late file never appeared");
    env.sandbox.stop().await;
}
