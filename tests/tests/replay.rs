//! Every history recorded in tests/histories/ must replay against the current workflow code.
//! A failure here means a change would break workflows already running in production: guard
//! it with `ctx.patched(..)` (and keep the old history), do not re-record to make this pass.
//! The payment and refund histories are recorded by the end-to-end tests themselves
//! (`MEDPAY_RECORD_HISTORIES=1`, see `medpay_tests::stack::recording`), their payloads
//! encrypted with the committed test-only key `tests/histories/replay-test-only.key`.

use medpay_tests::stack::replay_key_file;
use medpay_tests::{medpay_bin, workspace_root};
use std::process::Command;

#[test]
fn recorded_histories_replay() {
    let dir = workspace_root().join("tests/histories");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no recorded histories in {}", dir.display());
    for path in ["payment-", "refund-", "recon-"] {
        assert!(files.iter().any(|f| f.file_name().is_some_and(|n| n.to_string_lossy().starts_with(path))), "no recorded {path}* history");
    }
    let out = Command::new(medpay_bin()).arg("replay").args(&files).env("MEDPAY_PAYLOAD_KEY_FILE", replay_key_file()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.matches("[ ok ]").count(), files.len(), "{stdout}");
}

#[test]
fn a_history_from_different_code_is_reported_as_not_replaying() {
    // Take a recorded history and rename the activity it scheduled: the workflow code now
    // disagrees with the history, which replay must catch.
    let dir = workspace_root().join("tests/histories");
    let original = std::fs::read_to_string(dir.join("selfcheck-v1.json")).unwrap();
    assert!(original.contains("DiagnosticsActivities::self_check"));
    let altered = original.replace("DiagnosticsActivities::self_check", "DiagnosticsActivities::other_check");
    let path = std::env::temp_dir().join(format!("medpay-altered-{}.json", std::process::id()));
    std::fs::write(&path, altered).unwrap();
    let out = Command::new(medpay_bin()).arg("replay").arg(&path).output().unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(!out.status.success(), "an altered history must not replay");
    assert!(String::from_utf8_lossy(&out.stdout).contains("[FAIL]"));
}
