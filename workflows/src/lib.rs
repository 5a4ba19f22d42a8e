//! Deterministic orchestration only. Workflow code here must not read clocks, draw random
//! numbers, do I/O or use tokio timers: everything external is an activity from
//! `medpay-activities`, time comes from the workflow context. `clippy.toml` in this crate bans
//! the usual offenders and CI runs clippy with `-D warnings`.

pub mod diagnostics;
pub mod payment;
