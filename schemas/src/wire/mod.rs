//! Wire types of every counterparty, one module per party (docs/PROTOCOLS.md). Field names
//! keep the party's spelling; doc comments give the English domain name.

pub mod bank;
mod bank_op;
pub mod channel;
pub mod codes;
pub mod core;
pub mod mid_platform;
pub mod statement;
