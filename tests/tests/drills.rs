//! The runbook's drills (docs/RUNBOOK.md, REQ A-4.2b) as the suite runs them: each `medpay-tools drill`
//! starts a private stack, causes its situation, applies the playbook and fails unless the
//! payments came through. Sequential, so their timing does not fight over the two cores.

use medpay_harness::{temporal_bin, tools_bin};
use std::process::Command;

#[test]
fn every_playbook_recovers_in_its_drill() {
    for situation in [
        "bank-down",
        "mid-platform-down",
        "callback-storm",
        "temporal-down",
        "key-rotation",
        "certificate-renewal",
        "stuck-pending",
    ] {
        let out = Command::new(tools_bin())
            .args(["drill", situation])
            .env("MEDPAY_TEMPORAL_BIN", temporal_bin())
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && text.contains("drill passed"), "drill {situation} failed:\n{text}");
    }
}
