//! Wiring to the Temporal server: the client, and the worker with every workflow and activity
//! registered.

use crate::codec::Sm4GcmCodec;
use crate::config::TemporalConfig;
use anyhow::Context;
use medpay_activities::diagnostics::DiagnosticsActivities;
use medpay_activities::payment::{PaymentActivities, PaymentRevocation};
use medpay_activities::recon::ReconActivities;
use medpay_activities::refund::RefundActivities;
use medpay_workflows::diagnostics::SelfCheckWorkflow;
use medpay_workflows::payment::PaymentWorkflow;
use medpay_workflows::recon::ReconWorkflow;
use medpay_workflows::refund::RefundWorkflow;
use std::sync::Arc;
use temporalio_client::{Client, ClientOptions, Connection, ConnectionOptions};
use temporalio_common::data_converters::{DataConverter, DefaultFailureConverter, PayloadConverter};
use temporalio_sdk::{Runtime, Worker, WorkerOptions};
use url::Url;

pub async fn connect(cfg: &TemporalConfig) -> anyhow::Result<Client> {
    // Before anything else: no key, no workflow.
    let converter = data_converter(cfg)?;
    let url = Url::parse(&cfg.address).with_context(|| format!("temporal.address {:?} is not a URL", cfg.address))?;
    let options = ConnectionOptions::new(url)
        .identity(format!("medpay-{}@{}", env!("CARGO_PKG_VERSION"), std::process::id()))
        .connect_timeout(std::time::Duration::from_secs(5))
        .grpc_compression(match cfg.grpc_compression {
            crate::config::GrpcCompressionSetting::None => temporalio_client::GrpcCompression::None,
            crate::config::GrpcCompressionSetting::Gzip => temporalio_client::GrpcCompression::Gzip,
        })
        .build();
    let connection = Connection::connect(options).await.with_context(|| {
        format!("cannot reach the Temporal server at {} (is it running? `scripts/devstack.sh up`)", cfg.address)
    })?;
    let options = ClientOptions::new(cfg.namespace.clone()).data_converter(converter).build();
    Ok(Client::new(connection, options)?)
}

/// JSON payloads, SM4-GCM encrypted; failure messages and stack traces go into encoded
/// attributes so they are encrypted too.
pub fn data_converter(cfg: &TemporalConfig) -> anyhow::Result<DataConverter> {
    let file = cfg.payload_key_file.as_ref().context(
        "temporal.payload_key_file (MEDPAY_PAYLOAD_KEY_FILE) is not set: workflow history would hold personal data in clear. \
         Create one with `medpay keygen --out <file>`",
    )?;
    let codec = Sm4GcmCodec::from_key_file(file)?;
    Ok(DataConverter::new(PayloadConverter::default(), DefaultFailureConverter::new(true), codec))
}

/// Workflows and activities a build adds to the product's (`medpay-tools run` adds the engine
/// baseline it measures the product against); the product binary adds none.
pub type ExtraRegistrations = fn(&mut temporalio_sdk::WorkerOptions) -> anyhow::Result<()>;

/// The product binary's: nothing beyond the product's own workflows.
pub fn no_extra_registrations(_: &mut temporalio_sdk::WorkerOptions) -> anyhow::Result<()> {
    Ok(())
}

