//! The refund's activities (REQ 6.2 steps 3-6, X-8a): accept (reserve in the ledger), a fresh
//! payAuthNo, the insurance refund (6203), the self-pay refund at the bank, and the
//! refund-result notification through the bank. Every party call carries a serial derived from
//! the refund no. (`appRefdSn`, `outtrx_serial_no`), so a retry after a crash is a replay at the
//! party and the patient is never refunded twice.

use crate::bank::transformers::{RefundNotice, self_pay_refund};
use crate::exchange_log::ExchangeLog;
use crate::failure::{bad, fail};
use crate::http::now_ms;
use crate::ledger::{CreateRefundOutcome, Ledger, LedgerError, NewRefund, RefundMove};
use crate::mid_platform::transformers::{InsuranceRefund, refund_authorisation};
use crate::parties::onboarding::RefundAuthorisation;
use crate::parties::{HospitalParties, Parties};
use medpay_crypto::envelope::canonical::{NumberStyle, canonical_data};
use medpay_schemas::refund::{RefundInput, RefundState};
use medpay_schemas::status::RefundStatus;
use medpay_schemas::wire::bank::*;
use medpay_schemas::wire::mid_platform::*;
use medpay_schemas::*;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

#[derive(Clone)]
pub struct RefundActivities {
    pub parties: Arc<Parties>,
    pub ledger: Ledger,
    /// The HIS's notice endpoint, when configured (`his.notify_url`).
    pub his: Option<Arc<crate::his::HisNotifier>>,
    /// Seals the authCode exchanges shared with the other instances (`pay_auth_cache`), as the
    /// payment's identification does.
    pub sealer: Option<Arc<dyn crate::pay_auth_cache::ExchangeSealer>>,
}

/// A refund notice to send: the event and the episode that makes its id unique.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RefundEvent {
    pub input: RefundInput,
    pub event: String,
    pub state: RefundState,
    /// Counts the times the refund needed attention, so each episode is its own notice.
    pub episode: u32,
    pub attention: Option<String>,
}

fn ledger_err(e: LedgerError) -> ActivityError {
    match e {
        LedgerError::Db(_) | LedgerError::Contended(_) => std::io::Error::other(e.to_string()).into(),
        other => bad(other.to_string()),
    }
}

/// SM3 of the refund's identity and amounts: the same refund asked twice is the same refund;
/// the authCode and openid are left out (a retried request may bring a fresh one).
pub fn fingerprint(r: &RefundInput) -> String {
    let v = serde_json::json!({
        "org_code": r.org_code, "med_org_ord": r.med_org_ord, "refund_no": r.refund_no, "kind": r.kind.as_str(),
        "fund": r.amounts.fund.fen(), "psn_acct": r.amounts.psn_acct.fen(), "cash": r.amounts.cash.fen(),
    });
    hex::encode(medpay_crypto::sm3::sm3(canonical_data(&v, NumberStyle::Literal).as_bytes()))
}

/// What the steps need from the payment, learnt when the refund is accepted.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RefundPlan {
    pub pay_ord_id: Option<medpay_schemas::PayOrdId>,
    pub mix_trade_no: medpay_schemas::MixTradeNo,
    pub out_trade_no: medpay_schemas::OutTradeNo,
    pub app_refd_sn: AppRefdSn,
    pub bank_serial: String,
    /// Whether the refund takes everything still refundable (6203 type ALL).
    pub whole_remaining: bool,
}

/// One step's input: the refund, its plan, and what earlier steps learnt.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RefundStep {
    pub input: RefundInput,
    pub plan: RefundPlan,
    pub pay_auth_no: Option<Secret<String>>,
    pub insurance_refund_sn: Option<String>,
    pub bank_refund_serial: Option<BankRefundSerial>,
}

/// The insurance refund's answer: `Exception` (6203 EXP) is asked again later.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InsuranceRefunded {
    pub refd_sn: String,
    pub status: RefundStatus,
}

/// A move the workflow decided (an operator's decision, or the need for one), for the ledger.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RefundRecord {
    pub org_code: medpay_schemas::OrgCode,
    pub refund_no: medpay_schemas::RefundNo,
    pub step: RefundMove,
}

impl RefundActivities {
    fn hospital(&self, org: &str) -> Result<&HospitalParties, ActivityError> {
        self.parties.hospitals.get(org).ok_or_else(|| bad(format!("hospital {org} is not configured")))
    }

