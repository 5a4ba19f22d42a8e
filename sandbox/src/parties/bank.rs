//! The clearing bank (docs/PROTOCOLS.md §4): the gateway's form envelope (SM2 by default),
//! self-pay (aggregate) order, mixed order, mixed-order query, self-pay refund and the
//! refund-result notify. Every reply is `{"response_biz_content":{...},"sign":"..."}` signed
//! with the bank's key.
//!
//! `return_code`s: 0 ok; 4001 signature does not verify / app_id unknown; 4000 a field is
//! missing or invalid; 4003 business fields sent in clear to a bank that requires them
//! encrypted (REQ S-4.1b); 4002 out_trade_no reused with different content; 4004 order not found
//! (also: wrong `trx_date`); 4005 amounts disagree with the pre-settlement or the self-pay
//! order; 4006 the channel's mixed-order rules are violated; 4007 refund exceeds what was paid;
//! 4008 the order's state does not allow this.

use crate::app::{App, HospitalKeys, SandboxConfig};
use crate::state::{BankRefund, MixedOrder, RefundNotice, SelfPayOrder, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use medpay_crypto::envelope::bank_gateway::{BankGatewayEnvelope, BankGatewayProfile};
use medpay_crypto::envelope::canonical::{NumberStyle, canonical_data};
use medpay_schemas::Money;
use medpay_schemas::status::{MedInsPayStatus, MixPayStatus, MixPayType, SelfPayStatus};
use medpay_schemas::wire::bank::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;

type Failure = (i64, String);

fn fail(code: i64, msg: impl Into<String>) -> Failure {
    (code, msg.into())
}

pub async fn handle(app: App, op: BankOp, body: String) -> Response {
    if let Some(r) = app.inject(&format!("bank.{}", op_name(op))).await {
        return r;
    }
    let params: BTreeMap<String, String> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let msg_id = params.get("msg_id").cloned().unwrap_or_default();
    let app_id = params.get("app_id").cloned().unwrap_or_default();
    let Some(keys) = app.hospital_by_bank_app_id(&app_id) else {
        return (StatusCode::BAD_REQUEST, format!("app_id {app_id:?} is not registered at the sandbox bank"))
            .into_response();
    };
    // REQ S-4.1b: with encryption on, business fields in clear are refused before anything else.
    // The refusal itself goes back in clear: a hospital that does not encrypt cannot decrypt.
    if app.config.bank_encrypt && !params.contains_key("encrypt_type") {
        let clear = BankGatewayProfile { encrypt: None, ..keys.bank.profile.clone() };
        let refusal = json!({"return_code": 4003, "return_msg": "biz_content must be encrypted (encrypt_type): the payer's name and ID digest may not travel in clear", "msg_id": msg_id});
        return match BankGatewayEnvelope::new(clear, keys.bank.app_id.clone(), None)
            .and_then(|e| e.seal_response(&refusal, &keys.bank_key))
        {
            Ok(text) => ([(axum::http::header::CONTENT_TYPE, "application/json; charset=utf-8")], text).into_response(),
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("sandbox bank could not sign: {e}")).into_response(),
        };
    }
    let result = match keys.bank.open_request(op.default_path(), params, &keys.hospital_bank_public) {
        Err(e) => Err(fail(4001, format!("request rejected: {e}"))),
        Ok(opened) => {
            let now = crate::clock::now_ms();
            let mut st = app.state();
            match op {
                BankOp::SelfPayOrder => self_pay_order(&mut st, keys, &opened.biz_content, now),
                BankOp::MixedOrder => mixed_order(&mut st, &app.config, keys, &opened.biz_content, now),
                BankOp::MixedOrderQuery => query(&st, keys, &opened.biz_content),
                BankOp::SelfPayRefund => self_pay_refund(&mut st, keys, &opened.biz_content, now),
                BankOp::RefundNotify => refund_notify(&mut st, keys, &opened.biz_content, now),
            }
        }
    };
    reply(keys, &msg_id, result)
}

pub fn op_name(op: BankOp) -> &'static str {
    match op {
        BankOp::SelfPayOrder => "self_pay_order",
        BankOp::MixedOrder => "mixed_order",
        BankOp::MixedOrderQuery => "query",
        BankOp::SelfPayRefund => "self_pay_refund",
        BankOp::RefundNotify => "refund_notify",
    }
}

