//! Deterministic orchestration only. Workflow code here must not read clocks, draw random
//! numbers, do I/O or use tokio timers: everything external is an activity from
//! `medpay-activities`, time comes from the workflow context. `clippy.toml` in this crate bans
//! the usual offenders and CI runs clippy with `-D warnings`.

pub mod diagnostics;
pub mod his_notice;
pub mod options;
pub mod payment;
pub mod quick;
pub mod recon;
pub mod refund;
pub mod search;

/// An activity failure with its causes ("Activity task failed: ...: 40003 authCode used"), for
/// the reasons operators read in the ledger, the API and the Web UI.
pub fn why(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let s = c.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = c.source();
    }
    out
}