    /// The mid-platform's payAuthNo for the 6203 under serial `sn` (REQ 6.2 step 3).
    async fn platform_authorisation(
        &self,
        h: &HospitalParties,
        s: &RefundStep,
        sn: &AppRefdSn,
    ) -> Result<Secret<String>, ActivityError> {
        let pay_ord_id = s.plan.pay_ord_id.as_ref().ok_or_else(|| {
            bad(format!("refund {}: the payment has no mid-platform order (payOrdId)", s.input.refund_no))
        })?;
        let req = refund_authorisation(&s.input, pay_ord_id, sn.clone());
        let resp = h.mid.call::<_, RefundAuthorisationResponse>(MidPlatformOp::RefundAuthorisation, &req).await;
        ExchangeLog::of(&self.ledger, &s.input.org_code, &s.input.med_org_ord)
            .record("mid-platform", "refund authorisation", &req, resp.as_ref().map(|_| &"payAuthNo issued"))
            .await;
        Ok(resp.map_err(fail)?.pay_auth_no)
    }
}

#[activities]
impl RefundActivities {
    /// Accepts the refund in the ledger (idempotent; reserves the amounts) and plans the steps.
    #[activity]
    pub async fn accept(self: Arc<Self>, _ctx: ActivityContext, r: RefundInput) -> Result<RefundPlan, ActivityError> {
        let created = self
            .ledger
            .create_refund(NewRefund {
                org_code: r.org_code.clone(),
                med_org_ord: r.med_org_ord.clone(),
                refund_no: r.refund_no.clone(),
                workflow_id: medpay_schemas::workflow_ids::refund(&r.org_code, &r.refund_no),
                kind: r.kind,
                amounts: r.amounts,
                request_fingerprint: fingerprint(&r),
                reason: r.reason.clone(),
                now_ms: now_ms(),
            })
            .await
            .map_err(ledger_err)?;
        let row = match created {
            CreateRefundOutcome::New(m) | CreateRefundOutcome::Existing(m) => m,
        };
        let p = self
            .ledger
            .get(&r.org_code, &r.med_org_ord)
            .await
            .map_err(ledger_err)?
            .ok_or_else(|| bad(format!("payment {}/{} vanished", r.org_code, r.med_org_ord)))?;
        // Whole = after this refund nothing of any component is left (6203's ALL).
        let whole_remaining = p.refunded_fund_fen == p.fund_fen.unwrap_or(0)
            && p.refunded_psn_acct_fen == p.psn_acct_fen.unwrap_or(0)
            && p.refunded_cash_fen == p.own_pay_fen.unwrap_or(0);
        Ok(RefundPlan {
            pay_ord_id: p.pay_ord_id,
            mix_trade_no: p
                .mix_trade_no
                .ok_or_else(|| bad(format!("payment {}/{} has no mixed order", r.org_code, r.med_org_ord)))?,
            out_trade_no: p
                .out_trade_no
                .ok_or_else(|| bad(format!("payment {}/{} has no institution order no.", r.org_code, r.med_org_ord)))?,
            app_refd_sn: row.app_refd_sn,
            bank_serial: row.bank_serial,
            whole_remaining,
        })
    }

    /// REQ 6.2 step 3 (获取授权): the refund's payAuthNo — from the channel when the HIS passed a
    /// fresh authCode, else from the mid-platform's refund authorisation (no patient action),
    /// unless the hospital's province offers none (`refund_authorisation = "channel"`).
    #[activity]
    pub async fn authorise(
        self: Arc<Self>,
        _ctx: ActivityContext,
        s: RefundStep,
    ) -> Result<Secret<String>, ActivityError> {
        let h = self.hospital(&s.input.org_code)?;
        match s.input.auth_code.as_ref().filter(|c| !c.expose().is_empty()) {
            Some(code) => {
                // The code is single-use: a retry after a worker died between the channel's answer
                // and the activity's end finds the exchange an earlier attempt kept (else the
                // channel answers "already used" and the refund needs an operator).
                let exchange = crate::pay_auth_cache::key(&s.input.org_code, &format!("refund:{}", s.input.refund_no), code.expose());
                let sealer = self.sealer.as_deref();
                if let Some(a) = crate::pay_auth_cache::recall_shared(&self.ledger, sealer, &exchange).await {
                    return Ok(a.pay_auth_no);
                }
                let openid = s.input.openid.clone().unwrap_or_default();
                let auth = h.authorise(s.input.channel, code, &openid, &medpay_schemas::workflow_ids::channel_refund_request(&s.input.refund_no)).await;
                if let Ok(a) = &auth {
                    crate::pay_auth_cache::remember_shared(&self.ledger, sealer, exchange, a, crate::http::now_ms()).await;
                }
                ExchangeLog::of(&self.ledger, &s.input.org_code, &s.input.med_org_ord).record("channel", "userQuery (refund)", code, auth.as_ref().map(|_| &"payAuthNo issued")).await;
                Ok(auth.map_err(fail)?.pay_auth_no)
            }
            None if h.config.refund_authorisation == RefundAuthorisation::Platform => self.platform_authorisation(h, &s, &s.plan.app_refd_sn).await,
            None => Err(bad("the insurance part needs a fresh authCode (this hospital's refunds are authorised at the channel): retry with one".into())),
        }
    }

