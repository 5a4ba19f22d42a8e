//! The channel's authCode is single-use: it is exchanged once for a payAuthNo (REQ 6.1 step 4).
//! When a later step of the same identification fails (the core's person query, the ledger
//! write), Temporal retries the activity, which must not exchange the authCode again: the
//! channel answers 40003 and the payment would fail for a passing fault (found by
//! `medpay soak`: 3 of 40 payments with 5% of core calls failing). Exchanges are kept here, per
//! process, until their identification completes. A worker killed in between still loses its
//! own: that payment fails with the channel's refusal and the HIS starts again with a fresh
//! authCode (a known limit, in the README).

use medpay_schemas::wire::channel::Authorisation;
use std::collections::BTreeMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// A payAuthNo lives minutes at the channel; nothing here is useful for longer.
const KEEP: Duration = Duration::from_secs(3600);

static ISSUED: LazyLock<Mutex<BTreeMap<String, (Instant, Authorisation)>>> = LazyLock::new(|| Mutex::new(BTreeMap::new()));

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exchange_is_recalled_for_its_payment_only_until_forgotten() {
        let auth = Authorisation { channel: medpay_schemas::wire::channel::ChannelKind::Wechat, pay_auth_no: medpay_schemas::Secret::new("AUTH1".into()), for_relative: false, location: None };
        let k = key("H1", "ORD1", "CODE1");
        assert!(recall(&k).is_none());
        remember(k.clone(), &auth);
        assert_eq!(recall(&k), Some(auth));
        assert!(recall(&key("H1", "ORD2", "CODE1")).is_none(), "another payment with the same code gets nothing");
        forget(&k);
        assert!(recall(&k).is_none());
    }
}
