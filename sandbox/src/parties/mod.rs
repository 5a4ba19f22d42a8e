//! One module per counterparty, each with the wire behaviour described in docs/PROTOCOLS.md.

pub mod bank;
pub mod channel;
pub mod core;
pub mod mid_platform;
mod mid_platform_refund;