    /// REQ 6.2 step 4: the insurance refund (6203), keyed by `appRefdSn`. Asked again with the
    /// same serial, the mid-platform answers with the same refund (and resolves an EXP). A
    /// partial refund of both parts is two 6203 calls by the refdType rules (HI, then CASH under
    /// `<appRefdSn>C` with its own platform authorisation: a payAuthNo serves one 6203).
    #[activity]
    pub async fn refund_insurance(
        self: Arc<Self>,
        _ctx: ActivityContext,
        s: RefundStep,
    ) -> Result<InsuranceRefunded, ActivityError> {
        let h = self.hospital(&s.input.org_code)?;
        let calls = s.input.amounts.refund_calls(s.plan.whole_remaining);
        let mut first: Option<InsuranceRefunded> = None;
        let mut worst = RefundStatus::Succeeded;
        for (i, (refd_type, a)) in calls.into_iter().enumerate() {
            let sn = if i == 0 {
                s.plan.app_refd_sn.clone()
            } else {
                medpay_schemas::workflow_ids::cash_part_serial(&s.plan.app_refd_sn)
            };
            let pay_auth_no = match (i, &s.pay_auth_no) {
                (0, Some(p)) => p.clone(),
                (0, None) => return Err(bad("no payAuthNo for 6203".into())),
                _ => self.platform_authorisation(h, &s, &sn).await?,
            };
            let call = InsuranceRefund {
                pay_ord_id: s.plan.pay_ord_id.as_ref().ok_or_else(|| {
                    bad(format!("refund {}: the payment has no mid-platform order (payOrdId)", s.input.refund_no))
                })?,
                sn: sn.clone(),
                refd_type,
                amounts: a,
                pay_auth_no,
                at_ms: now_ms(),
            };
            let req = RefundRequest::try_from(call).map_err(|e| bad(e.to_string()))?;
            let resp = h
                .mid
                .call_logged::<_, RefundResponse>(
                    &ExchangeLog::of(&self.ledger, &s.input.org_code, &s.input.med_org_ord),
                    MidPlatformOp::Refund,
                    &req,
                )
                .await;
            let resp = resp.map_err(fail)?;
            if resp.ref_status == RefundStatus::Failed {
                return Err(bad(format!("6203 refused refund {} (refStatus FAIL)", s.input.refund_no)));
            }
            if resp.ref_status != RefundStatus::Succeeded {
                worst = resp.ref_status.clone();
            }
            first.get_or_insert(InsuranceRefunded { refd_sn: resp.refd_sn, status: resp.ref_status });
        }
        let done = first.ok_or_else(|| bad(format!("refund {} has no insurance part", s.input.refund_no)))?;
        record(&self.ledger, &s.input, RefundMove::Insurance { refd_sn: done.refd_sn.clone(), status: worst.clone() })
            .await?;
        Ok(InsuranceRefunded { refd_sn: done.refd_sn, status: worst })
    }

    /// Tells the HIS of a refund's money movement (signed POST, retried by Temporal until the HIS
    /// answers 2xx); `None` when no HIS endpoint is configured, else the notice's id.
    #[activity]
    pub async fn notify_his(
        self: Arc<Self>,
        _ctx: ActivityContext,
        e: RefundEvent,
    ) -> Result<Option<String>, ActivityError> {
        let Some(his) = &self.his else { return Ok(None) };
        let r = &e.input;
        let notice = crate::his::RefundNotice {
            notice_id: format!("{}:{}:{}", r.refund_no, e.event, e.episode),
            event: e.event.clone(),
            org_code: r.org_code.clone(),
            med_org_ord: r.med_org_ord.clone(),
            refund_no: r.refund_no.clone(),
            kind: r.kind.as_str().into(),
            state: e.state.as_str().into(),
            fund_fen: r.amounts.fund.fen(),
            psn_acct_fen: r.amounts.psn_acct.fen(),
            cash_fen: r.amounts.cash.fen(),
            attention: e.attention.clone(),
        };
        let sent = his.send(&notice).await;
        ExchangeLog::of(&self.ledger, &r.org_code, &r.med_org_ord)
            .record("his", "refund notice", &notice, sent.as_ref().map(|()| &"delivered"))
            .await;
        sent.map_err(|err| std::io::Error::other(err.to_string()))?;
        Ok(Some(notice.notice_id))
    }

