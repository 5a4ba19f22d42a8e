//! The provincial mobile-payment mid-platform (docs/PROTOCOLS.md §3): 6201, 6202, 6203, 6301
//! and 6401 behind the SM2/SM4 envelope. Requests are verified with the hospital's public key
//! and replies signed with the platform's key. A request that fails verification gets an
//! unsigned failure (as the real platform does); business failures are signed.
//!
//! Reply `code`s: 0 ok; 1001 signature does not verify; 1002 envelope malformed / appId unknown
//! / encData does not decrypt; 2000 a field is missing or invalid; 2001 payAuthNo unknown,
//! expired or another person's; 2002 payAuthNo already used for another order; 2003 amounts do
//! not add up; 2004 order unknown; 2005 the order's state does not allow this; 2006 refund
//! exceeds what was paid; 2007 medOrgOrd already uploaded with different content; 2008 payToken
//! invalid; 2009 appRefdSn reused with different content; 2010 identity does not match.

use crate::app::{App, HospitalKeys};
use crate::persons;
use crate::state::{MidOrder, State};
use axum::Json;
use axum::response::{IntoResponse, Response};
use medpay_crypto::envelope::canonical::{NumberStyle, canonical_data};
use medpay_crypto::envelope::mid_platform::EnvelopeError;
use medpay_schemas::Money;
use medpay_schemas::status::OrdStas;
use medpay_schemas::wire::mid_platform::*;
use serde_json::{Value, json};

pub(super) type Failure = (i64, String);

pub(super) fn fail(code: i64, msg: impl Into<String>) -> Failure {
    (code, msg.into())
}

fn unsigned(code: i64, message: impl Into<String>) -> Response {
    Json(json!({"code": code, "message": message.into(), "success": false})).into_response()
}

pub async fn handle(app: App, op: MidPlatformOp, body: String) -> Response {
    if let Some(r) = app.inject(&format!("mid.{}", op.infno())).await {
        return r;
    }
    let app_id = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["appId"].as_str().map(String::from))
        .unwrap_or_default();
    let Some(keys) = app.hospital_by_mid_app_id(&app_id) else {
        return unsigned(1002, format!("appId {app_id:?} is not registered"));
    };
    let opened = match keys.mid.open(&body, &keys.hospital_mid_public) {
        Ok(o) => o,
        Err(EnvelopeError::SignatureMismatch { .. } | EnvelopeError::SignatureMalformed(_)) => {
            return unsigned(1001, "signData does not verify");
        }
        Err(e) => return unsigned(1002, e.to_string()),
    };
    let data = opened.data.unwrap_or(Value::Null);
    let now = crate::clock::now_ms();
    let result = {
        let faults = app.faults();
        let mut st = app.state();
        let org = keys.creds.org_code.clone();
        match op {
            MidPlatformOp::UploadFeeDetails => upload(&mut st, &org, &data, now),
            MidPlatformOp::PayOrder => pay_order(&mut st, &data, now),
            MidPlatformOp::QueryOrder => query(&st, &data),
            MidPlatformOp::RevokeUpload => revoke(&mut st, &data),
            MidPlatformOp::RefundAuthorisation => {
                super::mid_platform_refund::refund_authorisation(&mut st, &org, &data, now, app.config.pay_auth_ttl)
            }
            MidPlatformOp::Refund => {
                let med_org_ord = data["payOrdId"]
                    .as_str()
                    .and_then(|id| st.mid_orders.get(id))
                    .map(|o| o.med_org_ord.clone())
                    .unwrap_or_default();
                let f = faults.for_order(&[&med_org_ord]).clone();
                super::mid_platform_refund::refund(&mut st, &data, now, &f)
            }
        }
    };
    seal(keys, now, result)
}

fn seal(keys: &HospitalKeys, now: i64, result: Result<Value, Failure>) -> Response {
    let mut fields = keys.mid.request_fields(now);
    let data = match &result {
        Ok(d) => {
            fields.insert("code".into(), json!(0));
            fields.insert("message".into(), json!("success"));
            fields.insert("success".into(), json!(true));
            d.clone()
        }
        Err((code, msg)) => {
            fields.insert("code".into(), json!(code));
            fields.insert("message".into(), json!(msg));
            fields.insert("success".into(), json!(false));
            json!({})
        }
    };
    match keys.mid.seal(fields, &data, &keys.platform_key) {
        Ok(sealed) => Json(sealed.body).into_response(),
        Err(e) => unsigned(5000, format!("sandbox could not sign its reply: {e}")),
    }
}

