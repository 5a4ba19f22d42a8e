//! The mid-platform's refunds (docs/PROTOCOLS.md §3.3): 6203 医保退费 with its refund types and
//! amounts checked against what was paid, and the refund authorisation (REQ 6.2 step 3, 获取授权)
//! that binds a payAuthNo to one refund without the patient.

use super::mid_platform::{Failure, check_pay_auth, fail, fingerprint, parse};
use crate::persons;
use crate::state::{MidRefund, State};
use medpay_schemas::Money;
use medpay_schemas::status::{OrdStas, RefundStatus, RefundType};
use medpay_schemas::wire::mid_platform::*;
use serde_json::{Value, json};

/// REQ 6.2 step 3 at the platform: a payAuthNo for one refund of a settled order of this
/// hospital, bound to that refund's 6203 (single use), with no patient action.
pub(super) fn refund_authorisation(
    st: &mut State,
    org: &str,
    data: &Value,
    now: i64,
    ttl: std::time::Duration,
) -> Result<Value, Failure> {
    let req: RefundAuthorisationRequest = parse(data)?;
    let o = st
        .mid_orders
        .get(req.pay_ord_id.as_str())
        .ok_or_else(|| fail(2004, format!("payOrdId {} unknown", req.pay_ord_id)))?;
    if o.org_code != org || req.org_codg.as_str() != org || o.med_org_ord != req.med_org_ord.as_str() {
        return Err(fail(2000, "payOrdId, orgCodg and medOrgOrd are not one order of this appId's hospital"));
    }
    if o.settled_ms.is_none() {
        return Err(fail(2005, format!("order is in ordStas {}: nothing was paid, nothing to refund", o.ord_stas)));
    }
    let psn_no = o.psn_no.clone();
    let pay_auth_no = st.next_id("RAUTH", now);
    let expires_ms = now + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    st.pay_auths.insert(
        pay_auth_no.clone(),
        crate::state::PayAuth {
            psn_no,
            expires_ms,
            bound_order: Some(format!("refund:{}", req.app_refd_sn)),
            for_relative: false,
        },
    );
    Ok(
        json!({"payAuthNo": pay_auth_no, "expireTime": medpay_crypto::envelope::time::TimestampFormat::Compact.render(expires_ms)}),
    )
}

pub(super) fn refund(st: &mut State, data: &Value, now: i64, faults: &crate::faults::Faults) -> Result<Value, Failure> {
    let req: RefundRequest = parse(data)?;
    let fp = fingerprint(&{
        // The payAuthNo and time may change between retries of the same refund.
        let mut d = data.clone();
        if let Some(m) = d.as_object_mut() {
            m.remove("payAuthNo");
            m.remove("appRefdTime");
        }
        d
    });
    let sn = req.app_refd_sn.to_string();
    if let Some(existing) = st.mid_refunds.get(&sn).cloned() {
        if existing.fingerprint != fp {
            return Err(fail(2009, format!("appRefdSn {sn} was used for a different refund")));
        }
        if existing.status == RefundStatus::Exception {
            // Asked again: the exception has been worked out.
            let resolved = existing.resolves_to.clone();
            if resolved == RefundStatus::Succeeded {
                apply_refund(st, &existing.pay_ord_id, existing.fund, existing.acct, existing.cash)?;
            }
            if let Some(r) = st.mid_refunds.get_mut(&sn) {
                r.status = resolved;
            }
        }
        let r = &st.mid_refunds[&sn];
        return Ok(refund_json(r));
    }
    let o = st
        .mid_orders
        .get(req.pay_ord_id.as_str())
        .ok_or_else(|| fail(2004, format!("payOrdId {} unknown", req.pay_ord_id)))?
        .clone();
    check_pay_auth(st, req.pay_auth_no.expose(), &o.psn_no, &format!("refund:{sn}"), now)?;
    let split = o
        .split
        .filter(|_| o.settled_ms.is_some())
        .ok_or_else(|| fail(2005, format!("order is in ordStas {}: nothing was paid", o.ord_stas)))?;
    let remaining = (
        split.fund_pay.checked_sub(o.refunded_fund).map_err(|e| fail(2006, e.to_string()))?,
        split.psn_acct_pay.checked_sub(o.refunded_acct).map_err(|e| fail(2006, e.to_string()))?,
        split.own_pay_amt.checked_sub(o.refunded_cash).map_err(|e| fail(2006, e.to_string()))?,
    );
    let asked = (req.fund_refd_amt, req.psn_acct_refd_amt, req.cash_refd_amt);
    if asked.0 > remaining.0 || asked.1 > remaining.1 || asked.2 > remaining.2 {
        return Err(fail(2006, "a refund component exceeds what remains paid"));
    }
    if Money::checked_sum([asked.0, asked.1, asked.2]).ok() != Some(req.totl_refd_amt) {
        return Err(fail(2003, "totlRefdAmt is not the sum of the components"));
    }
    let rules_ok = match req.refd_type {
        RefundType::All => asked == remaining,
        RefundType::Cash => asked.0.is_zero() && asked.1.is_zero() && !asked.2.is_zero(),
        RefundType::Insurance => asked.2.is_zero() && !(asked.0.is_zero() && asked.1.is_zero()),
        RefundType::Unknown(_) => false,
    };
    if !rules_ok {
        return Err(fail(2000, format!("components do not fit refdType {}", req.refd_type)));
    }
    if let Some(a) = st.pay_auths.get_mut(req.pay_auth_no.expose()) {
        a.bound_order = Some(format!("refund:{sn}"));
    }
    let status = if faults.refund_exp { RefundStatus::Exception } else { RefundStatus::Succeeded };
    let resolves_to = match faults.exp_resolves_to.as_deref() {
        Some("FAIL") => RefundStatus::Failed,
        _ => RefundStatus::Succeeded,
    };
    if status == RefundStatus::Succeeded {
        apply_refund(st, &o.pay_ord_id, asked.0, asked.1, asked.2)?;
    }
    let refd_sn = st.next_id("REFD", now);
    let r = MidRefund {
        app_refd_sn: sn.clone(),
        pay_ord_id: o.pay_ord_id.clone(),
        refd_sn,
        fingerprint: fp,
        status,
        resolves_to,
        fund: asked.0,
        acct: asked.1,
        cash: asked.2,
        at_ms: now,
    };
    let reply = refund_json(&r);
    st.mid_refunds.insert(sn, r);
    Ok(reply)
}

