//! The wire envelopes of each counterparty: how a message is canonicalised, signed, encrypted
//! and verified. One module per envelope family.

pub mod bank_gateway;
pub mod canonical;
pub mod channel;
pub mod core;
pub mod diagnose;
pub mod his;
pub mod mid_platform;
pub mod time;
