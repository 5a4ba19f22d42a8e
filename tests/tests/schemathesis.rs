//! The HIS API against its own contract (REQ S-4.1c): `schemathesis` (from PyPI, installed into
//! `.venv` by scripts/test.sh) generates requests from `/openapi.json` - documented examples,
//! boundary values, fuzzed bodies, and the stateful phase that follows the document's links
//! (create -> status -> confirm / cancel -> refund -> refund status) - against the real
//! `medpay run` with API keys on, and runs every check: no 5xx, every status code and content
//! type documented, every documented-valid request accepted, every invalid one refused, a
//! documented-required header (the API key) enforced. Zero failures: the document says exactly
//! what the server does, so an HIS vendor's generated client is not misled.

use medpay_harness::stack::*;
use std::path::PathBuf;
use std::process::Command;

const KEY: &str = "schemathesis-key-0123456789";

fn schemathesis_bin() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let bin = std::env::var_os("MEDPAY_SCHEMATHESIS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv/bin/schemathesis"));
    assert!(
        bin.is_file(),
        "{} is missing: scripts/test.sh installs it (.venv/bin/pip install schemathesis)",
        bin.display()
    );
    bin
}

#[test]
fn the_api_does_exactly_what_its_document_says() {
    let bin = schemathesis_bin();
    let keys = std::env::temp_dir().join(format!("medpay-schemathesis-keys-{}", std::process::id()));
    std::fs::write(&keys, format!("H51010500001={KEY}\n")).unwrap();
    // Limits out of the way: the run sends hundreds of requests, many without the key on
    // purpose; blocking and rate limits have their own test (abuse.rs).
    let stack = Stack::start(
        "schemathesis",
        &[
            ("MEDPAY_API_KEYS_FILE", keys.to_str().unwrap()),
            ("MEDPAY_BLOCK_AFTER_FAILURES", "1000000"),
            ("MEDPAY_RATE_PER_IP", "100000"),
            ("MEDPAY_RATE_PER_DEVICE", "100000"),
            ("MEDPAY_RATE_DEVICE_BURST", "100000"),
            ("MEDPAY_ORDER_BURST_MAX", "100000"),
        ],
    );
    let report = stack.dir.join("schemathesis-junit.xml");
    // The sandbox's hospital, so that generated requests reach the business logic instead of
    // stopping at 403 (the key serves one hospital); everything else is generated.
    let config = stack.dir.join("schemathesis.toml");
    // A bill's lines and visit are pinned to one complete example: their amounts are quantity ×
    // unit price and an outpatient visit needs a diagnosis, rules across fields that a JSON
    // schema cannot state, so generated ones would be refused (422 INVALID_BILL) though the
    // document calls them valid. Those rules have their own tests (hardening.rs, bill.rs).
    // A patient link's bill cannot be pinned so (schemathesis 4.32 leaves an override under a
    // `$ref`'d property unapplied): for that one operation a 422 for schema-valid data is
    // accepted, every other check stays on.
    let mut bill = serde_json::json!({"lines": [{"code": "L0", "name": "项目", "amount_fen": 100}]});
    medpay_schemas::bill::sample::complete(&mut bill);
    let mut parameters = toml::Table::new();
    parameters.insert("path.org".into(), "H51010500001".into());
    parameters.insert("body.org_code".into(), toml::Value::Table(toml::toml! { dictionary = "hospital" }));
    for field in ["lines", "visit"] {
        parameters.insert(format!("body.{field}"), toml::Value::try_from(&bill[field]).unwrap());
    }
    // The rollout gate's stage: see the operation's override below.
    parameters.insert("body.stage".into(), "live".into());
    let mut file = toml::Table::new();
    file.insert("dictionaries".into(), toml::Value::Table(toml::toml! { [hospital] values = ["H51010500001"] }));
    file.insert("parameters".into(), toml::Value::Table(parameters));
    let patient_link = toml::toml! {
        include-path = "/v1/payments/{org}/{ord}/patient-link"
        [checks.positive_data_acceptance]
        expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
    };
    // The rollout gate's changes depend on the hospital's configuration and acceptance reports
    // (409) and a pilot's share on the stage (422): rules across fields and state. Its stage is
    // pinned (above) to `live` — refused without an acceptance report, so the gate stays open and the
    // payments generated after it are not refused by a gate the run itself closed; the changes
    // themselves are proven in go_live.rs.
    let rollout = toml::toml! {
        include-path = "/v1/hospitals/{org}/rollout"
        [checks.positive_data_acceptance]
        expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429", "5xx"]
    };
    file.insert(
        "operations".into(),
        toml::Value::Array(vec![toml::Value::Table(patient_link), toml::Value::Table(rollout)]),
    );
    std::fs::write(&config, toml::to_string(&file).unwrap()).unwrap();
    let out = Command::new(&bin)
        .args(["--config-file", config.to_str().unwrap()])
        .args([
            "run",
            &format!("http://{}/openapi.json", stack.api),
            "--checks",
            "all",
            "--max-examples",
            "25",
            "--phases",
            "examples,coverage,fuzzing,stateful",
        ])
        .args(["--header", &format!("Authorization: Bearer {KEY}")])
        // A status read may long-poll for up to `wait_secs` (documented ≤ 29 s): the response
        // time limit is that, not schemathesis' default of 10 s.
        .args(["--max-response-time", "35"])
        .args([
            "--generation-deterministic",
            "--request-timeout",
            "40",
            "--report",
            "junit",
            "--report-junit-path",
            report.to_str().unwrap(),
            "--no-color",
        ])
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    std::fs::remove_file(&keys).ok();
    assert!(out.status.success(), "schemathesis found mismatches between the API and its document:\n{text}");
    let junit = std::fs::read_to_string(&report).unwrap_or_default();
    let cases = junit.matches("<testcase").count();
    assert!(cases >= 10, "schemathesis ran only {cases} operations:\n{text}");
    assert!(text.contains("Stateful"), "the stateful phase did not run:\n{text}");
    assert!(
        !text.contains("Stateful (not applicable)") && !text.contains("Stateful (skipped)"),
        "the stateful phase found no links to follow:\n{text}"
    );
    eprintln!(
        "schemathesis: {cases} operations, every check passed\n{}",
        text.lines().rev().take(25).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
    );
    stack.stop();
}
