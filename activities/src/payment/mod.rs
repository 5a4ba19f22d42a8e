//! The payment's activities (REQ 6.1 steps 4-12): each calls one party through its adapter,
//! records the step in the ledger, and maps the party's errors for Temporal: refusals are
//! non-retryable, everything else is retried. Every create is keyed by the HIS order no.
//! (6201 `medOrgOrd`, bank `out_trade_no` derived from it), so a retried activity replays the
//! same order instead of creating a second one; the sandbox and the parties answer a replay
//! with the original order.

use crate::bank::transformers::mixed_order_query;
use crate::exchange_log::ExchangeLog;
use crate::failure::{bad, fail};
use crate::http::now_ms;
use crate::ledger::{Ledger, PaymentMove};
use crate::mid_platform::transformers::{FeeUpload, UploadedOrder};
use crate::parties::{HospitalParties, Parties};
use medpay_schemas::payment::PaymentState;
use medpay_schemas::payment_flow::*;
use medpay_schemas::time::BeijingDate;
use medpay_schemas::wire::bank::*;
use medpay_schemas::wire::mid_platform::*;
use medpay_schemas::*;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

mod notices;
mod orders;
mod progress;
pub use notices::{HisEventNotification, PaymentNotification, PaymentRevocation};
pub use progress::{BillUploaded, Identified, Ordered, PreSettled, Started};

#[derive(Clone)]
pub struct PaymentActivities {
    pub parties: Arc<Parties>,
    pub ledger: Ledger,
    /// The HIS's notification endpoint, when configured.
    pub his: Option<Arc<crate::his::HisNotifier>>,
    /// Seals authCode exchanges shared through the ledger with peer instances
    /// (`pay_auth_cache`); without it they stay in this process.
    pub sealer: Option<Arc<dyn crate::pay_auth_cache::ExchangeSealer>>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Outcome {
    pub org_code: OrgCode,
    pub med_org_ord: MedOrgOrd,
    pub state: PaymentState,
    pub bank: Option<MixedOrderState>,
    pub reason: Option<String>,
}

impl PaymentActivities {
    fn hospital(&self, org: &str) -> Result<&HospitalParties, ActivityError> {
        self.parties.hospitals.get(org).ok_or_else(|| bad(format!("hospital {org} is not configured")))
    }

    /// Records a step's own state (Authorised .. Ordered). A step run again after its state was
    /// recorded and the payment moved on finds the ledger ahead of it: that is this step done
    /// before, not a refusal. It happens when the workflow task that ran the step locally
    /// (`workflows/src/quick.rs`) never completed (its worker killed, or the task timed out
    /// behind a slow party) and the next task runs the steps again; before, the payment failed
    /// for a passing fault (found by `medpay-tools soak`: "cannot move from PreSettled to
    /// Uploaded"). A terminal state is still a refusal.
    async fn record(&self, r: &PaymentRequest, step: PaymentMove) -> Result<(), ActivityError> {
        let to = step.state();
        match self.ledger.advance(&r.org_code, &r.med_org_ord, step, now_ms()).await {
            Err(crate::ledger::LedgerError::IllegalTransition { from, .. }) if already_past(from, to) => {
                let trace_id = crate::trace::PaymentTrace::of(&r.org_code, &r.med_org_ord).trace_id_hex();
                tracing::info!(org_code = %r.org_code, %trace_id, "step {} run again after the payment reached {from}: already recorded", to.as_str());
                Ok(())
            }
            other => self.refused_or_retried(&r.org_code, other.map(drop)),
        }
    }

