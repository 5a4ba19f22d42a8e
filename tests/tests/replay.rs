//! Every history recorded in tests/histories/ must replay against the current workflow code.
//! A failure here means a change would break workflows already running in production: guard
//! it with a patch marker as ARCHITECTURE.md's "Versioning workflows" says, keep the old
//! history, record a new one, and do not re-record to make this pass.
//! The payment, refund and reconciliation histories are recorded by the end-to-end tests
//! themselves (`MEDPAY_RECORD_HISTORIES=1`, see `medpay_harness::recording`), their payloads
//! encrypted with the committed test-only key `tests/histories/replay-test-only.key`.

use medpay_harness::{medpay_bin, replay_key_file, workspace_root};
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
        assert!(
            files.iter().any(|f| f.file_name().is_some_and(|n| n.to_string_lossy().starts_with(path))),
            "no recorded {path}* history"
        );
    }
    let out = Command::new(medpay_bin())
        .arg("replay")
        .args(&files)
        .env("MEDPAY_PAYLOAD_KEY_FILE", replay_key_file())
        .output()
        .unwrap();
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

/// A payment that went straight to `Paid` records no patch marker and upserts its search
/// attributes once, at the end (its identity came with the start request; each upsert is a
/// visibility write on the Temporal server). Its five quick steps run as local activities
/// (`workflows/src/quick.rs`): five local-activity markers instead of five scheduled
/// activities; only the HIS notice is a regular activity.
#[test]
fn a_paid_payment_upserts_once_and_runs_its_quick_steps_locally() {
    let text = std::fs::read_to_string(workspace_root().join("tests/histories/payment-mixed-callback.json")).unwrap();
    let history: serde_json::Value = serde_json::from_str(&text).unwrap();
    let events = history["events"].as_array().unwrap();
    let markers = |local: bool| {
        events
            .iter()
            .filter(|e| {
                e["attributes"]["MarkerRecordedEventAttributes"]["marker_name"]
                    .as_str()
                    .is_some_and(|m| (m == "core_local_activity") == local)
            })
            .count()
    };
    let upserts = events
        .iter()
        .filter(|e| e["attributes"].get("UpsertWorkflowSearchAttributesEventAttributes").is_some())
        .count();
    let scheduled = events
        .iter()
        .filter(|e| e["attributes"]["ActivityTaskScheduledEventAttributes"]["activity_type"]["name"].as_str().is_some())
        .count();
    assert_eq!(
        (markers(false), upserts, markers(true), scheduled),
        (0, 1, 5, 1),
        "no patch marker, one upsert, five local steps, the HIS notice scheduled; re-record with \
         MEDPAY_RECORD_HISTORIES=1 only after a deliberate change"
    );
}
