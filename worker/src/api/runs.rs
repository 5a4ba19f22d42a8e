//! Signals to payment workflows, sent to the run this API started when it remembers it.
//!
//! Why: a signal sent by workflow id alone makes the Temporal server look the current run up in
//! its database first (`GetCurrentExecution`); a payment gets two (the HIS's confirmation and the
//! bank's callback), the only database reads the server made for a payment and not for the
//! engine baseline (the server's metrics in `medpay-tools bench product`). With the run id the signal
//! goes straight to the run.
//!
//! Forgetting is harmless, so the memory is small and in-process: a payment this process did not
//! start (another instance's, one from before a restart) is signalled by id as before, and so is
//! one whose remembered run has ended without it (an operator reset the workflow onto a new run):
//! the server answers "not found" for the old run and the signal goes again by id.

use medpay_workflows::payment::PaymentWorkflow;
use std::collections::HashMap;
use std::sync::Mutex;
use temporalio_client::errors::WorkflowInteractionError;
use temporalio_client::{Client, NamespacedClient, WorkflowExecutionInfo, WorkflowHandle, WorkflowSignalOptions};
use temporalio_common::{HasWorkflowDefinition, SignalDefinition};

/// Payments remembered per generation; two generations are kept (at most twice this many
/// entries, ~150 bytes each), the older dropped whole when the newer fills up. A payment is
/// signalled within minutes of its start, long before ten thousand newer payments push it out.
const GENERATION: usize = 10_000;

/// Workflow id -> run id of the payments this process started.
#[derive(Default)]
pub struct RunIds {
    /// (newer, older).
    generations: Mutex<(HashMap<String, String>, HashMap<String, String>)>,
}

impl RunIds {
    pub fn remember(&self, workflow_id: &str, run_id: &str) {
        let Ok(mut g) = self.generations.lock() else { return };
        if g.0.len() >= GENERATION {
            g.1 = std::mem::take(&mut g.0);
        }
        g.0.insert(workflow_id.to_string(), run_id.to_string());
    }

    pub fn get(&self, workflow_id: &str) -> Option<String> {
        let g = self.generations.lock().ok()?;
        g.0.get(workflow_id).or_else(|| g.1.get(workflow_id)).cloned()
    }

    fn forget(&self, workflow_id: &str) {
        if let Ok(mut g) = self.generations.lock() {
            g.0.remove(workflow_id);
            g.1.remove(workflow_id);
        }
    }
}

fn handle(client: &Client, workflow_id: &str, run_id: Option<String>) -> WorkflowHandle<Client, PaymentWorkflow> {
    let info = WorkflowExecutionInfo::builder()
        .namespace(client.namespace())
        .workflow_id(workflow_id)
        .maybe_run_id(run_id)
        .build();
    WorkflowHandle::new(client.clone(), info)
}

/// Signals a payment's workflow: to its remembered run, or by id (see the module's comment).
/// `signal` names the signal (`|| PaymentWorkflow::confirm`): a second send, by id, needs it
/// again when the remembered run has ended (the first was not delivered).
pub async fn signal_payment<S>(
    client: &Client,
    runs: &RunIds,
    workflow_id: &str,
    signal: impl Fn() -> S,
    input: S::Input,
    options: WorkflowSignalOptions,
) -> Result<(), WorkflowInteractionError>
where
    S: SignalDefinition<Workflow = <PaymentWorkflow as HasWorkflowDefinition>::Run>,
    S::Input: Send + Clone,
{
    if let Some(run_id) = runs.get(workflow_id) {
        match handle(client, workflow_id, Some(run_id)).signal(signal(), input.clone(), options.clone()).await {
            Err(WorkflowInteractionError::NotFound(_)) => runs.forget(workflow_id),
            done => return done,
        }
    }
    handle(client, workflow_id, None).signal(signal(), input, options).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_two_generations_and_forgets_the_older_whole() {
        let runs = RunIds::default();
        runs.remember("pay-first", "run-1");
        assert_eq!(runs.get("pay-first").as_deref(), Some("run-1"));
        assert_eq!(runs.get("pay-unknown"), None);
        for i in 0..GENERATION {
            runs.remember(&format!("pay-{i}"), "run");
        }
        // The first generation filled up and became the older one: still found.
        assert_eq!(runs.get("pay-first").as_deref(), Some("run-1"));
        for i in 0..GENERATION {
            runs.remember(&format!("later-{i}"), "run");
        }
        assert_eq!(runs.get("pay-first"), None, "two generations later it is forgotten");
        assert_eq!(runs.get("later-0").as_deref(), Some("run"));
        runs.forget("later-0");
        assert_eq!(runs.get("later-0"), None);
    }
}
