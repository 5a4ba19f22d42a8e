//! Inputs and outputs of the operator self-check (`medpay doctor`, `POST /v1/diagnostics/self-check`):
//! a workflow round trip through the server, the worker and one activity.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfCheckRequest {
    /// Who asked (e.g. "cli", "api"), recorded in the workflow history for operators.
    pub requested_by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfCheckReport {
    /// The worker build that ran the activity.
    pub worker_version: String,
    pub checks: Vec<CheckResult>,
}

impl SelfCheckReport {
    pub fn all_ok(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.ok)
    }
}
