//! The `medpay` binary's library: configuration, Temporal wiring, the HTTP API and the CLI
//! commands. `main.rs` only parses arguments and dispatches here.

pub mod acceptance;
pub mod api;
pub mod certs;
pub mod cli;
pub mod codec;
pub mod commands;
pub mod config;
pub mod onboarding;
pub mod recon;
pub mod redact;
pub mod selfcheck;
mod service;
pub mod temporal;
mod wiring;

pub use service::{run_service, run_service_with, shutdown_signal};
pub use wiring::{load_parties, redact_url};

/// The runtime for `medpay run` with its configured thread count (`runtime.threads`); one
/// thread per core for everything else.
pub fn tokio_runtime(threads: Option<usize>) -> std::io::Result<tokio::runtime::Runtime> {
    match threads {
        Some(1) => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        Some(n) => tokio::runtime::Builder::new_multi_thread().worker_threads(n).enable_all().build(),
        None => tokio::runtime::Builder::new_multi_thread().enable_all().build(),
    }
}
