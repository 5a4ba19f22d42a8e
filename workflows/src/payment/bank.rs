//! The payment's wait for the bank (REQ Q-9): the callback, then a query every round; with no
//! result the payment is `PendingReconciliation` and listens for a late callback or the day's
//! reconciliation. The bank's callback or query is the truth (SR-7b); nothing is guessed.

use super::PaymentWorkflow;
use crate::options;
use medpay_activities::payment::{Ordered, PaymentActivities};
use medpay_schemas::failure::{FailureCode, PaymentFailure};
use medpay_schemas::payment::PaymentState;
use medpay_schemas::payment_flow::{PaymentRequest, PaymentTimings, ReconciliationVerdict, SettledBy, VerdictSource};
use medpay_schemas::wire::bank::MixedOrderState;
use std::time::Duration;
use temporalio_sdk::{WorkflowContext, WorkflowResult};

/// What the bank phase learnt.
pub(crate) enum BankVerdict {
    /// A final status, and which source gave it.
    Final(Box<MixedOrderState>, SettledBy),
    /// Neither the callback nor the queries gave one in time.
    Pending,
}

/// How a pending payment's wait ended.
pub(crate) enum PendingEnd {
    /// The bank's callback came after all.
    LateCallback(Box<MixedOrderState>),
    /// The day's reconciliation decided.
    Reconciled(ReconciliationVerdict),
    /// Nothing came within `late_callback_secs`: the payment stays `PendingReconciliation` for
    /// an operator and a later reconciliation to settle in the ledger.
    GaveUp,
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

impl PaymentWorkflow {
    /// REQ Q-9: the callback for `callback_wait`, then a query every `query_every` for up to
    /// `query_for`.
    pub(crate) async fn bank_phase(
        ctx: &mut WorkflowContext<Self>,
        ordered: &Ordered,
        t: &PaymentTimings,
    ) -> BankVerdict {
        if let Some(st) = Self::callback_within(ctx, t.callback_wait_secs).await {
            return BankVerdict::Final(Box::new(st), SettledBy::Callback);
        }
        let mut waited = 0;
        while waited < t.query_for_secs {
            let answer = ctx
                .execute_activity(
                    PaymentActivities::query_bank,
                    ordered.clone(),
                    options::query_round(t.query_every_secs),
                )
                .await;
            if let Ok(Some(st)) = answer {
                return BankVerdict::Final(Box::new(st), SettledBy::Query);
            }
            if let Some(st) = Self::callback_within(ctx, t.query_every_secs).await {
                return BankVerdict::Final(Box::new(st), SettledBy::Callback);
            }
            waited += t.query_every_secs;
        }
        BankVerdict::Pending
    }

    /// The verified callback, if one arrives within `wait_secs`.
    async fn callback_within(ctx: &mut WorkflowContext<Self>, wait_secs: u64) -> Option<MixedOrderState> {
        temporalio_sdk::workflows::select! {
            _ = ctx.wait_condition(|w: &Self| w.callback.is_some()) => ctx.state(|w| w.callback.clone()),
            _ = ctx.timer(secs(wait_secs)) => None,
        }
    }

    /// Records `PendingReconciliation` (the reason says what settles it).
    pub(crate) async fn mark_pending(
        ctx: &mut WorkflowContext<Self>,
        request: &PaymentRequest,
        t: &PaymentTimings,
    ) -> WorkflowResult<()> {
        let pending = PaymentFailure::new(
            FailureCode::AwaitingBankResult,
            format!(
                "no bank result within {} s: settled by a late callback or reconciliation (REQ Q-9)",
                t.callback_wait_secs + t.query_for_secs
            ),
        );
        Self::record(ctx, request, PaymentState::PendingReconciliation, None, Some(pending.encode())).await?;
        Self::failed(ctx, &pending);
        Self::set(ctx, PaymentState::PendingReconciliation);
        Ok(())
    }

    /// A pending payment waits for a late callback or reconciliation's verdict, up to
    /// `late_callback_secs`. A pure-insurance payment is never on the bank's statement: when
    /// the day's reconciliation asks (`check_insurance`), the platform's status of the order
    /// (6301) decides, or the wait goes on.
    pub(crate) async fn pending_phase(
        ctx: &mut WorkflowContext<Self>,
        ordered: &Ordered,
        t: &PaymentTimings,
    ) -> PendingEnd {
        let mut late = Self::late_news_within(ctx, t.late_callback_secs).await;
        while late.is_none()
            && ctx.state(|w| w.reconciled.is_none())
            && let Some(run) = ctx.state_mut(|w| w.insurance_check.take())
        {
            let opts = options::query_round(t.query_every_secs);
            match ctx.execute_activity(PaymentActivities::query_insurance, ordered.clone(), opts).await {
                Ok(Some(paid)) => ctx.state_mut(|w| {
                    w.reconciled = Some(ReconciliationVerdict { paid, run, source: VerdictSource::Platform })
                }),
                _ => late = Self::late_news_within(ctx, t.late_callback_secs).await,
            }
        }
        if let Some(st) = late {
            return PendingEnd::LateCallback(Box::new(st));
        }
        match ctx.state(|w| w.reconciled.clone()) {
            Some(verdict) => PendingEnd::Reconciled(verdict),
            None => PendingEnd::GaveUp,
        }
    }

    /// Waits for any news on a pending payment; returns the late callback if that was it.
    async fn late_news_within(ctx: &mut WorkflowContext<Self>, wait_secs: u64) -> Option<MixedOrderState> {
        temporalio_sdk::workflows::select! {
            _ = ctx.wait_condition(|w: &Self| w.callback.is_some() || w.reconciled.is_some() || w.insurance_check.is_some()) => ctx.state(|w| w.callback.clone()),
            _ = ctx.timer(secs(wait_secs)) => None,
        }
    }

    /// REQ Q-9: the end-of-day reconciliation settles a pending payment: Paid (the reason is a
    /// note, not a failure: the API shows no `failure` for a paid payment) or Failed.
    pub(crate) async fn settle_by_reconciliation(
        ctx: &mut WorkflowContext<Self>,
        request: &PaymentRequest,
        verdict: &ReconciliationVerdict,
    ) -> WorkflowResult<()> {
        let message = verdict.message();
        let state = if verdict.paid { PaymentState::Paid } else { PaymentState::Failed };
        if verdict.paid {
            Self::record(ctx, request, state, None, Some(message.clone())).await?;
            ctx.state_mut(|w| {
                w.view.failure = Some(message);
                w.failure = None;
            });
        } else {
            let f = PaymentFailure::new(FailureCode::NotPaidPerStatement, message);
            Self::record(ctx, request, state, None, Some(f.encode())).await?;
            Self::failed(ctx, &f);
        }
        ctx.state_mut(|w| w.view.settled_by = Some(SettledBy::Reconciliation));
        Self::set(ctx, state);
        Ok(())
    }
}