    /// A refused transition is final (non-retryable); anything else (a busy or unreachable
    /// database) is retried.
    fn refused_or_retried(&self, org: &str, done: Result<(), crate::ledger::LedgerError>) -> Result<(), ActivityError> {
        done.map_err(|e| match e {
            crate::ledger::LedgerError::IllegalTransition { .. } | crate::ledger::LedgerError::BadSplit(_) => {
                bad(e.to_string())
            }
            crate::ledger::LedgerError::DuplicateBankOrder { ref org_code, ref med_org_ord, .. } => {
                crate::exchange_log::DUPLICATE_BANK_ORDERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let trace_id = crate::trace::PaymentTrace::of(org_code, med_org_ord).trace_id_hex();
                tracing::error!(org_code = org, %trace_id, "{e}");
                bad(e.to_string())
            }
            other => std::io::Error::other(other.to_string()).into(),
        })
    }
}

fn since(at_ms: i64) -> std::time::Duration {
    std::time::Duration::from_millis(u64::try_from(now_ms() - at_ms).unwrap_or(0))
}

/// Whether a step's state `to` was recorded before and the payment has moved on since (the
/// ledger is at `from`, further along and not ended).
fn already_past(from: PaymentState, to: PaymentState) -> bool {
    !from.is_terminal() && from > to
}

#[activities]
impl PaymentActivities {
    /// Steps 4-5: authCode -> payAuthNo at the channel, sign-in and person info at the core.
    #[activity]
    pub async fn identify(self: Arc<Self>, _ctx: ActivityContext, s: Started) -> Result<Identity, ActivityError> {
        let h = self.hospital(&s.request.org_code)?;
        let r = &s.request;
        // A retry of this activity reuses the exchange made by an earlier attempt (single-use code).
        let exchange = crate::pay_auth_cache::key(&r.org_code, &r.med_org_ord, r.auth_code.expose());
        let sealer = self.sealer.as_deref();
        let auth = match crate::pay_auth_cache::recall_shared(&self.ledger, sealer, &exchange).await {
            Some(a) => a,
            None => {
                let auth = h.authorise(r.channel, &r.auth_code, &r.openid, &r.med_org_ord).await;
                // Kept before anything else: until then a killed worker loses the exchange.
                if let Ok(a) = &auth {
                    crate::pay_auth_cache::remember_shared(&self.ledger, sealer, exchange.clone(), a, now_ms()).await;
                }
                ExchangeLog::of(&self.ledger, &r.org_code, &r.med_org_ord)
                    .record(
                        "channel",
                        if r.channel.is_wechat() { "userQuery" } else { "alipay auth query" },
                        &r.auth_code,
                        auth.as_ref().map(|_| &"payAuthNo issued"),
                    )
                    .await;
                auth.map_err(fail)?
            }
        };
        let info = h.core.person_info_signed(&auth.pay_auth_no).await;
        ExchangeLog::of(&self.ledger, &r.org_code, &r.med_org_ord)
            .record("core", "person info", &auth.pay_auth_no, info.as_ref().map(|_| &"person found"))
            .await;
        let info = info.map_err(fail)?;
        let ins = info.active_insurance(None).ok_or_else(|| bad("the person has no active insurance".into()))?.clone();
        self.record(&s.request, PaymentMove::Authorised).await?;
        Ok(Identity {
            pay_auth_no: auth.pay_auth_no,
            psn_no: info.baseinfo.psn_no,
            insutype: ins.insutype,
            insu_code: ins.insuplc_admdvs,
            id_no: info.baseinfo.certno,
            name: info.baseinfo.psn_name,
            for_relative: auth.for_relative,
        })
    }

    /// Step 6: fee details (6201), idempotent on medOrgOrd.
    #[activity]
    pub async fn upload(self: Arc<Self>, _ctx: ActivityContext, s: Identified) -> Result<Uploaded, ActivityError> {
        let h = self.hospital(&s.request.org_code)?;
        let r = &s.request;
        let upload = FeeUpload { request: r, identity: &s.identity, created_at_ms: s.created_at_ms };
        let req =
            UploadFeeDetailsRequest::try_from(upload).map_err(|e| bad(format!("6201 for {}: {e}", r.med_org_ord)))?;
        let resp = h
            .mid
            .call_logged::<_, UploadFeeDetailsResponse>(
                &ExchangeLog::of(&self.ledger, &r.org_code, &r.med_org_ord),
                MidPlatformOp::UploadFeeDetails,
                &req,
            )
            .await;
        let resp = resp.map_err(fail)?;
        self.record(r, PaymentMove::Uploaded { pay_ord_id: resp.pay_ord_id.clone() }).await?;
        Ok(Uploaded { pay_ord_id: resp.pay_ord_id, pay_token: resp.pay_token })
    }