fn reply(keys: &HospitalKeys, msg_id: &str, result: Result<Value, Failure>) -> Response {
    let mut biz = match result {
        Ok(v) => v,
        Err((code, msg)) => json!({"return_code": code, "return_msg": msg}),
    };
    if biz.get("return_code").is_none() {
        biz["return_code"] = json!(0);
        biz["return_msg"] = json!("success");
    }
    biz["msg_id"] = json!(msg_id);
    match keys.bank.seal_response(&biz, &keys.bank_key) {
        Ok(text) => ([(axum::http::header::CONTENT_TYPE, "application/json; charset=utf-8")], text).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("sandbox bank could not sign: {e}")).into_response(),
    }
}

fn parse<T: serde::de::DeserializeOwned>(biz: &Value) -> Result<T, Failure> {
    serde_json::from_value(biz.clone()).map_err(|e| fail(4000, format!("invalid biz_content: {e}")))
}

fn self_pay_order(st: &mut State, keys: &HospitalKeys, biz: &Value, now: i64) -> Result<Value, Failure> {
    let req: SelfPayOrderRequest = parse(biz)?;
    if req.mer_id != keys.creds.bank.mer_id {
        return Err(fail(4000, "mer_id is not this app's merchant"));
    }
    if req.total_fee.fen() <= 0 {
        return Err(fail(4000, "total_fee must be positive: no self-pay order without a self-pay part"));
    }
    // access_type per pay_mode (docs/PROTOCOLS.md §4.2): WeChat has no life account, Alipay
    // no official account.
    let allowed: &[&str] = match req.pay_mode.as_str() {
        "9" => &["5", "7", "9"],
        "10" => &["5", "8", "9"],
        _ => return Err(fail(4000, format!("pay_mode {:?} is not offered (9 WeChat, 10 Alipay)", req.pay_mode))),
    };
    if !allowed.contains(&req.access_type.as_str()) {
        return Err(fail(
            4000,
            format!(
                "access_type {:?} is not valid with pay_mode {} (allowed: {})",
                req.access_type,
                req.pay_mode,
                allowed.join(", ")
            ),
        ));
    }
    let out = req.out_trade_no.to_string();
    let order = match st.self_pay_orders.get(&out) {
        Some(o) if o.total != req.total_fee => {
            return Err(fail(4002, format!("out_trade_no {out} exists with total {}", o.total.fen())));
        }
        Some(o) => o.clone(),
        None => {
            let order_id = st.next_id("ICBC", now);
            let o = SelfPayOrder {
                org_code: keys.creds.org_code.clone(),
                out_trade_no: out.clone(),
                order_id,
                total: req.total_fee,
                status: SelfPayStatus::Created,
                created_ms: now,
                paid_ms: None,
                third_trade_no: None,
                refunded: Money::ZERO,
                access_type: req.access_type.clone(),
                mer_url: req.mer_url.clone(),
            };
            st.self_pay_orders.insert(out.clone(), o.clone());
            o
        }
    };
    // The channel's cashier parameters: WeChat's prepay package, or Alipay's trade no.
    if req.pay_mode == "10" {
        return Ok(json!({
            "out_trade_no": out, "order_id": order.order_id, "total_amt": order.total.fen().to_string(),
            "zfb_data_package": {"trade_no": format!("zfb{}", order.order_id), "app_id": req.shop_appid}
        }));
    }
    let prepay_id = format!("wx{}", order.order_id);
    Ok(json!({
        "out_trade_no": out, "order_id": order.order_id, "total_amt": order.total.fen().to_string(),
        "wx_data_package": {"appId": req.shop_appid, "timeStamp": (order.created_ms / 1000).to_string(),
            "nonceStr": format!("n{}", order.order_id), "package": format!("prepay_id={prepay_id}"),
            "signType": "RSA", "paySign": format!("sandbox-signature-of-{prepay_id}")}
    }))
}

