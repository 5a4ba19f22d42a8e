//! The channel's authCode is single-use: it is exchanged once for a payAuthNo (REQ 6.1 step 4).
//! When a later step of the same identification fails (the core's person query, the ledger
//! write), Temporal retries the activity, which must not exchange the authCode again: the
//! channel answers 40003 and the payment would fail for a passing fault (found by
//! `medpay-tools soak` with a share of core calls failing). Exchanges are kept for an
//! hour (a payAuthNo lives minutes): in this process's memory (the fast path), and, when the
//! worker has a sealer (its payload key), in the ledger sealed, so that a retry that lands on
//! another instance of the same hospital (scale-out), or on this one after a restart, finds
//! the exchange too. Not deleted when the identification completes: a completed
//! identification is recorded only with the workflow task that ran it, and a task that never
//! completes (a killed worker) runs it again. The payAuthNo is never in the ledger in clear;
//! the row is keyed by a digest.

use medpay_schemas::wire::channel::Authorisation;
use std::collections::BTreeMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// A payAuthNo lives minutes at the channel; nothing here is useful for longer.
const KEEP: Duration = Duration::from_secs(3600);

static ISSUED: LazyLock<Mutex<BTreeMap<String, (Instant, Authorisation)>>> =
    LazyLock::new(|| Mutex::new(BTreeMap::new()));

/// The key of one payment's exchange: a digest, so the authCode itself is not kept.
pub fn key(org_code: &str, med_org_ord: &str, auth_code: &str) -> String {
    hex::encode(medpay_crypto::sm3::sm3(format!("{org_code}\u{1f}{med_org_ord}\u{1f}{auth_code}").as_bytes()))
}

pub fn recall(key: &str) -> Option<Authorisation> {
    ISSUED.lock().ok()?.get(key).map(|(_, a)| a.clone())
}

pub fn remember(key: String, auth: &Authorisation) {
    if let Ok(mut m) = ISSUED.lock() {
        m.retain(|_, (at, _)| at.elapsed() < KEEP);
        m.insert(key, (Instant::now(), auth.clone()));
    }
}

pub fn forget(key: &str) {
    if let Ok(mut m) = ISSUED.lock() {
        m.remove(key);
    }
}

/// Seals and opens an exchange for the shared store (the worker's payload key, SM4-GCM).
pub trait ExchangeSealer: Send + Sync {
    fn seal(&self, plain: &[u8]) -> Result<Vec<u8>, String>;
    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, String>;
}

/// This process's memory first, then the ledger (sealed), for one payment's exchange.
pub async fn recall_shared(
    ledger: &crate::ledger::Ledger,
    sealer: Option<&dyn ExchangeSealer>,
    key: &str,
) -> Option<Authorisation> {
    if let Some(a) = recall(key) {
        return Some(a);
    }
    let sealer = sealer?;
    let sealed = match ledger.get_exchange(key).await {
        Ok(s) => s?,
        Err(e) => {
            tracing::warn!("cannot read the shared authCode exchanges: {e}");
            return None;
        }
    };
    let plain = sealer.open(&sealed).map_err(|e| tracing::warn!("cannot open a shared authCode exchange: {e}")).ok()?;
    serde_json::from_slice(&plain).ok()
}

/// Keeps an exchange here and, sealed, in the ledger. A failure to share is not fatal: this
/// process still has it (the retry most likely comes back here).
pub async fn remember_shared(
    ledger: &crate::ledger::Ledger,
    sealer: Option<&dyn ExchangeSealer>,
    key: String,
    auth: &Authorisation,
    now_ms: i64,
) {
    remember(key.clone(), auth);
    let Some(sealer) = sealer else { return };
    let sealed = match serde_json::to_vec(auth).map_err(|e| e.to_string()).and_then(|plain| sealer.seal(&plain)) {
        Ok(s) => s,
        Err(e) => return tracing::warn!("cannot seal an authCode exchange: {e}"),
    };
    if let Err(e) = ledger.put_exchange(&key, &sealed, now_ms).await {
        tracing::warn!("cannot share an authCode exchange: {e}");
    }
}

/// Deletes an exchange everywhere (and the ledger's expired ones).
pub async fn forget_shared(ledger: &crate::ledger::Ledger, key: &str) {
    forget(key);
    if let Err(e) = ledger.delete_exchange(key).await {
        tracing::warn!("cannot delete a shared authCode exchange: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exchange_is_recalled_for_its_payment_only_until_forgotten() {
        let auth = Authorisation {
            channel: medpay_schemas::wire::channel::ChannelKind::Wechat,
            pay_auth_no: medpay_schemas::Secret::new("AUTH1".into()),
            for_relative: false,
            location: None,
        };
        let k = key("H1", "ORD1", "CODE1");
        assert!(recall(&k).is_none());
        remember(k.clone(), &auth);
        assert_eq!(recall(&k), Some(auth));
        assert!(recall(&key("H1", "ORD2", "CODE1")).is_none(), "another payment with the same code gets nothing");
        forget(&k);
        assert!(recall(&k).is_none());
    }
}
