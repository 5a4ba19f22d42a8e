//! CLI subcommands other than running the service.

pub mod bench;
pub mod bench_product;
pub mod bench_report;
pub mod certs;
pub mod config_check;
pub mod doctor;
pub mod drill;
pub mod envelope;
pub mod procs;
pub mod recon;
pub mod replay;
pub mod rollout;
pub mod sandbox;
pub mod soak;