/// What the channel checks of the payer and the order beyond the amounts: the ID digest and
/// the relative flag against the e-voucher's binding (WeChat's 268545961), the creation time,
/// and the environment flag against the environment.
fn check_payer_and_environment(st: &State, config: &SandboxConfig, req: &MixedOrderRequest) -> Result<(), Failure> {
    match (config.joint_test, req.med_ins_test_env) {
        (false, true) => {
            return Err(fail(
                4000,
                "med_ins_test_env=true is refused in production (a production money-loss bug): set the hospital's stage to production",
            ));
        }
        (true, false) => {
            return Err(fail(
                4000,
                "this is the joint-test environment: med_ins_test_env must be true (the hospital's stage is joint_test during the joint test)",
            ));
        }
        _ => {}
    }
    let created = &req.med_ins_order_create_time;
    if created.len() != 25 || !created.ends_with("+08:00") || created.as_bytes().get(10) != Some(&b'T') {
        return Err(fail(
            4000,
            format!("med_ins_order_create_time {created:?} is not RFC 3339 in +08:00 (yyyy-MM-ddTHH:mm:ss+08:00)"),
        ));
    }
    let auth =
        st.pay_auths.get(req.pay_auth_no.expose()).ok_or_else(|| fail(4004, "pay_auth_no unknown to the channel"))?;
    if auth.for_relative != req.pay_for_relatives {
        return Err(fail(
            268_545_961,
            format!(
                "pay_for_relatives={} differs from the authorisation (for a relative: {})",
                req.pay_for_relatives, auth.for_relative
            ),
        ));
    }
    let person =
        crate::persons::by_psn_no(&auth.psn_no).ok_or_else(|| fail(4004, "the e-voucher's person is unknown"))?;
    if req.payer_id_digest.expose() != &config.bank_id_digest.of(person.id_no) {
        return Err(fail(
            268_545_961,
            format!(
                "payer_id_digest does not match the e-voucher's binding (expected the {:?} digest of the upper-cased ID number)",
                config.bank_id_digest
            ),
        ));
    }
    Ok(())
}

fn mixed_order(
    st: &mut State,
    config: &SandboxConfig,
    keys: &HospitalKeys,
    biz: &Value,
    now: i64,
) -> Result<Value, Failure> {
    let req: MixedOrderRequest = parse(biz)?;
    if req.sub_mchid.as_str() != keys.creds.bank.sub_mchid || req.hospital_id != keys.creds.bank.hospital_id {
        return Err(fail(4000, "sub_mchid / hospital_id are not this app's"));
    }
    req.check_rules().map_err(|e| fail(4006, e.to_string()))?;
    check_payer_and_environment(st, config, &req)?;
    let fp = canonical_data(biz, NumberStyle::Literal);
    let out = req.out_trade_no.to_string();
    if let Some(existing) = st.mixed_by_out_trade_no.get(&out).and_then(|m| st.mixed_orders.get(m)) {
        if existing.fingerprint == fp {
            return Ok(json!({"mix_trade_no": existing.mix_trade_no, "mix_pay_status": existing.mix_status.code()}));
        }
        return Err(fail(4002, format!("out_trade_no {out} already has mixed order {}", existing.mix_trade_no)));
    }
    // The insurance fields must be the mid-platform's pre-settlement of this HIS order.
    let mid = st
        .mid_orders
        .get(req.pay_order_id.as_str())
        .ok_or_else(|| fail(4004, format!("pay_order_id {} unknown at the mid-platform", req.pay_order_id)))?;
    if mid.med_org_ord != req.serial_no.as_str() {
        return Err(fail(4005, "serial_no must equal the 6201 medOrgOrd"));
    }
    let split = mid.split.ok_or_else(|| fail(4008, "the order has no pre-settlement (6202) yet"))?;
    if (req.med_ins_gov_fee, req.med_ins_self_fee, req.med_ins_cash_fee, req.total_fee)
        != (split.fund_pay, split.psn_acct_pay, split.own_pay_amt, split.fee_sumamt)
    {
        return Err(fail(4005, "the amounts differ from the 6202 pre-settlement"));
    }
    let cash = req.wechat_pay_cash_fee;
    if !cash.is_zero() {
        let sp = st.self_pay_orders.get(&out).ok_or_else(|| fail(4004, format!("self-pay order {out} not found")))?;
        if sp.total != cash {
            return Err(fail(4005, "wechat_pay_cash_fee differs from the self-pay order's total"));
        }
    }
    let mix_trade_no = st.next_id("MIX", now);
    let (self_status, med_status) = match req.mix_pay_type {
        MixPayType::InsuranceOnly => (SelfPayStatus::NoSelfPay, MedInsPayStatus::Created),
        MixPayType::CashOnly => (SelfPayStatus::Created, MedInsPayStatus::NoMedInsPay),
        _ => (SelfPayStatus::Created, MedInsPayStatus::Created),
    };
    st.mixed_orders.insert(
        mix_trade_no.clone(),
        MixedOrder {
            org_code: keys.creds.org_code.clone(),
            mix_trade_no: mix_trade_no.clone(),
            out_trade_no: out.clone(),
            serial_no: req.serial_no.to_string(),
            pay_order_id: req.pay_order_id.to_string(),
            sub_mchid: req.sub_mchid.to_string(),
            fingerprint: fp,
            callback_url: req.callback_url.clone(),
            total: req.total_fee,
            gov: req.med_ins_gov_fee,
            own_acct: req.med_ins_self_fee,
            other: req.med_ins_other_fee,
            cash,
            mix_status: MixPayStatus::Created,
            self_status,
            med_status,
            created_ms: now,
            paid_ms: None,
            med_ins_fail_reason: None,
            pay_for_relatives: req.pay_for_relatives,
            med_ins_test_env: req.med_ins_test_env,
        },
    );
    st.mixed_by_out_trade_no.insert(out, mix_trade_no.clone());
    crate::parties::mid_platform::mark_awaiting_payment(st, req.pay_order_id.as_str());
    Ok(json!({"mix_trade_no": mix_trade_no, "mix_pay_status": MixPayStatus::Created.code()}))
}

