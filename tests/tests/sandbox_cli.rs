//! `medpay-sandbox` as a user starts it: flags become the sandbox's global faults, it prints
//! where its CA and parameters are, serves HTTPS that verifies against that CA only, and stops
//! cleanly on SIGTERM.

use medpay_harness::*;
use std::process::Command;
use std::time::Duration;

#[test]
fn flags_reach_the_running_sandbox() {
    let dir = std::env::temp_dir().join(format!("medpay-sandbox-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let addr = format!("127.0.0.1:{}", free_port());
    let mut sandbox = Proc::spawn(Command::new(sandbox_bin()).args([
        "--listen",
        &addr,
        "--data-dir",
        dir.to_str().unwrap(),
        "--fault",
        "callback-lost",
        "--fault",
        "errors:bank.query=500",
        "--pay-auth-ttl-secs",
        "60",
    ]));
    let lines = sandbox.wait_for_line("personas", Duration::from_secs(30));
    let ca = dir.join("tls/ca.pem");
    assert!(lines.iter().any(|l| l.contains(ca.to_str().unwrap())), "the CA path is printed: {lines:?}");
    assert!(dir.join("credentials.json").is_file());

    let curl = |extra: &[&str]| {
        Command::new("curl")
            .args(["-sS", "--max-time", "10"])
            .args(extra)
            .arg(format!("https://{addr}/sandbox/control/faults"))
            .output()
            .unwrap()
    };
    let ok = curl(&["--cacert", ca.to_str().unwrap()]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let faults = json(&String::from_utf8_lossy(&ok.stdout));
    assert_eq!(faults["global"]["callback"]["lost"], true);
    assert_eq!(faults["global"]["endpoints"]["bank.query"]["error_permille"], 500);
    // Without the sandbox CA the certificate is not trusted.
    assert!(!curl(&["--cacert", "/dev/null"]).status.success());

    let status = sandbox.terminate(Duration::from_secs(10));
    assert!(status.success(), "sandbox exited with {status}");
    let bad = Command::new(sandbox_bin())
        .args(["--listen", "127.0.0.1:0", "--data-dir", dir.to_str().unwrap(), "--fault", "no-such-fault"])
        .output()
        .unwrap();
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("unknown fault"));
    let _ = std::fs::remove_dir_all(&dir);
}