fn refund_json(r: &MidRefund) -> Value {
    let hi = !(r.fund.is_zero() && r.acct.is_zero());
    let mut v = json!({"refdSn": r.refd_sn, "refStatus": r.status.code()});
    if hi && r.status == RefundStatus::Succeeded {
        v["hiFefdSn"] = json!(format!("HI{}", r.refd_sn));
        v["hiTrnsDate"] = json!(crate::clock::compact_date(r.at_ms));
        v["hiTrnsTime"] = json!(crate::clock::dashed(r.at_ms));
    }
    v
}

fn apply_refund(st: &mut State, pay_ord_id: &str, fund: Money, acct: Money, cash: Money) -> Result<(), Failure> {
    let o = st.mid_orders.get_mut(pay_ord_id).ok_or_else(|| fail(2004, "order vanished"))?;
    o.refunded_fund = o.refunded_fund.checked_add(fund).map_err(|e| fail(2006, e.to_string()))?;
    o.refunded_acct = o.refunded_acct.checked_add(acct).map_err(|e| fail(2006, e.to_string()))?;
    o.refunded_cash = o.refunded_cash.checked_add(cash).map_err(|e| fail(2006, e.to_string()))?;
    let s = o.split.unwrap_or(SettlementSplit {
        fee_sumamt: Money::ZERO,
        own_pay_amt: Money::ZERO,
        psn_acct_pay: Money::ZERO,
        fund_pay: Money::ZERO,
    });
    let hi_done = o.refunded_fund == s.fund_pay && o.refunded_acct == s.psn_acct_pay;
    let cash_done = o.refunded_cash == s.own_pay_amt;
    let hi_any = !(o.refunded_fund.is_zero() && o.refunded_acct.is_zero());
    o.ord_stas = match (hi_done && hi_any, cash_done, o.refunded_cash.is_zero()) {
        (true, true, _) => OrdStas::Refunded,
        (true, false, true) => OrdStas::InsuranceFullyRefunded,
        (true, false, false) => OrdStas::InsuranceFullSelfPayPartRefunded,
        (false, true, _) if !hi_any => OrdStas::SelfPayOnlyFullyRefunded,
        (false, false, false) if !hi_any => OrdStas::SelfPayOnlyPartlyRefunded,
        _ => OrdStas::Refunding,
    };
    let psn = o.psn_no.clone();
    if !acct.is_zero()
        && let Some(p) = persons::by_psn_no(&psn)
    {
        let b = st.balances.entry(psn).or_insert(p.balance);
        *b = b.checked_add(acct).map_err(|e| fail(2006, e.to_string()))?;
    }
    Ok(())
}
