//! All I/O of medpay-interlink, as Temporal activities: one module per counterparty (added by
//! the payment, refund and reconciliation work), the ledger, statement files, and diagnostics.
//! Workflows call these and nothing else touches the outside world.

pub mod diagnostics;
