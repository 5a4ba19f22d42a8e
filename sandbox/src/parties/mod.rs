//! One module per counterparty, each with the wire behaviour described in COUNTERPARTIES.md.

pub mod bank;
pub mod channel;
pub mod core;
pub mod mid_platform;
