//! The ledger's live picture for `/metrics`: how many payments and refunds rest in each state
//! not yet ended, per hospital, and since when the longest waiting one has not changed.

use super::{Ledger, LedgerError};
use medpay_schemas::payment::PaymentState;
use sea_orm::{ConnectionTrait, Statement};

/// How many payments (or refunds) of a hospital rest in a live state, and since when the
/// longest waiting one has not changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveCount {
    pub kind: &'static str,
    pub org_code: medpay_schemas::OrgCode,
    pub state: String,
    pub count: i64,
    pub oldest_updated_ms: i64,
}

impl Ledger {
    /// Payments and refunds not yet ended, per hospital and state, with when the longest
    /// waiting one last changed: the `/metrics` gauges an operator pages on (a payment
    /// `PendingReconciliation` for long, a refund in `NeedsAttention`). Two grouped reads on the
    /// state indexes; ended rows are not read.
    pub async fn live_counts(&self) -> Result<Vec<LiveCount>, LedgerError> {
        let payment_states: Vec<String> =
            PaymentState::ALL.into_iter().filter(|s| !s.is_terminal()).map(|s| format!("'{}'", s.as_str())).collect();
        let refund_states: Vec<String> = medpay_schemas::refund::RefundState::ALL
            .into_iter()
            .filter(|s| !s.is_terminal())
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        let mut out = vec![];
        for (table, states) in [("payments", payment_states), ("refunds", refund_states)] {
            let sql = format!(
                "SELECT org_code, state, COUNT(*) AS n, MIN(updated_at_ms) AS oldest FROM {table} WHERE state IN ({}) GROUP BY org_code, state",
                states.join(",")
            );
            for row in self.db.query_all_raw(Statement::from_string(self.db.get_database_backend(), sql)).await? {
                out.push(LiveCount {
                    kind: if table == "payments" { "payment" } else { "refund" },
                    org_code: row.try_get("", "org_code")?,
                    state: row.try_get("", "state")?,
                    count: row.try_get("", "n")?,
                    oldest_updated_ms: row.try_get("", "oldest")?,
                });
            }
        }
        Ok(out)
    }
}
