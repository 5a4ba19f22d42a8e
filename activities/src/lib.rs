//! All I/O of medpay-interlink: one adapter module per counterparty (channel, core,
//! mid-platform, bank) over HTTPS with its envelope, and the Temporal activities built on them.
//! Workflows call activities and nothing else touches the outside world.

pub mod bank;
pub mod channel;
pub mod core;
pub mod diagnostics;
pub mod endpoint;
pub mod exchange_log;
pub mod failure;
pub mod his;
pub mod http;
pub mod ledger;
pub mod metrics;
pub mod mid_platform;
pub mod parties;
pub mod pay_auth_cache;
pub mod payment;
pub mod recon;
pub mod refund;
pub mod rollout;
pub mod trace;
