//! The self-check (`medpay doctor`, `POST /v1/diagnostics/self-check`): one self-check workflow
//! through the server and a worker, with a deadline so a missing worker is reported instead of
//! waiting forever.

use anyhow::Context;
use medpay_schemas::diagnostics::{SelfCheckReport, SelfCheckRequest};
use medpay_workflows::diagnostics::SelfCheckWorkflow;
use std::time::Duration;
use temporalio_client::{Client, WorkflowGetResultOptions, WorkflowStartOptions};

/// Returns the workflow id (to find it in the Web UI) and the report.
pub async fn run_self_check(
    client: &Client,
    task_queue: &str,
    requested_by: &str,
) -> anyhow::Result<(String, SelfCheckReport)> {
    let workflow_id = format!("selfcheck-{}", uuid::Uuid::new_v4());
    let options = WorkflowStartOptions::new(task_queue.to_string(), workflow_id.clone())
        .execution_timeout(Duration::from_secs(60))
        .build();
    let handle = client
        .start_workflow(SelfCheckWorkflow::run, SelfCheckRequest { requested_by: requested_by.into() }, options)
        .await
        .with_context(|| format!("could not start {workflow_id}"))?;
    let report = tokio::time::timeout(Duration::from_secs(30), handle.get_result(WorkflowGetResultOptions::default()))
        .await
        .with_context(|| {
            format!("{workflow_id} got no result within 30 s: is a worker polling task queue {task_queue:?}?")
        })?
        .with_context(|| format!("{workflow_id} failed"))?;
    Ok((workflow_id, report))
}

pub fn print_report(workflow_id: &str, report: &SelfCheckReport) {
    println!("workflow {workflow_id}, worker version {}", report.worker_version);
    for c in &report.checks {
        println!("  [{}] {}: {}", if c.ok { " ok " } else { "FAIL" }, c.name, c.detail);
    }
}