    /// Step 7: pre-settlement (6202). The split must add up and match the bill's total.
    #[activity]
    pub async fn pre_settle(
        self: Arc<Self>,
        _ctx: ActivityContext,
        s: BillUploaded,
    ) -> Result<SettlementSplit, ActivityError> {
        let h = self.hospital(&s.request.org_code)?;
        let r = &s.request;
        let order = UploadedOrder { request: r, identity: &s.identity, uploaded: &s.uploaded };
        let req = PayOrderRequest::try_from(order).map_err(|e| bad(format!("6202 for {}: {e}", r.med_org_ord)))?;
        let resp = h
            .mid
            .call_logged::<_, PayOrderResponse>(
                &ExchangeLog::of(&self.ledger, &r.org_code, &r.med_org_ord),
                MidPlatformOp::PayOrder,
                &req,
            )
            .await;
        let resp = resp.map_err(fail)?;
        // Integrity: an inconsistent split or one for another total is an alarm, never a result.
        resp.split.check().map_err(|e| bad(format!("integrity alarm: 6202 {e}")))?;
        if Ok(resp.split.fee_sumamt) != r.total() {
            return Err(bad(format!(
                "integrity alarm: 6202 feeSumamt {} differs from the bill",
                resp.split.fee_sumamt
            )));
        }
        self.record(r, PaymentMove::PreSettled { split: resp.split, ord_stas: resp.ord_stas }).await?;
        crate::metrics::observe(crate::metrics::PRE_SETTLED_SECONDS, &[("org", &r.org_code)], since(s.created_at_ms));
        Ok(resp.split)
    }

    /// Steps 8-9: the self-pay order (only with a self-pay part) and the mixed order.
    #[activity]
    pub async fn place_orders(self: Arc<Self>, _ctx: ActivityContext, s: PreSettled) -> Result<Cashier, ActivityError> {
        self.orders(s).await
    }

    /// The day's close of a pending pure-insurance payment: the platform's status of the order (6301). `Some(true)` settled (with the split
    /// pre-settled: another split is an integrity alarm and decides nothing), `Some(false)` not
    /// paid — still unpaid a day on, failed, refunded or cancelled —, `None` when the platform's
    /// answer is not one to act on.
    #[activity]
    pub async fn query_insurance(
        self: Arc<Self>,
        _ctx: ActivityContext,
        s: Ordered,
    ) -> Result<Option<bool>, ActivityError> {
        use medpay_schemas::status::OrdStasClass;
        let h = self.hospital(&s.request.org_code)?;
        let r = &s.request;
        let req = QueryOrderRequest::from(UploadedOrder { request: r, identity: &s.identity, uploaded: &s.uploaded });
        let resp = h
            .mid
            .call_logged::<_, QueryOrderResponse>(
                &ExchangeLog::of(&self.ledger, &r.org_code, &r.med_org_ord),
                MidPlatformOp::QueryOrder,
                &req,
            )
            .await;
        let resp = resp.map_err(fail)?;
        Ok(match resp.ord_stas.class() {
            // Refunding (17) means it was paid once: not a day's close to make.
            _ if resp.ord_stas == medpay_schemas::status::OrdStas::Refunding => None,
            OrdStasClass::Settled => match resp.split {
                Some(theirs) if theirs != s.split => {
                    crate::exchange_log::INTEGRITY_REFUSALS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::error!(payment = %format!("{}/{}", r.org_code, r.med_org_ord), "integrity alarm: 6301 reports another split than the pre-settlement; not acted on");
                    None
                }
                _ => Some(true),
            },
            OrdStasClass::Processing | OrdStasClass::Failed | OrdStasClass::RefundedOrCancelled => Some(false),
            OrdStasClass::Unknown => None,
        })
    }