pub(super) fn parse<T: serde::de::DeserializeOwned>(data: &Value) -> Result<T, Failure> {
    serde_json::from_value(data.clone()).map_err(|e| fail(2000, format!("invalid request data: {e}")))
}

pub(super) fn fingerprint(data: &Value) -> String {
    canonical_data(data, NumberStyle::Literal)
}

/// The payAuthNo must exist, be unexpired, belong to `psn_no`, and be unused or used by `order`.
pub(super) fn check_pay_auth(
    st: &State,
    pay_auth_no: &str,
    psn_no: &str,
    order: &str,
    now: i64,
) -> Result<(), Failure> {
    let auth = st.pay_auths.get(pay_auth_no).ok_or_else(|| fail(2001, "payAuthNo unknown"))?;
    if auth.expires_ms < now {
        return Err(fail(2001, "payAuthNo expired: authorise again"));
    }
    if auth.psn_no != psn_no {
        return Err(fail(2001, "payAuthNo belongs to another person"));
    }
    match &auth.bound_order {
        Some(o) if o != order => Err(fail(2002, "payAuthNo was already used for another order")),
        _ => Ok(()),
    }
}

fn order_mut<'a>(st: &'a mut State, pay_ord_id: &str, pay_token: &str) -> Result<&'a mut MidOrder, Failure> {
    let o = st.mid_orders.get_mut(pay_ord_id).ok_or_else(|| fail(2004, format!("payOrdId {pay_ord_id} unknown")))?;
    if o.pay_token != pay_token {
        return Err(fail(2008, "payToken invalid for this order"));
    }
    Ok(o)
}

fn check_identity(o: &MidOrder, id_no: &str) -> Result<(), Failure> {
    match persons::by_psn_no(&o.psn_no) {
        Some(p) if p.id_no == id_no => Ok(()),
        _ => Err(fail(2010, "idNo does not match the order's person")),
    }
}

fn upload(st: &mut State, org: &str, data: &Value, now: i64) -> Result<Value, Failure> {
    let req: UploadFeeDetailsRequest = parse(data)?;
    if req.org_codg.as_str() != org {
        return Err(fail(2000, format!("orgCodg {} is not this appId's hospital", req.org_codg)));
    }
    let med_org_ord = req.med_org_ord.to_string();
    let fp = fingerprint(data);
    let key = (org.to_string(), med_org_ord.clone());
    if let Some(existing) = st.mid_by_med_org_ord.get(&key).and_then(|id| st.mid_orders.get(id)) {
        if existing.upload_fingerprint == fp {
            return Ok(
                json!({"payOrdId": existing.pay_ord_id, "payToken": existing.pay_token, "mdtrtId": format!("MDTRT{}", existing.pay_ord_id)}),
            );
        }
        return Err(fail(
            2007,
            format!(
                "medOrgOrd {med_org_ord} was already uploaded with different content (payOrdId {}); revoke it with 6401 first",
                existing.pay_ord_id
            ),
        ));
    }
    check_pay_auth(st, req.pay_auth_no.expose(), req.psn_no.as_str(), &med_org_ord, now)?;
    check_fee_details(&req)?;
    let sum = req.details_sum().map_err(|e| fail(2003, e.to_string()))?;
    if sum != req.medfee_sumamt {
        return Err(fail(
            2003,
            format!(
                "Σ(detItemFeeSumamt) = {} but medfeeSumamt = {}",
                sum.to_yuan_string(),
                req.medfee_sumamt.to_yuan_string()
            ),
        ));
    }
    if req.feedetail_list.is_empty() {
        return Err(fail(2000, "feedetailList is empty"));
    }
    let pay_ord_id = st.next_id("ORD", now);
    let pay_token = st.next_id("TOKEN", now);
    if let Some(a) = st.pay_auths.get_mut(req.pay_auth_no.expose()) {
        a.bound_order = Some(med_org_ord.clone());
    }
    st.mid_orders.insert(
        pay_ord_id.clone(),
        MidOrder {
            org_code: org.into(),
            pay_ord_id: pay_ord_id.clone(),
            med_org_ord,
            pay_token: pay_token.clone(),
            psn_no: req.psn_no.to_string(),
            upload_fingerprint: fp,
            total: req.medfee_sumamt,
            use_account: req.acct_used_flag == "1",
            split: None,
            ord_stas: OrdStas::Saved,
            settled_ms: None,
            refunded_fund: Money::ZERO,
            refunded_acct: Money::ZERO,
            refunded_cash: Money::ZERO,
        },
    );
    st.mid_by_med_org_ord.insert(key, pay_ord_id.clone());
    Ok(json!({"payOrdId": pay_ord_id, "payToken": pay_token, "mdtrtId": format!("MDTRT{pay_ord_id}")}))
}

