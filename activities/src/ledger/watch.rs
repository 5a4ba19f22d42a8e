//! Process-local news of payment state changes, per payment: an HIS long poll waits on its own
//! payment's row only. (One broadcast for every change woke every waiting poll on every change:
//! with n payments in flight, n wake-ups per change.) An API in another process hears nothing
//! here and re-reads the row every second instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Past this many watched rows, rows nobody waits on any more are dropped at the next subscribe.
const PRUNE_ABOVE: usize = 1024;

#[derive(Clone, Default)]
pub struct RowWatchers(Arc<Mutex<HashMap<i64, watch::Sender<()>>>>);

impl RowWatchers {
    /// A receiver that sees every change of row `id` after this call (read the row after it).
    pub fn subscribe(&self, id: i64) -> watch::Receiver<()> {
        let Ok(mut rows) = self.0.lock() else { return watch::channel(()).1 };
        if rows.len() > PRUNE_ABOVE {
            rows.retain(|_, tx| tx.receiver_count() > 0);
        }
        rows.entry(id).or_insert_with(|| watch::channel(()).0).subscribe()
    }

    /// Row `id` changed: wake whoever waits on it.
    pub fn changed(&self, id: i64) {
        let Ok(mut rows) = self.0.lock() else { return };
        if let Some(tx) = rows.get(&id) {
            if tx.receiver_count() == 0 {
                rows.remove(&id);
            } else {
                tx.send_replace(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_waiter_hears_its_row_only_and_no_change_is_missed() {
        let w = RowWatchers::default();
        let mut one = w.subscribe(1);
        let mut two = w.subscribe(2);
        // A change before the wait is not missed.
        w.changed(1);
        tokio::time::timeout(Duration::from_secs(1), one.changed()).await.unwrap().unwrap();
        // Another row's change does not wake it.
        w.changed(2);
        assert!(tokio::time::timeout(Duration::from_millis(50), one.changed()).await.is_err());
        tokio::time::timeout(Duration::from_secs(1), two.changed()).await.unwrap().unwrap();
        // Rows nobody waits on are forgotten.
        drop(one);
        w.changed(1);
        assert!(!w.0.lock().unwrap().contains_key(&1));
    }
}
