//! Recorded histories: re-recording the ones the tests name (for the replay test) and reading
//! which activities a history ran.

use crate::stack::Stack;
use crate::*;
use serde_json::Value;
use std::process::Command;

impl Stack {
    /// Exports a finished workflow's history as tests/histories/{name}.json when recording.
    pub fn record(&self, workflow_id: &str, name: &str) {
        if !recording() {
            return;
        }
        let out = workspace_root().join(format!("tests/histories/{name}.json"));
        let status = Command::new(medpay_bin())
            .args(["history", "export", workflow_id, "--out"])
            .arg(&out)
            .env("MEDPAY_TEMPORAL_ADDRESS", self.temporal.address())
            .env("MEDPAY_PAYLOAD_KEY_FILE", replay_key_file())
            .status()
            .unwrap();
        assert!(status.success(), "export of {workflow_id}");
    }
}

/// The activity types a history ran, in order: regular activities as scheduled, local
/// activities (the payment's quick steps) by their markers.
pub fn activities_run(history: &Value) -> Vec<String> {
    let Some(events) = history["events"].as_array() else { return vec![] };
    events
        .iter()
        .filter_map(|e| {
            if let Some(name) = e["activityTaskScheduledEventAttributes"]["activityType"]["name"].as_str() {
                return Some(name.to_string());
            }
            let marker = &e["markerRecordedEventAttributes"];
            if marker["markerName"] != "core_local_activity" {
                return None;
            }
            local_activity_type(&marker["details"]["data"]["payloads"][0]["data"])
        })
        .collect()
}

/// The marker's metadata payload (JSON): as the `temporal` CLI prints it, either decoded or
/// base64.
fn local_activity_type(data: &Value) -> Option<String> {
    use base64::Engine;
    let meta = match data {
        Value::String(b64) => {
            serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(b64).ok()?).ok()?
        }
        other => other.clone(),
    };
    meta["activity_type"].as_str().map(String::from)
}