/// The state block shared by the query reply and the callback body.
pub fn state_json(st: &State, m: &MixedOrder) -> Value {
    let third = st.self_pay_orders.get(&m.out_trade_no).and_then(|s| s.third_trade_no.clone());
    json!({
        "mix_trade_no": m.mix_trade_no, "sub_mchid": m.sub_mchid, "out_trade_no": m.out_trade_no,
        "serial_no": m.serial_no, "mix_pay_status": m.mix_status.code(), "self_pay_status": m.self_status.code(),
        "med_ins_pay_status": m.med_status.code(), "total_fee": m.total.fen().to_string(),
        "med_ins_gov_fee": m.gov.fen().to_string(), "med_ins_self_fee": m.own_acct.fen().to_string(),
        "med_ins_other_fee": m.other.fen().to_string(), "wechat_pay_cash_fee": m.cash.fen().to_string(),
        "paid_time": m.paid_ms.map(crate::clock::rfc3339), "med_ins_fail_reason": m.med_ins_fail_reason,
        "third_trade_no": third,
    })
}

fn query(st: &State, keys: &HospitalKeys, biz: &Value) -> Result<Value, Failure> {
    let req: MixedOrderQueryRequest = parse(biz)?;
    use medpay_schemas::wire::bank::codes::{QUERY_BY_MIX_TRADE_NO, QUERY_BY_OUT_TRADE_NO};
    let found = match req.query_type.as_str() {
        QUERY_BY_MIX_TRADE_NO => req.mix_trade_no.as_ref().and_then(|m| st.mixed_orders.get(m.as_str())),
        QUERY_BY_OUT_TRADE_NO => req
            .out_trade_no
            .as_ref()
            .and_then(|o| st.mixed_by_out_trade_no.get(o.as_str()))
            .and_then(|m| st.mixed_orders.get(m)),
        other => return Err(fail(4000, format!("query_type {other:?} must be MIX_TRADE_NO or OUT_TRADE_NO"))),
    };
    // As at ICBC: the order is looked up within its order date; a wrong trx_date is "not found".
    let m = found
        .filter(|m| m.org_code == keys.creds.org_code && m.sub_mchid == req.sub_mchid.as_str())
        .filter(|m| crate::clock::dashed_date(m.created_ms) == req.trx_date)
        .ok_or_else(|| fail(4004, "order not found (check trx_date: it must be the order date)"))?;
    Ok(state_json(st, m))
}

