//! The bank's payment-result callback to the hospital (docs/PROTOCOLS.md §4.1): a signed form
//! POST over HTTPS to the order's `callback_url`, sent on success, repeated until the hospital
//! answers with the documented signed acknowledgement (or the retry schedule runs out).
//! Faults: delayed, lost, duplicated, or sent with a broken signature.

use crate::app::App;
use crate::state::CallbackAttempt;
use medpay_crypto::text::encode_base64;
use std::time::Duration;

/// The callback's API path, part of the signed string (the hospital verifies over it).
pub const CALLBACK_API: &str = "/api/mimp/mixpaynotify/V1";

pub fn spawn(app: App, mix_trade_no: String) {
    tokio::spawn(async move { deliver(app, mix_trade_no).await });
}

async fn deliver(app: App, mix_trade_no: String) {
    let (order, faults) = {
        let st = app.state();
        let Some(m) = st.mixed_orders.get(&mix_trade_no) else { return };
        (m.clone(), app.faults().for_order(&[&m.serial_no, &m.mix_trade_no]).callback.clone())
    };
    if faults.lost {
        tracing::info!(%mix_trade_no, "callback lost (fault)");
        return;
    }
    if faults.delay_secs > 0 {
        tokio::time::sleep(Duration::from_secs(faults.delay_secs)).await;
    }
    let Some(keys) = app.hospital_by_org(&order.org_code) else { return };
    let mut delays = app.config.callback_retry.clone().into_iter();
    loop {
        if attempt(&app, keys, &order.mix_trade_no, &order.callback_url, faults.bad_signature).await {
            if faults.duplicate {
                // The same notice once more, as banks do.
                attempt(&app, keys, &order.mix_trade_no, &order.callback_url, faults.bad_signature).await;
            }
            return;
        }
        match delays.next() {
            Some(d) => tokio::time::sleep(d).await,
            None => {
                tracing::warn!(%mix_trade_no, "callback never acknowledged; giving up");
                return;
            }
        }
    }
}

/// The bank's signed callback form for an order as it stands now, with a fresh msg_id (a
/// broken signature when `bad_signature`). `None` for an unknown order or a signing failure.
pub fn signed_callback(
    app: &App,
    keys: &crate::app::HospitalKeys,
    mix_trade_no: &str,
    bad_signature: bool,
) -> Option<(String, std::collections::BTreeMap<String, String>)> {
    signed_callback_naming(app, keys, mix_trade_no, bad_signature, None, &serde_json::Map::new())
}

/// The same, optionally naming another HIS order no. (`serial_no`) than the order's own: a bank
/// that mixes up its orders, correctly signed (for the hospital's order-identity check).
pub fn signed_callback_naming(
    app: &App,
    keys: &crate::app::HospitalKeys,
    mix_trade_no: &str,
    bad_signature: bool,
    serial_no: Option<&str>,
    overrides: &serde_json::Map<String, serde_json::Value>,
) -> Option<(String, std::collections::BTreeMap<String, String>)> {
    let now = crate::clock::now_ms();
    let (biz, msg_id) = {
        let mut st = app.state();
        let msg_id = st.next_id("CB", now);
        let m = st.mixed_orders.get(mix_trade_no)?;
        let mut biz = crate::parties::bank::state_json(&st, m);
        biz["event_type"] = serde_json::json!("MEDICAL_INSURANCE.SUCCESS");
        if let Some(other) = serial_no {
            biz["serial_no"] = serde_json::json!(other);
        }
        for (k, v) in overrides {
            biz[k.as_str()] = v.clone();
        }
        (biz, msg_id)
    };
    let extra = [("from", "icbc-api"), ("api", CALLBACK_API)];
    let sealed = match keys.bank.seal_form(CALLBACK_API, &msg_id, now, &biz, &keys.bank_key, &extra) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot sign callback: {e}");
            return None;
        }
    };
    let mut params = sealed.params;
    if bad_signature {
        // A well-formed signature over other content: verifies as a signature, not for this body.
        if let Ok(forged) = keys.bank_key.sign(&keys.bank.profile.sign, b"not this callback") {
            params.insert("sign".into(), encode_base64(&forged));
        }
    }
    Some((msg_id, params))
}

