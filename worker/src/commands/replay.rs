//! `medpay history export` and `medpay replay`: record a workflow's history from the server and
//! replay recorded histories against this build's workflow code. A failing replay means the
//! build would break workflows already running in production (nondeterminism): version the
//! change with `ctx.patched(..)` instead.

use anyhow::Context;
use std::path::{Path, PathBuf};
use temporalio_client::{Client, WorkflowFetchHistoryOptions, WorkflowHistory};

pub async fn export(client: &Client, workflow_id: &str, out: &Path) -> anyhow::Result<()> {
    // The type parameter only shapes typed calls; history fetching is type-independent.
    let handle = client.get_workflow_handle::<medpay_workflows::diagnostics::SelfCheckWorkflow>(workflow_id);
    let json = handle
        .fetch_history(WorkflowFetchHistoryOptions::default())
        .to_json()
        .await
        .with_context(|| format!("cannot fetch the history of {workflow_id}"))?;
    std::fs::write(out, json).with_context(|| format!("cannot write {}", out.display()))?;
    println!("wrote the history of {workflow_id} to {}", out.display());
    Ok(())
}

/// Replays every file; returns an error naming the files that failed.
pub async fn replay(cfg: &crate::config::TemporalConfig, files: &[PathBuf]) -> anyhow::Result<()> {
    let replayer = crate::temporal::replayer(cfg)?;
    let mut failed = vec![];
    for f in files {
        let bytes = std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?;
        let history = WorkflowHistory::from_json(&bytes)
            .with_context(|| format!("{} is not an SDK history JSON", f.display()))?;
        match replayer.replay_workflow(history).await {
            Ok(()) => println!("[ ok ] {}", f.display()),
            Err(e) => {
                println!("[FAIL] {}: {e}", f.display());
                failed.push(f.display().to_string());
            }
        }
    }
    anyhow::ensure!(
        failed.is_empty(),
        "{} of {} histories do not replay: {}",
        failed.len(),
        files.len(),
        failed.join(", ")
    );
    Ok(())
}