/// Runs the worker until `shutdown` resolves, then drains in-flight tasks. Payment and refund
/// activities are registered when the parties are configured.
pub async fn run_worker(
    client: Client,
    cfg: &TemporalConfig,
    payments: Option<Arc<PaymentActivities>>,
    recon: Arc<ReconActivities>,
    extra: ExtraRegistrations,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let runtime = Runtime::from_current_tokio(runtime_options(cfg)?)?;
    let mut builder = WorkerOptions::new(cfg.task_queue.clone())
        .max_cached_workflows(cfg.max_cached_workflows)
        .register_workflow::<SelfCheckWorkflow>()?
        .register_workflow::<PaymentWorkflow>()?
        .register_workflow::<RefundWorkflow>()?
        .register_workflow::<ReconWorkflow>()?
        .register_workflow::<medpay_workflows::his_notice::HisNoticeWorkflow>()?
        .register_activities(DiagnosticsActivities)
        .register_activities((*recon).clone());
    if let Some(p) = payments {
        let refunds = RefundActivities {
            parties: p.parties.clone(),
            ledger: p.ledger.clone(),
            his: p.his.clone(),
            sealer: p.sealer.clone(),
        };
        builder = builder
            .register_activities(PaymentRevocation(p.clone()))
            .register_activities(medpay_activities::payment::PaymentNotification(p.clone()))
            .register_activities(medpay_activities::payment::HisEventNotification(p.clone()))
            .register_activities((*p).clone())
            .register_activities(refunds);
    }
    let mut options = builder.build();
    extra(&mut options)?;
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

/// The SDK runtime's options: with `temporal.sdk_metrics_listen`, the SDK's own worker metrics
/// (task slots, poll latency and pollers, sticky cache, workflow and activity task latencies;
/// names prefixed `temporal_`) are served in the Prometheus format on that address, beside the
/// API's `/metrics`.
fn runtime_options(cfg: &TemporalConfig) -> anyhow::Result<temporalio_sdk::runtime::RuntimeOptions> {
    use temporalio_common::telemetry::{PrometheusExporterOptions, TelemetryOptions, start_prometheus_metric_exporter};
    let Some(listen) = &cfg.sdk_metrics_listen else { return Ok(temporalio_sdk::runtime::RuntimeOptions::default()) };
    let socket_addr = listen
        .parse()
        .with_context(|| format!("temporal.sdk_metrics_listen {listen:?} is not an address (host:port)"))?;
    let server = start_prometheus_metric_exporter(
        PrometheusExporterOptions::builder()
            .socket_addr(socket_addr)
            .counters_total_suffix(true)
            .use_seconds_for_durations(true)
            .unit_suffix(true)
            .build(),
    )
    .with_context(|| format!("cannot serve the SDK's metrics on {listen}"))?;
    tracing::info!(address = %server.bound_addr, "the Temporal SDK's worker metrics are served at /metrics");
    let telemetry = TelemetryOptions::builder()
        .metrics(server.meter as std::sync::Arc<dyn temporalio_common::telemetry::metrics::CoreMeter>)
        .build();
    temporalio_sdk::runtime::RuntimeOptions::builder().telemetry_options(telemetry).build().map_err(anyhow::Error::msg)
}

/// A replayer with the same workflows the worker registers (keep the two lists together), for
/// checking a new build against recorded histories before it is deployed.
pub fn replayer(cfg: &TemporalConfig) -> anyhow::Result<temporalio_sdk::workflow_replayer::WorkflowReplayer> {
    let builder = temporalio_sdk::workflow_replayer::WorkflowReplayerOptions::new()
        .register_workflow::<SelfCheckWorkflow>()?
        .register_workflow::<PaymentWorkflow>()?
        .register_workflow::<RefundWorkflow>()?
        .register_workflow::<ReconWorkflow>()?;
    // Without a key file only unencrypted histories replay.
    let options = match cfg.payload_key_file {
        Some(_) => builder.data_converter(data_converter(cfg)?).build(),
        None => builder.build(),
    };
    Ok(temporalio_sdk::workflow_replayer::WorkflowReplayer::new(options)?)
}

/// The custom search attributes the workflows upsert. Registered at start-up when missing, so
/// a deployment on any Temporal server (dev server, compose, production) finds payments by HIS
/// order no. without a manual step; a workflow upserting an unregistered one would fail.
pub const SEARCH_ATTRIBUTES: [&str; 4] =
    ["MedpayOrgCode", "MedpayMedOrgOrd", "MedpayPaymentState", "MedpayRefundState"];

pub async fn ensure_search_attributes(client: &Client, namespace: &str) -> anyhow::Result<()> {
    use temporalio_common::protos::temporal::api::enums::v1::IndexedValueType;
    use temporalio_common::protos::temporal::api::operatorservice::v1::{
        AddSearchAttributesRequest, ListSearchAttributesRequest,
    };
    let mut ops = client.connection().operator_service();
    let listed = ops
        .list_search_attributes(tonic::Request::new(ListSearchAttributesRequest { namespace: namespace.to_string() }))
        .await
        .context("cannot list the namespace's search attributes")?
        .into_inner();
    let missing: std::collections::HashMap<String, i32> = SEARCH_ATTRIBUTES
        .iter()
        .filter(|n| !listed.custom_attributes.contains_key(**n))
        .map(|n| (n.to_string(), IndexedValueType::Keyword as i32))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = missing.keys().cloned().collect();
    ops.add_search_attributes(tonic::Request::new(AddSearchAttributesRequest { search_attributes: missing, namespace: namespace.to_string() }))
        .await
        .with_context(|| format!("cannot register the search attributes {names:?} (register them with `temporal operator search-attribute create`)"))?;
    tracing::info!(?names, "registered custom search attributes");
    Ok(())
}