    /// Step 12: the compensating query (REQ Q-9). `None` while the bank has no final result.
    #[activity]
    pub async fn query_bank(
        self: Arc<Self>,
        _ctx: ActivityContext,
        s: Ordered,
    ) -> Result<Option<MixedOrderState>, ActivityError> {
        let h = self.hospital(&s.request.org_code)?;
        let c = &s.cashier;
        let b = &h.params.bank;
        let req = mixed_order_query(&b.hospital_id, &b.sub_mchid, &c.mix_trade_no, BeijingDate::of(s.created_at_ms));
        let resp = h
            .bank
            .call_logged::<_, MixedOrderQueryResponse>(
                &ExchangeLog::of(&self.ledger, &s.request.org_code, &s.request.med_org_ord),
                BankOp::MixedOrderQuery,
                &format!("q-{}-{}", c.mix_trade_no, now_ms()),
                &req,
            )
            .await;
        let found = match &resp {
            Ok(r) if r.state.as_ref().is_some_and(|st| st.mix_pay_status.is_final()) => "final",
            Ok(_) => "none",
            Err(_) => "failed",
        };
        crate::metrics::inc(crate::metrics::BANK_QUERIES, &[("org", &s.request.org_code), ("found", found)]);
        let resp = resp.map_err(fail)?;
        Ok(resp.state.filter(|st| st.mix_pay_status.is_final()))
    }

    /// Records the outcome in the ledger (Paid, Failed, PendingReconciliation, Cancelled).
    #[activity]
    pub async fn record_outcome(self: Arc<Self>, _ctx: ActivityContext, o: Outcome) -> Result<(), ActivityError> {
        let step = PaymentMove::outcome(o.state, o.bank.as_ref(), o.reason.clone(), now_ms())
            .ok_or_else(|| bad(format!("{} is not an outcome of payment {}/{}", o.state, o.org_code, o.med_org_ord)))?;
        let at = std::time::SystemTime::now();
        // Counted once per payment: a retried or replayed outcome finds it recorded already.
        // An integrity alarm (REQ SR-7a/b) is counted for the alert, once per payment.
        let alarm = o.reason.as_deref().is_some_and(|r| {
            medpay_schemas::failure::PaymentFailure::decode(r).code
                == medpay_schemas::failure::FailureCode::IntegrityAlarm
        });
        let before = if o.state.is_terminal() || alarm {
            self.ledger.get(&o.org_code, &o.med_org_ord).await.ok().flatten().map(|p| p.state)
        } else {
            None
        };
        let row = match self.ledger.advance(&o.org_code, &o.med_org_ord, step, now_ms()).await {
            Ok(row) => row,
            Err(e) => return self.refused_or_retried(&o.org_code, Err(e)),
        };
        let attributes =
            || vec![("medpay.org_code", o.org_code.to_string()), ("medpay.state", o.state.as_str().into())];
        crate::trace::record(
            crate::trace::PaymentTrace::of(&o.org_code, &o.med_org_ord),
            &format!("outcome {}", o.state.as_str()),
            at,
            std::time::SystemTime::now(),
            attributes,
            false,
        );
        if alarm && before != Some(o.state) {
            crate::exchange_log::INTEGRITY_REFUSALS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        if o.state.is_terminal() && before != Some(o.state) {
            crate::metrics::inc(crate::metrics::PAYMENTS_ENDED, &[("org", &o.org_code), ("state", o.state.as_str())]);
            if o.state == PaymentState::Paid {
                crate::metrics::observe(
                    crate::metrics::PAID_SECONDS,
                    &[("org", &o.org_code)],
                    since(row.created_at_ms),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_run_again_after_the_payment_moved_on_is_done_but_an_ended_payment_refuses() {
        use PaymentState::*;
        // A lost workflow task runs identify/upload again while the ledger is further along.
        assert!(already_past(PreSettled, Uploaded));
        assert!(already_past(Ordered, Authorised));
        assert!(already_past(PendingReconciliation, Ordered));
        // The same state is the ledger's own idempotent case; an earlier one is a real move.
        assert!(!already_past(Uploaded, Uploaded));
        assert!(!already_past(Authorised, Uploaded));
        // An ended payment is never "already past": recording a step there stays a refusal.
        for ended in [Paid, Failed, Cancelled] {
            assert!(!already_past(ended, Ordered), "{ended}");
        }
    }
}
