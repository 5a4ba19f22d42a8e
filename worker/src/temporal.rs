//! Wiring to the Temporal server: the client, and the worker with every workflow and activity
//! registered.

use crate::config::TemporalConfig;
use anyhow::Context;
use medpay_activities::diagnostics::DiagnosticsActivities;
use medpay_workflows::diagnostics::SelfCheckWorkflow;
use temporalio_client::{Client, ClientOptions, Connection, ConnectionOptions};
use temporalio_sdk::{Runtime, Worker, WorkerOptions};
use url::Url;

pub async fn connect(cfg: &TemporalConfig) -> anyhow::Result<Client> {
    let url = Url::parse(&cfg.address).with_context(|| format!("temporal.address {:?} is not a URL", cfg.address))?;
    let options = ConnectionOptions::new(url)
        .identity(format!("medpay-{}@{}", env!("CARGO_PKG_VERSION"), std::process::id()))
        .connect_timeout(std::time::Duration::from_secs(5))
        .build();
    let connection = Connection::connect(options)
        .await
        .with_context(|| format!("cannot reach the Temporal server at {} (is it running? `scripts/devstack.sh up`)", cfg.address))?;
    Ok(Client::new(connection, ClientOptions::new(cfg.namespace.clone()).build())?)
}

/// Runs the worker until `shutdown` resolves, then drains in-flight tasks.
pub async fn run_worker(client: Client, cfg: &TemporalConfig, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let runtime = Runtime::from_current_tokio(Default::default())?;
    let options = WorkerOptions::new(cfg.task_queue.clone())
        .register_workflow::<SelfCheckWorkflow>()?
        .register_activities(DiagnosticsActivities)
        .build();
    let mut worker = Worker::new(&runtime, client, options)?;
    let handle = worker.shutdown_handle();
    let run = worker.run();
    tokio::pin!(run);
    tokio::select! {
        result = &mut run => result?,
        () = shutdown => {
            tracing::info!("shutting down the worker");
            handle();
            run.await?;
        }
    }
    Ok(())
}

/// A replayer with the same workflows the worker registers (keep the two lists together), for
/// checking a new build against recorded histories before it is deployed.
pub fn replayer() -> anyhow::Result<temporalio_sdk::workflow_replayer::WorkflowReplayer> {
    let options = temporalio_sdk::workflow_replayer::WorkflowReplayerOptions::new().register_workflow::<SelfCheckWorkflow>()?.build();
    Ok(temporalio_sdk::workflow_replayer::WorkflowReplayer::new(options)?)
}