async fn attempt(
    app: &App,
    keys: &crate::app::HospitalKeys,
    mix_trade_no: &str,
    url: &str,
    bad_signature: bool,
) -> bool {
    let Some((msg_id, params)) = signed_callback(app, keys, mix_trade_no, bad_signature) else { return true };
    post(app, keys, mix_trade_no, url, msg_id, params, bad_signature).await
}

/// Posts a signed notice form and records the attempt; whether the hospital acknowledged it.
async fn post(
    app: &App,
    keys: &crate::app::HospitalKeys,
    order: &str,
    url: &str,
    msg_id: String,
    params: std::collections::BTreeMap<String, String>,
    bad_signature: bool,
) -> bool {
    let now = crate::clock::now_ms();
    let result = app.callback_client.post(url).form(&params).timeout(Duration::from_secs(5)).send().await;
    let (http_status, acknowledged, detail) = match result {
        Err(e) => (0, false, format!("{e}")),
        Ok(resp) => {
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            let ok = (200..300).contains(&status)
                && keys.bank.open_callback_ack(&text, &msg_id, &keys.hospital_bank_public).is_ok();
            (status, ok, text.chars().take(300).collect())
        }
    };
    tracing::info!(%order, %msg_id, http_status, acknowledged, "callback attempt");
    app.state().callbacks.push(CallbackAttempt {
        mix_trade_no: order.into(),
        msg_id,
        at_ms: now,
        http_status,
        acknowledged,
        bad_signature,
        detail,
    });
    acknowledged
}

/// The self-pay order's payment notice to its `mer_url` (`--selfpay-notices`: banks that notify
/// self-pay results as well as the mixed one), repeated until acknowledged. Recorded in the
/// callback attempts under `selfpay:<out_trade_no>`.
pub fn spawn_self_pay(app: App, mix_trade_no: String) {
    tokio::spawn(async move {
        let now = crate::clock::now_ms();
        let (keys_org, url, biz, msg_id) = {
            let mut st = app.state();
            let Some(m) = st.mixed_orders.get(&mix_trade_no).cloned() else { return };
            let Some(sp) = st.self_pay_orders.get(&m.out_trade_no).cloned() else { return };
            if sp.mer_url.is_empty() {
                return;
            }
            let biz = serde_json::json!({
                "out_trade_no": sp.out_trade_no, "order_id": sp.order_id, "total_amt": sp.total.fen().to_string(),
                "payment_amt": sp.total.fen().to_string(), "pay_time": crate::clock::dashed(sp.paid_ms.unwrap_or(now)),
                "third_trade_no": sp.third_trade_no.clone().unwrap_or_default(), "pay_type": "9", "access_type": sp.access_type,
                "return_code": 0, "return_msg": "success",
            });
            (m.org_code.clone(), sp.mer_url.clone(), biz, st.next_id("SPN", now))
        };
        let Some(keys) = app.hospital_by_org(&keys_org) else { return };
        let api = medpay_schemas::wire::bank::SELF_PAY_ORDER_API;
        let order = format!("selfpay:{}", biz["out_trade_no"].as_str().unwrap_or_default());
        let mut delays = app.config.callback_retry.clone().into_iter();
        loop {
            let params = match keys.bank.seal_form(
                api,
                &msg_id,
                crate::clock::now_ms(),
                &biz,
                &keys.bank_key,
                &[("from", "icbc-api"), ("api", api)],
            ) {
                Ok(s) => s.params,
                Err(e) => return tracing::error!("cannot sign the self-pay notice: {e}"),
            };
            if post(&app, keys, &order, &url, msg_id.clone(), params, false).await {
                return;
            }
            match delays.next() {
                Some(d) => tokio::time::sleep(d).await,
                None => return tracing::warn!(%order, "self-pay notice never acknowledged; giving up"),
            }
        }
    });
}
