//! `medpay run`: the worker and the HTTP API in one process (either may be left out), started
//! from what `wiring.rs` builds, and stopped together: on a signal, or when either stops.

use crate::config::Config;
use crate::{api, recon, temporal, wiring};
use anyhow::Context;
use tokio::sync::watch;

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Resolves once `stop` says so.
async fn wait_stop(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// `medpay run`: the worker and the API in one process, stopping both on a signal.
pub async fn run_service(config: Config, api: bool, worker: bool) -> anyhow::Result<()> {
    run_service_with(config, api, worker, temporal::no_extra_registrations).await
}

/// `run_service` with more workflows and activities on the worker (`medpay-tools run`).
pub async fn run_service_with(
    config: Config,
    api: bool,
    worker: bool,
    extra: temporal::ExtraRegistrations,
) -> anyhow::Result<()> {
    wiring::warn_unsealed(&config);
    wiring::start_traces(&config.telemetry)?;
    let client = temporal::connect(&config.temporal).await?;
    temporal::ensure_search_attributes(&client, &config.temporal.namespace).await?;
    let ledger = wiring::open_ledger(&config).await?;
    let parties = wiring::load_parties(&config.parties)?;
    let (payments, recon) = wiring::activities(&config, &ledger, &parties)?;
    if config.recon.schedules && worker {
        let orgs: Vec<medpay_schemas::OrgCode> =
            parties.as_ref().map(|p| p.hospitals.keys().cloned().collect()).unwrap_or_default();
        let created = recon::ensure_schedules(&client, &config.temporal.task_queue, &config.recon, &orgs).await?;
        if !created.is_empty() {
            tracing::info!(?created, "created reconciliation schedules");
        }
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let api_task = match api {
        true => {
            Some(serve_api(&config, wiring::api_state(&config, &client, &ledger, &parties)?, stop_rx.clone()).await?)
        }
        false => None,
    };
    // The SDK's worker future is not Send, so it runs on this task rather than a spawned one.
    let worker_run = async {
        if !worker {
            wait_stop(stop_rx.clone()).await;
            return Ok(());
        }
        let stop = wait_stop(stop_rx.clone());
        temporal::run_worker(client.clone(), &config.temporal, payments, recon, extra, stop).await.context("worker")
    };
    tokio::pin!(worker_run);
    announce(&config, api, worker);
    let api_done = async {
        match api_task {
            Some(t) => t.await.context("http api task")?,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(api_done);
    tokio::select! {
        () = shutdown_signal() => {
            let _ = stop_tx.send(true);
            let (w, a) = tokio::join!(&mut worker_run, async { if api { api_done.await } else { Ok(()) } });
            w?;
            a?;
            Ok(())
        }
        res = &mut worker_run => {
            let _ = stop_tx.send(true);
            res?;
            anyhow::bail!("the worker stopped unexpectedly")
        }
        res = &mut api_done => {
            let _ = stop_tx.send(true);
            res?;
            anyhow::bail!("the HTTP API stopped unexpectedly")
        }
    }
}

/// Binds `api.listen` and serves the API (HTTPS when the API has its certificate) until `stop`.
async fn serve_api(
    config: &Config,
    state: api::AppState,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<anyhow::Result<()>>> {
    let listener = tokio::net::TcpListener::bind(&config.api.listen)
        .await
        .with_context(|| format!("cannot listen on {} (api.listen)", config.api.listen))?;
    let service = api::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    Ok(match wiring::api_tls(&config.api).await? {
        None => tokio::spawn(async move {
            axum::serve(listener, service).with_graceful_shutdown(wait_stop(stop)).await.context("http api")
        }),
        Some(tls) => {
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                wait_stop(stop).await;
                stopper.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
            });
            let server = axum_server::from_tcp_rustls(listener.into_std()?, tls)?.handle(handle);
            tokio::spawn(async move { server.serve(service).await.context("https api") })
        }
    })
}

/// What runs where: the quick start and the tests wait for these lines.
fn announce(config: &Config, api: bool, worker: bool) {
    if worker {
        tracing::info!(task_queue = %config.temporal.task_queue, "worker started");
    }
    if api {
        println!(
            "medpay API      : {}://{}",
            if config.api.tls_cert_file.is_some() { "https" } else { "http" },
            config.api.listen
        );
    }
    println!("Temporal UI     : {}", config.temporal.ui_url);
    println!("ledger          : {}", wiring::redact_url(&config.ledger.url));
    println!(
        "Temporal server : {} (namespace {}, task queue {})",
        config.temporal.address, config.temporal.namespace, config.temporal.task_queue
    );
}