/// What the real platform refuses in a 6201 beyond the sums (docs/PROTOCOLS.md §3.3): the
/// visit's department and doctor, an outpatient visit's diagnoses, and per line the national
/// catalogue code, the quantity and unit price that make the line's amount, the fee time and the
/// billing department and doctor.
fn check_fee_details(req: &UploadFeeDetailsRequest) -> Result<(), Failure> {
    use medpay_schemas::bill::{Quantity, is_catalogue_code, is_icd10, is_timestamp};
    let missing = |what: &str| fail(2004, format!("{what} is required"));
    let present = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    if !present(&req.dept_code) || !present(&req.dept_name) {
        return Err(missing("deptCode / deptName"));
    }
    if !present(&req.atddr_no) || !present(&req.dr_name) {
        return Err(missing("atddrNo / drName"));
    }
    if !is_timestamp(&req.begntime) {
        return Err(fail(2004, format!("begntime {:?} is not yyyy-MM-dd HH:mm:ss", req.begntime)));
    }
    if req.med_type == "11" && (req.diseinfo_list.is_empty() || !present(&req.dise_codg)) {
        return Err(fail(2004, "an outpatient visit (medType 11) needs diseCodg and diseinfoList"));
    }
    if let Some(d) = req.diseinfo_list.iter().find(|d| !is_icd10(&d.diag_code)) {
        return Err(fail(2004, format!("diagCode {:?} is not ICD-10", d.diag_code)));
    }
    for d in &req.feedetail_list {
        let sn = &d.feedetl_sn;
        if !is_catalogue_code(&d.med_list_codg) || d.medins_list_codg.trim().is_empty() {
            return Err(fail(
                2004,
                format!("feedetlSn {sn}: medListCodg (national catalogue) and medinsListCodg are required"),
            ));
        }
        let amount = Quantity::parse(&d.cnt).and_then(|q| q.times(d.pric.fen()));
        if amount != Some(d.det_item_fee_sumamt.fen()) {
            return Err(fail(
                2003,
                format!(
                    "feedetlSn {sn}: cnt {} × pric {} ≠ detItemFeeSumamt {}",
                    d.cnt,
                    d.pric.to_yuan_string(),
                    d.det_item_fee_sumamt.to_yuan_string()
                ),
            ));
        }
        if !is_timestamp(&d.fee_ocur_time) {
            return Err(fail(
                2004,
                format!("feedetlSn {sn}: feeOcurTime {:?} is not yyyy-MM-dd HH:mm:ss", d.fee_ocur_time),
            ));
        }
        if !present(&d.bilg_dept_codg) || !present(&d.bilg_dr_codg) {
            return Err(fail(2004, format!("feedetlSn {sn}: bilgDeptCodg / bilgDrCodg are required")));
        }
    }
    Ok(())
}

fn split_json(pay_ord_id: &str, stas: &OrdStas, s: &SettlementSplit) -> Value {
    json!({
        "payOrdId": pay_ord_id, "ordStas": stas.code(),
        "feeSumamt": s.fee_sumamt.to_yuan_string(), "ownPayAmt": s.own_pay_amt.to_yuan_string(),
        "psnAcctPay": s.psn_acct_pay.to_yuan_string(), "fundPay": s.fund_pay.to_yuan_string(),
    })
}

fn pay_order(st: &mut State, data: &Value, now: i64) -> Result<Value, Failure> {
    let req: PayOrderRequest = parse(data)?;
    let (psn_no, med_org_ord) = {
        let o = order_mut(st, req.pay_ord_id.as_str(), req.pay_token.expose())?;
        (o.psn_no.clone(), o.med_org_ord.clone())
    };
    if req.org_biz_ser.as_str() != med_org_ord {
        return Err(fail(2000, "orgBizSer must equal the order's medOrgOrd"));
    }
    check_pay_auth(st, req.pay_auth_no.expose(), &psn_no, &med_org_ord, now)?;
    let person = persons::by_psn_no(&psn_no).ok_or_else(|| fail(2001, "person unknown"))?;
    let balance = st.balances.get(&psn_no).copied().unwrap_or(person.balance);
    let o = order_mut(st, req.pay_ord_id.as_str(), req.pay_token.expose())?;
    match (&o.ord_stas, o.split) {
        (OrdStas::Saved, _) => {
            let (fund, acct, own) =
                persons::split(person, o.total, req.acct_used_flag == "1" || o.use_account, balance);
            let split = SettlementSplit { fee_sumamt: o.total, own_pay_amt: own, psn_acct_pay: acct, fund_pay: fund };
            o.split = Some(split);
            o.ord_stas = OrdStas::PreSettled;
            Ok(split_json(&o.pay_ord_id, &o.ord_stas, &split))
        }
        (OrdStas::PreSettled | OrdStas::AwaitingPayment, Some(split)) => {
            Ok(split_json(&o.pay_ord_id, &o.ord_stas, &split))
        }
        (other, _) => Err(fail(2005, format!("order is in ordStas {other}, cannot pre-settle again"))),
    }
}

