//! Process-local news of payment state changes, per payment: an HIS long poll waits on its own
//! payment only. (One broadcast for every change woke every waiting poll on every change: with
//! n payments in flight, n wake-ups per change.) The news carries the changed row, so a woken
//! poll answers without reading the ledger again (each read is a hand-off to SQLite's thread;
//! a payment's long polls were woken ~6 times). An API in another process hears nothing here
//! and re-reads the row every second instead.

use super::entities::payment;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Past this many watched payments, those nobody waits on any more are dropped at the next
/// subscribe.
const PRUNE_ABOVE: usize = 1024;

/// The latest row published for a payment (`None` until its first change after subscribing).
type Latest = Option<Arc<payment::Model>>;
pub type RowNews = watch::Receiver<Latest>;

/// (org code, HIS order no.)
type Key = (String, String);

#[derive(Clone, Default)]
pub struct RowWatchers(Arc<Mutex<HashMap<Key, watch::Sender<Latest>>>>);

impl RowWatchers {
    /// A receiver that sees every change of the payment after this call (read the row after
    /// it, so a change in between is not missed).
    pub fn subscribe(&self, org_code: &str, med_org_ord: &str) -> RowNews {
        let Ok(mut rows) = self.0.lock() else { return watch::channel(None).1 };
        if rows.len() > PRUNE_ABOVE {
            rows.retain(|_, tx| tx.receiver_count() > 0);
        }
        rows.entry((org_code.to_string(), med_org_ord.to_string()))
            .or_insert_with(|| watch::channel(None).0)
            .subscribe()
    }

    /// The payment's row changed to `row`: wake whoever waits on it. Writers racing each other
    /// may publish out of order; the newest version wins.
    pub fn changed(&self, row: &payment::Model) {
        let Ok(mut rows) = self.0.lock() else { return };
        let key = (row.org_code.to_string(), row.med_org_ord.to_string());
        let Some(tx) = rows.get(&key) else { return };
        if tx.receiver_count() == 0 {
            rows.remove(&key);
            return;
        }
        tx.send_if_modified(|latest| {
            let newer = latest.as_ref().is_none_or(|l| l.version < row.version);
            if newer {
                *latest = Some(Arc::new(row.clone()));
            }
            newer
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn row(ord: &str, state: &str, version: i64) -> payment::Model {
        payment::Model {
            id: 1,
            org_code: "H1".parse().unwrap(),
            med_org_ord: ord.parse().unwrap(),
            workflow_id: format!("payment-H1-{ord}"),
            request_fingerprint: String::new(),
            state: medpay_schemas::payment::PaymentState::parse(state).unwrap(),
            total_fen: 100,
            fund_fen: None,
            psn_acct_fen: None,
            own_pay_fen: None,
            pay_ord_id: None,
            ord_stas: None,
            out_trade_no: None,
            bank_order_id: None,
            mix_trade_no: None,
            sub_mchid: None,
            mix_pay_status: None,
            self_pay_status: None,
            med_ins_pay_status: None,
            failure_reason: None,
            created_at_ms: 0,
            updated_at_ms: 0,
            paid_at_ms: None,
            version,
            refunded_fund_fen: 0,
            refunded_psn_acct_fen: 0,
            refunded_cash_fen: 0,
        }
    }

    #[tokio::test]
    async fn a_waiter_hears_its_payment_only_with_the_newest_row_and_no_change_is_missed() {
        let w = RowWatchers::default();
        let mut one = w.subscribe("H1", "A");
        let mut two = w.subscribe("H1", "B");
        // A change before the wait is not missed, and it carries the row.
        w.changed(&row("A", "Authorised", 1));
        tokio::time::timeout(Duration::from_secs(1), one.changed()).await.unwrap().unwrap();
        assert_eq!(
            one.borrow_and_update().as_ref().map(|r| r.state),
            Some(medpay_schemas::payment::PaymentState::Authorised)
        );
        // Another payment's change does not wake it.
        w.changed(&row("B", "Uploaded", 2));
        assert!(tokio::time::timeout(Duration::from_millis(50), one.changed()).await.is_err());
        tokio::time::timeout(Duration::from_secs(1), two.changed()).await.unwrap().unwrap();
        // An older version published late does not replace the newer one.
        w.changed(&row("A", "PreSettled", 3));
        w.changed(&row("A", "Uploaded", 2));
        assert_eq!(one.borrow_and_update().as_ref().map(|r| r.version), Some(3));
        // Payments nobody waits on are forgotten.
        drop(one);
        w.changed(&row("A", "Ordered", 4));
        assert!(!w.0.lock().unwrap().contains_key(&("H1".to_string(), "A".to_string())));
    }
}
