//! The HIS API against its own contract (REQ S-4.1c, issue 7 "bad input"): `schemathesis`
//! (from PyPI, installed into `.venv` by scripts/test.sh) generates requests from
//! `/openapi.json` - documented examples, boundary values and fuzzed bodies - against the real
//! `medpay run`, and no response may be a 5xx. Every refusal is a 4xx in the error format.

use medpay_tests::stack::*;
use std::path::PathBuf;
use std::process::Command;

fn schemathesis_bin() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let bin = std::env::var_os("MEDPAY_SCHEMATHESIS_BIN").map(PathBuf::from).unwrap_or_else(|| root.join(".venv/bin/schemathesis"));
    assert!(bin.is_file(), "{} is missing: scripts/test.sh installs it (.venv/bin/pip install schemathesis)", bin.display());
    bin
}

#[test]
fn generated_requests_never_get_a_server_error() {
    let bin = schemathesis_bin();
    let stack = Stack::start("schemathesis", &[]);
    let report = stack.dir.join("schemathesis-junit.xml");
    let out = Command::new(&bin)
        .args(["run", &format!("http://{}/openapi.json", stack.api), "--checks", "not_a_server_error", "--max-examples", "25", "--phases", "examples,coverage,fuzzing"])
        .args(["--generation-deterministic", "--report", "junit", "--report-junit-path", report.to_str().unwrap(), "--no-color"])
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "schemathesis found server errors:\n{text}");
    let junit = std::fs::read_to_string(&report).unwrap_or_default();
    let cases = junit.matches("<testcase").count();
    assert!(cases >= 10, "schemathesis ran only {cases} operations:\n{text}");
    eprintln!("schemathesis: {cases} operations, no 5xx\n{}", text.lines().rev().take(25).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n"));
    stack.stop();
}