fn query(st: &State, data: &Value) -> Result<Value, Failure> {
    let req: QueryOrderRequest = parse(data)?;
    let o = st
        .mid_orders
        .get(req.pay_ord_id.as_str())
        .ok_or_else(|| fail(2004, format!("payOrdId {} unknown", req.pay_ord_id)))?;
    if o.pay_token != *req.pay_token.expose() {
        return Err(fail(2008, "payToken invalid for this order"));
    }
    check_identity(o, req.id_no.expose())?;
    let mut v = match &o.split {
        Some(s) => split_json(&o.pay_ord_id, &o.ord_stas, s),
        None => json!({"payOrdId": o.pay_ord_id, "ordStas": o.ord_stas.code()}),
    };
    v["medOrgOrd"] = json!(o.med_org_ord);
    if let Some(s) = &o.split {
        let setl_type = match (s.own_pay_amt.is_zero(), s.insurance().map(Money::is_zero).unwrap_or(true)) {
            (true, _) => "HI",
            (false, true) => "CASH",
            (false, false) => "ALL",
        };
        v["setlType"] = json!(setl_type);
    }
    if let Some(ms) = o.settled_ms {
        v["traceTime"] = json!(crate::clock::dashed(ms));
    }
    Ok(v)
}

fn revoke(st: &mut State, data: &Value) -> Result<Value, Failure> {
    let req: RevokeUploadRequest = parse(data)?;
    let paid = st.mixed_orders.values().any(|m| {
        m.pay_order_id == req.pay_ord_id.as_str()
            && m.mix_status.is_final()
            && m.self_status == medpay_schemas::status::SelfPayStatus::Success
    });
    let o = order_mut(st, req.pay_ord_id.as_str(), req.pay_token.expose())?;
    check_identity(o, req.id_no.expose())?;
    match o.ord_stas {
        OrdStas::Revoked => return Ok(json!({"payOrdId": o.pay_ord_id})),
        OrdStas::Saved | OrdStas::PreSettled | OrdStas::AwaitingPayment if !paid => {}
        ref other => {
            return Err(fail(
                2005,
                format!("order is in ordStas {other}; a settled order is refunded with 6203, not revoked"),
            ));
        }
    }
    o.ord_stas = OrdStas::Revoked;
    let key = (o.org_code.clone(), o.med_org_ord.clone());
    let id = o.pay_ord_id.clone();
    st.mid_by_med_org_ord.remove(&key);
    Ok(json!({"payOrdId": id}))
}

/// The bank settles the insurance part of a mixed order (after the self-pay part, REQ SR-7a).
pub fn settle_insurance(st: &mut State, pay_ord_id: &str, succeeded: bool, now: i64) {
    let Some(o) = st.mid_orders.get_mut(pay_ord_id) else { return };
    if !succeeded {
        o.ord_stas = OrdStas::SettlementFailed;
        return;
    }
    o.ord_stas = OrdStas::Settled;
    o.settled_ms = Some(now);
    let acct = o.split.map(|s| s.psn_acct_pay).unwrap_or_default();
    let psn = o.psn_no.clone();
    if let Some(p) = persons::by_psn_no(&psn) {
        let b = st.balances.entry(psn).or_insert(p.balance);
        *b = Money::from_fen(b.fen() - acct.fen());
    }
}

/// Marks an order "awaiting payment" once the bank has its mixed order.
pub fn mark_awaiting_payment(st: &mut State, pay_ord_id: &str) {
    if let Some(o) = st.mid_orders.get_mut(pay_ord_id)
        && o.ord_stas == OrdStas::PreSettled
    {
        o.ord_stas = OrdStas::AwaitingPayment;
    }
}
