//! Pure data for medpay-interlink: money in fen, typed ids, a masking `Secret<T>`, status codes
//! and every counterparty's wire types. No I/O and no clocks, so workflows can depend on it.

pub mod bill;
pub mod channel;
pub mod diagnostics;
pub mod failure;
pub mod ids;
pub mod money;
pub mod patient;
pub mod payment;
pub mod payment_flow;
pub mod recon;
pub mod refund;
pub mod secret;
pub mod statement_layout;
pub mod status;
pub mod time;
pub mod wire;
pub mod workflow_ids;

pub use ids::*;
pub use money::{Money, MoneyError};
pub use secret::Secret;