fn self_pay_refund(st: &mut State, keys: &HospitalKeys, biz: &Value, now: i64) -> Result<Value, Failure> {
    let req: SelfPayRefundRequest = parse(biz)?;
    if req.mer_id != keys.creds.bank.mer_id {
        return Err(fail(4000, "mer_id is not this app's merchant"));
    }
    if let Some(done) = st.bank_refunds.get(&req.outtrx_serial_no) {
        if done.out_trade_no != req.out_trade_no.as_str() || done.amount != req.ret_total_amt {
            return Err(fail(
                4002,
                format!("outtrx_serial_no {} was used for a different refund", req.outtrx_serial_no),
            ));
        }
        return Ok(
            json!({"intrx_serial_no": done.intrx_serial_no, "real_reject_amt": done.amount.fen().to_string(), "refund_status": "0"}),
        );
    }
    let sp = st
        .self_pay_orders
        .get(req.out_trade_no.as_str())
        .ok_or_else(|| fail(4004, format!("self-pay order {} not found", req.out_trade_no)))?;
    if sp.status != SelfPayStatus::Success && sp.status != SelfPayStatus::Refund {
        return Err(fail(4008, format!("self-pay order is {}, nothing to refund", sp.status)));
    }
    let remaining = sp.total.checked_sub(sp.refunded).map_err(|e| fail(4007, e.to_string()))?;
    if req.ret_total_amt.fen() <= 0 || req.ret_total_amt > remaining {
        return Err(fail(
            4007,
            format!("refund {} exceeds the {} fen still refundable", req.ret_total_amt.fen(), remaining.fen()),
        ));
    }
    let intrx = st.next_id("RF", now);
    let sp = st.self_pay_orders.get_mut(req.out_trade_no.as_str()).ok_or_else(|| fail(4004, "order vanished"))?;
    sp.refunded = sp.refunded.checked_add(req.ret_total_amt).map_err(|e| fail(4007, e.to_string()))?;
    if sp.refunded == sp.total {
        sp.status = SelfPayStatus::Refund;
    }
    st.bank_refunds.insert(
        req.outtrx_serial_no.clone(),
        BankRefund {
            outtrx_serial_no: req.outtrx_serial_no.clone(),
            intrx_serial_no: intrx.clone(),
            out_trade_no: req.out_trade_no.to_string(),
            amount: req.ret_total_amt,
            at_ms: now,
        },
    );
    Ok(json!({"intrx_serial_no": intrx, "real_reject_amt": req.ret_total_amt.fen().to_string(), "refund_status": "0"}))
}

fn refund_notify(st: &mut State, keys: &HospitalKeys, biz: &Value, now: i64) -> Result<Value, Failure> {
    let req: RefundNotifyRequest = parse(biz)?;
    let m = st
        .mixed_orders
        .get(req.mix_trade_no.as_str())
        .filter(|m| m.org_code == keys.creds.org_code)
        .ok_or_else(|| fail(4004, "mix_trade_no not found"))?;
    if !req.cash_refund_fee.is_zero() {
        let serial =
            req.intrx_serial_no.as_ref().ok_or_else(|| fail(4000, "intrx_serial_no is required with a cash part"))?;
        let known =
            st.bank_refunds.values().any(|r| r.intrx_serial_no == serial.as_str() && r.out_trade_no == m.out_trade_no);
        if !known {
            return Err(fail(4004, "intrx_serial_no is not a refund of this order's self-pay part"));
        }
    }
    let med_sum = Money::checked_sum([req.med_refund_gov_fee, req.med_refund_self_fee, req.med_refund_other_fee])
        .map_err(|e| fail(4005, e.to_string()))?;
    if med_sum != req.med_refund_total_fee {
        return Err(fail(4005, "med_refund_total_fee is not the sum of its parts"));
    }
    // A repeated notice (the hospital retrying a call whose answer it lost) is the same notice.
    if st
        .refund_notices
        .iter()
        .any(|n| req.out_refund_no == n.out_refund_no && n.mix_trade_no == req.mix_trade_no.as_str())
    {
        return Ok(json!({}));
    }
    st.refund_notices.push(RefundNotice {
        mix_trade_no: req.mix_trade_no.to_string(),
        out_refund_no: req.out_refund_no.to_string(),
        refund_type: req.refund_type.clone(),
        cash_refund_fee: req.cash_refund_fee,
        med_refund_total_fee: req.med_refund_total_fee,
        at_ms: now,
    });
    Ok(json!({}))
}