    /// REQ 6.2 step 5 / X-8a: the self-pay refund at the bank, keyed by our serial.
    #[activity]
    pub async fn refund_cash(
        self: Arc<Self>,
        _ctx: ActivityContext,
        s: RefundStep,
    ) -> Result<BankRefundSerial, ActivityError> {
        let h = self.hospital(&s.input.org_code)?;
        let req = self_pay_refund(&h.params.bank.mer_id, &s.plan.out_trade_no, &s.plan.bank_serial, &s.input);
        let resp = h
            .bank
            .call_logged::<_, SelfPayRefundResponse>(
                &ExchangeLog::of(&self.ledger, &s.input.org_code, &s.input.med_org_ord),
                BankOp::SelfPayRefund,
                &format!("rf-{}", s.plan.bank_serial),
                &req,
            )
            .await;
        let resp = resp.map_err(fail)?;
        match resp.refund_status.as_deref() {
            Some("0") => {}
            Some("1") => return Err(bad(format!("the bank refused self-pay refund {}", s.plan.bank_serial))),
            // Processing or unknown: ask again (the serial makes it a replay).
            other => {
                return Err(std::io::Error::other(format!(
                    "bank refund {} still processing ({other:?})",
                    s.plan.bank_serial
                ))
                .into());
            }
        }
        if resp.real_reject_amt != s.input.amounts.cash {
            return Err(bad(format!(
                "integrity alarm: the bank refunded {} fen for refund {}, not {}",
                resp.real_reject_amt.fen(),
                s.input.refund_no,
                s.input.amounts.cash.fen()
            )));
        }
        let intrx = resp.intrx_serial_no.ok_or_else(|| bad("the bank returned no intrx_serial_no".into()))?;
        record(&self.ledger, &s.input, RefundMove::CashRefunded { bank_serial: intrx.clone() }).await?;
        Ok(intrx)
    }

    /// REQ 6.2 step 6: the refund result to the channel through the bank (the cash part with
    /// the same bank serial as its refund).
    #[activity]
    pub async fn notify(self: Arc<Self>, _ctx: ActivityContext, s: RefundStep) -> Result<(), ActivityError> {
        let h = self.hospital(&s.input.org_code)?;
        let notice = RefundNotice {
            hospital_id: &h.params.bank.hospital_id,
            sub_mchid: &h.params.bank.sub_mchid,
            mix_trade_no: &s.plan.mix_trade_no,
            bank_refund_serial: s.bank_refund_serial.clone(),
            refund_no: &s.input.refund_no,
            amounts: s.input.amounts,
            at_ms: now_ms(),
        };
        let req =
            RefundNotifyRequest::try_from(notice).map_err(|e| bad(format!("refund {}: {e}", s.input.refund_no)))?;
        let resp = h
            .bank
            .call_logged::<_, RefundNotifyResponse>(
                &ExchangeLog::of(&self.ledger, &s.input.org_code, &s.input.med_org_ord),
                BankOp::RefundNotify,
                &format!("rn-{}", s.plan.bank_serial),
                &req,
            )
            .await;
        resp.map_err(fail)?;
        record(&self.ledger, &s.input, RefundMove::Notified).await
    }

    /// Records a state the workflow decided (NeedsAttention, SettledOffline, Abandoned, ...).
    #[activity]
    pub async fn record_refund(self: Arc<Self>, _ctx: ActivityContext, r: RefundRecord) -> Result<(), ActivityError> {
        self.ledger.advance_refund(&r.org_code, &r.refund_no, r.step, now_ms()).await.map_err(ledger_err)?;
        Ok(())
    }
}

async fn record(ledger: &Ledger, r: &RefundInput, step: RefundMove) -> Result<(), ActivityError> {
    ledger.advance_refund(&r.org_code, &r.refund_no, step, now_ms()).await.map_err(ledger_err)?;
    Ok(())
}
