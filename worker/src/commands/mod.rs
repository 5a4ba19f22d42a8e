//! CLI subcommands other than running the service.

pub mod config_check;
pub mod envelope;
pub mod recon;
pub mod replay;
pub mod rollout;
pub mod secrets;
