//! CLI subcommands other than running the service.

pub mod certs;
pub mod config_check;
pub mod doctor;
pub mod envelope;
pub mod recon;
pub mod replay;
pub mod rollout;
