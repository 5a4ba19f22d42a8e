//! The payment workflow (REQ 6.1 steps 4-13, Q-9, SR-7a/b, X-8a): identify, upload,
//! pre-settle, wait for the patient's confirmation, order at the bank, then wait for the
//! bank's callback, query at intervals, and with no result mark the payment
//! `PendingReconciliation` and keep listening for a late callback. The bank's callback or query
//! is the truth (SR-7b); an unknown outcome is never guessed. Self-pay collected but insurance
//! failed starts the anomaly refund at once, as a child workflow (X-8a). Since flow 3 the quick
//! steps (identify, upload, pre-settle, order, record) run local first (`crate::quick`).

use crate::refund::RefundWorkflow;
use crate::search;
use medpay_activities::payment::{Outcome, PaymentActivities, PaymentNotification, PaymentRevocation, StepInput};
use medpay_schemas::failure::{FailedStep, FailureCode, PaymentFailure};
use medpay_schemas::payment::PaymentState;
use medpay_schemas::payment_flow::{AnomalyRefundView, PaymentInput, PaymentTimings, PaymentView};
use medpay_schemas::refund::{RefundAmounts, RefundInput, RefundKind};
use medpay_schemas::status::{MedInsPayStatus, MixPayStatus, SelfPayStatus};
use medpay_schemas::wire::bank::MixedOrderState;
use std::time::Duration;
use temporalio_common::data_converters::TemporalDeserializable;
use temporalio_common::{ActivityDefinition, RetryPolicy};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityExecutionError, ActivityOptions, ChildWorkflowOptions, SyncWorkflowContext, WorkflowContext,
    WorkflowContextView, WorkflowResult,
};

/// How long the anomaly refund may keep failing before it needs an operator.
pub const ANOMALY_REFUND_ATTENTION: Duration = Duration::from_secs(10 * 60);

/// Marks a reconciliation verdict that came from the platform's order status (6301).
const BY_PLATFORM: &str = "by the platform's order status (6301)";

#[workflow]
#[derive(Default)]
pub struct PaymentWorkflow {
    view: PaymentView,
    confirmed: Option<bool>,
    callback: Option<MixedOrderState>,
    /// Reconciliation's verdict on a pending payment: paid or not, and by which run.
    reconciled: Option<(bool, String)>,
    /// The day's reconciliation asks a pending pure-insurance payment to ask the platform
    /// (6301), naming its run.
    insurance_check: Option<String>,
    /// Which payment states are upserted as `MedpayPaymentState`; each upsert is a history event
    /// and a visibility write on the server.
    search: SearchMode,
    /// The flow version from the input (`PaymentInput::flow`).
    flow: u32,
    /// Why the payment did not end Paid (its message is also the view's `failure`).
    failure: Option<PaymentFailure>,
}

/// Flow 0 before the "lean-search-v1" patch upserts every state; since the patch the identity
/// comes with the start request (set by the API) and only the states a payment rests in are
/// upserted; flow 2 upserts only the states an operator acts on: `PendingReconciliation` and
/// the end (a running payment's live step is in the ledger and the view).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum SearchMode {
    #[default]
    Every,
    Resting,
    Actionable,
}

fn options() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(30))
        .retry_policy(
            RetryPolicy::builder()
                .initial_interval(Duration::from_secs(1))
                .backoff_coefficient(2.0)
                .maximum_interval(Duration::from_secs(10))
                .build(),
        )
        .build()
}

/// One query attempt per round, bounded by the round: a bank that does not answer is "no
/// result yet" (the next round asks again), never a stuck payment (REQ Q-9).
fn query_options(t: &PaymentTimings) -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(secs(t.query_every_secs.clamp(1, 10)))
        .retry_policy(RetryPolicy::builder().maximum_attempts(1).build())
        .build()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// REQ SR-7b: what in the bank's result contradicts the order placed (its numbers, each amount
/// component), in words; `None` when nothing does.
fn contradiction(st: &MixedOrderState, step: &StepInput) -> Option<String> {
    let mut wrong = Vec::new();
    let mut differs = |what: &str, got: &str, ordered: &str| {
        if got != ordered {
            wrong.push(format!("{what} {got} (ordered {ordered})"));
        }
    };
    differs("serial_no", st.serial_no.as_str(), &step.request.med_org_ord);
    if let Some(c) = &step.cashier {
        differs("mix_trade_no", st.mix_trade_no.as_str(), &c.mix_trade_no);
        differs("out_trade_no", st.out_trade_no.as_str(), &c.out_trade_no);
    }
    if let Some(split) = &step.split {
        let fen = |m: medpay_schemas::Money| m.fen().to_string();
        differs("total_fee", &fen(st.total_fee), &fen(split.fee_sumamt));
        differs("wechat_pay_cash_fee", &fen(st.wechat_pay_cash_fee), &fen(split.own_pay_amt));
        differs("med_ins_gov_fee", &fen(st.med_ins_gov_fee), &fen(split.fund_pay));
        differs("med_ins_self_fee", &fen(st.med_ins_self_fee), &fen(split.psn_acct_pay));
        differs("med_ins_other_fee", &fen(st.med_ins_other_fee), "0");
    }
    (!wrong.is_empty()).then(|| wrong.join("; "))
}

/// What the bank's final status means for the payment. A success that contradicts the order is
/// never `Paid` (REQ SR-7b): an integrity alarm, left to an operator and the reconciliation.
fn outcome_of(st: &MixedOrderState, step: &StepInput) -> (PaymentState, Option<PaymentFailure>) {
    match (&st.mix_pay_status, &st.self_pay_status, &st.med_ins_pay_status) {
        (MixPayStatus::Success, _, _) => match contradiction(st, step) {
            None => (PaymentState::Paid, None),
            Some(what) => (
                PaymentState::PendingReconciliation,
                Some(PaymentFailure::new(
                    FailureCode::IntegrityAlarm,
                    format!(
                        "integrity alarm: the bank reports success for other figures than ordered (REQ SR-7b): {what}"
                    ),
                )),
            ),
        },
        (_, SelfPayStatus::Success, MedInsPayStatus::Fail) => (
            PaymentState::Failed,
            Some(PaymentFailure::new(
                FailureCode::InsuranceFailedAfterSelfPay,
                "insurance failed after self-pay: the self-pay part is refunded (REQ X-8a)",
            )),
        ),
        (_, SelfPayStatus::Fail, MedInsPayStatus::Success) => (
            PaymentState::PendingReconciliation,
            Some(PaymentFailure::new(
                FailureCode::IntegrityAlarm,
                "integrity alarm: self-pay failed but insurance succeeded (REQ SR-7a)",
            )),
        ),
        (status, _, _) => (
            PaymentState::Failed,
            Some(PaymentFailure {
                party: Some("bank".into()),
                party_code: Some(status.to_string()),
                ..PaymentFailure::new(FailureCode::BankPaymentFailed, format!("bank status {status}"))
            }),
        ),
    }
}

#[workflow_methods]
impl PaymentWorkflow {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: PaymentInput) -> WorkflowResult<PaymentView> {
        let PaymentInput { request, timings, flow, created_at_ms } = input;
        // Flow 2 needs no patch: the version is in the input, so in the history.
        let mode = match flow {
            2.. => SearchMode::Actionable,
            _ if ctx.patched("lean-search-v1") => SearchMode::Resting,
            _ => SearchMode::Every,
        };
        ctx.state_mut(|w| {
            w.search = mode;
            w.flow = flow;
        });
        if mode == SearchMode::Every {
            ctx.upsert_search_attributes(search::identity(&request.org_code, &request.med_org_ord));
        }
        let mut step = StepInput {
            request: request.clone(),
            created_at_ms,
            identity: None,
            uploaded: None,
            split: None,
            cashier: None,
        };
        Self::set(ctx, PaymentState::Created);

        // Steps 4-7. A refusal here ends the payment as Failed (nothing was ordered, no money
        // can move); the upload is revoked when there was one.
        let failed_at = |at: FailedStep| move |e: ActivityExecutionError| PaymentFailure::at_step(at, &crate::why(&e));
        let before_order: Result<(), PaymentFailure> = async {
            step.identity = Some(
                Self::quick(ctx, || PaymentActivities::identify, step.clone())
                    .await
                    .map_err(failed_at(FailedStep::Identification))?,
            );
            Self::set(ctx, PaymentState::Authorised);
            step.uploaded = Some(
                Self::quick(ctx, || PaymentActivities::upload, step.clone())
                    .await
                    .map_err(failed_at(FailedStep::Upload))?,
            );
            Self::set(ctx, PaymentState::Uploaded);
            let split = Self::quick(ctx, || PaymentActivities::pre_settle, step.clone())
                .await
                .map_err(failed_at(FailedStep::PreSettlement))?;
            step.split = Some(split);
            ctx.state_mut(|w| w.view.split = Some(split));
            Self::set(ctx, PaymentState::PreSettled);
            Ok(())
        }
        .await;
        if let Err(reason) = before_order {
            return Self::close_before_order(ctx, &step, PaymentState::Failed, reason).await;
        }

        let confirmed = temporalio_sdk::workflows::select! {
            _ = ctx.wait_condition(|w: &Self| w.confirmed.is_some()) => ctx.state(|w| w.confirmed == Some(true)),
            _ = ctx.timer(secs(timings.confirm_deadline_secs)) => false,
        };
        if !confirmed {
            let failure = match ctx.state(|w| w.confirmed) {
                Some(false) => PaymentFailure::new(
                    FailureCode::Declined,
                    "declined by the patient (or cancelled by the HIS); upload revoked (6401)",
                ),
                _ => PaymentFailure::new(
                    FailureCode::NotConfirmedInTime,
                    format!("not confirmed within {} s; upload revoked (6401)", timings.confirm_deadline_secs),
                ),
            };
            return Self::close_before_order(ctx, &step, PaymentState::Cancelled, failure).await;
        }
        Self::set(ctx, PaymentState::Confirmed);
        let cashier = match Self::quick(ctx, || PaymentActivities::place_orders, step.clone()).await {
            Ok(c) => c,
            Err(e) => {
                return Self::close_before_order(ctx, &step, PaymentState::Failed, failed_at(FailedStep::BankOrder)(e))
                    .await;
            }
        };
        step.cashier = Some(cashier.clone());
        ctx.state_mut(|w| w.view.cashier = Some(cashier));
        Self::set(ctx, PaymentState::Ordered);

        let Some(bank) = Self::await_bank(ctx, &step, &timings).await? else {
            Self::notify_his(ctx, &step).await;
            return Ok(ctx.state(|w| w.view.clone()));
        };
        let (state, failure) = outcome_of(&bank, &step);
        // The view first: once the ledger says Paid, the view already carries the bank's status.
        ctx.state_mut(|w| w.view.bank = Some(bank.clone()));
        match &failure {
            Some(f) => Self::failed(ctx, f),
            // Paid after being pending: the pending reason is no failure any more.
            None => ctx.state_mut(|w| w.failure = None),
        }
        Self::record(ctx, &step, state, Some(bank.clone()), failure.map(|f| f.encode())).await?;
        Self::set(ctx, state);
        if bank.self_pay_status == SelfPayStatus::Success && bank.med_ins_pay_status == MedInsPayStatus::Fail {
            Self::anomaly_refund(ctx, &step).await?;
        }
        Self::notify_his(ctx, &step).await;
        Ok(ctx.state(|w| w.view.clone()))
    }

    /// Tells the HIS the outcome (when the payment ended; not while it is pending). Retried for
    /// a day; an HIS that stays down does not hold the payment open longer than that. Flow 0
    /// payments are guarded by a patch, so those started before this step existed replay
    /// unchanged.
    async fn notify_his(ctx: &mut WorkflowContext<Self>, step: &StepInput) {
        let Some(state) = ctx.state(|w| w.view.state).filter(|s| s.is_terminal()) else { return };
        if ctx.state(|w| w.flow) < 2 && !ctx.patched("his-notify-v1") {
            return;
        }
        let reason = ctx.state(|w| w.failure.as_ref().map(PaymentFailure::encode));
        let o = Outcome {
            org_code: step.request.org_code.clone(),
            med_org_ord: step.request.med_org_ord.clone(),
            state,
            bank: None,
            reason,
        };
        let opts =
            ActivityOptions::with_close_timeouts(temporalio_common::ActivityCloseTimeouts::ScheduleAndStartToClose {
                schedule_to_close: Duration::from_secs(24 * 3600),
                start_to_close: Duration::from_secs(30),
            })
            .retry_policy(
                RetryPolicy::builder()
                    .initial_interval(Duration::from_secs(1))
                    .backoff_coefficient(2.0)
                    .maximum_interval(Duration::from_secs(300))
                    .build(),
            )
            .build();
        let _ = ctx.execute_activity(PaymentNotification::notify_his, o, opts).await;
    }

    /// A quick step (`crate::quick`): local first on flow 3 and later, a regular activity before.
    async fn quick<AD>(
        ctx: &mut WorkflowContext<Self>,
        act: impl Fn() -> AD,
        input: AD::Input,
    ) -> Result<AD::Output, ActivityExecutionError>
    where
        AD: ActivityDefinition,
        AD::Input: Clone,
        AD::Output: TemporalDeserializable,
    {
        let local_first = ctx.state(|w| w.flow) >= 3;
        crate::quick::step(ctx, local_first, act, input, options()).await
    }

    /// Keeps why the payment did not end Paid: the failure for the ledger and the HIS, its
    /// message for the view.
    fn failed(ctx: &mut WorkflowContext<Self>, f: &PaymentFailure) {
        ctx.state_mut(|w| {
            w.view.failure = Some(f.message.clone());
            w.failure = Some(f.clone());
        });
    }

    fn set(ctx: &mut WorkflowContext<Self>, state: PaymentState) {
        ctx.state_mut(|w| w.view.state = Some(state));
        let searched = match ctx.state(|w| w.search) {
            SearchMode::Every => true,
            SearchMode::Resting => !matches!(
                state,
                PaymentState::Created | PaymentState::Authorised | PaymentState::Uploaded | PaymentState::Confirmed
            ),
            SearchMode::Actionable => state == PaymentState::PendingReconciliation || state.is_terminal(),
        };
        if searched {
            ctx.upsert_search_attributes([search::PAYMENT_STATE.value_set(state.as_str().to_string())]);
        }
    }

    async fn record(
        ctx: &mut WorkflowContext<Self>,
        step: &StepInput,
        state: PaymentState,
        bank: Option<MixedOrderState>,
        reason: Option<String>,
    ) -> WorkflowResult<()> {
        let o = Outcome {
            org_code: step.request.org_code.clone(),
            med_org_ord: step.request.med_org_ord.clone(),
            state,
            bank,
            reason,
        };
        Self::quick(ctx, || PaymentActivities::record_outcome, o).await?;
        Ok(())
    }

    /// Ends a payment that never reached the bank: revoke the upload (6401) if there was one,
    /// record the outcome and its reason.
    async fn close_before_order(
        ctx: &mut WorkflowContext<Self>,
        step: &StepInput,
        state: PaymentState,
        failure: PaymentFailure,
    ) -> WorkflowResult<PaymentView> {
        if step.uploaded.is_some() {
            ctx.execute_activity(PaymentRevocation::revoke, step.clone(), options()).await?;
        }
        Self::record(ctx, step, state, None, Some(failure.encode())).await?;
        Self::failed(ctx, &failure);
        Self::set(ctx, state);
        Self::notify_his(ctx, step).await;
        Ok(ctx.state(|w| w.view.clone()))
    }

    /// REQ Q-9: the callback for `callback_wait`, then a query every `query_every` for up to
    /// `query_for`; then `PendingReconciliation` and a bounded wait for a late callback.
    async fn await_bank(
        ctx: &mut WorkflowContext<Self>,
        step: &StepInput,
        t: &PaymentTimings,
    ) -> WorkflowResult<Option<MixedOrderState>> {
        // `settled_by` is the view's record of which source decided (no command: replay-safe).
        let mut result = temporalio_sdk::workflows::select! {
            _ = ctx.wait_condition(|w: &Self| w.callback.is_some()) => ctx.state(|w| w.callback.clone()),
            _ = ctx.timer(secs(t.callback_wait_secs)) => None,
        };
        let mut source = "callback";
        let mut waited = 0;
        while result.is_none() && waited < t.query_for_secs {
            result = ctx
                .execute_activity(PaymentActivities::query_bank, step.clone(), query_options(t))
                .await
                .unwrap_or(None);
            if result.is_some() {
                source = "query";
                break;
            }
            result = temporalio_sdk::workflows::select! {
                _ = ctx.wait_condition(|w: &Self| w.callback.is_some()) => ctx.state(|w| w.callback.clone()),
                _ = ctx.timer(secs(t.query_every_secs)) => None,
            };
            source = "callback";
            waited += t.query_every_secs;
        }
        if result.is_some() {
            ctx.state_mut(|w| w.view.settled_by = Some(source.into()));
            return Ok(result);
        }
        let pending = PaymentFailure::new(
            FailureCode::AwaitingBankResult,
            format!(
                "no bank result within {} s: settled by a late callback or reconciliation (REQ Q-9)",
                t.callback_wait_secs + t.query_for_secs
            ),
        );
        Self::record(ctx, step, PaymentState::PendingReconciliation, None, Some(pending.encode())).await?;
        Self::failed(ctx, &pending);
        Self::set(ctx, PaymentState::PendingReconciliation);
        let mut late = temporalio_sdk::workflows::select! {
            _ = ctx.wait_condition(|w: &Self| w.callback.is_some() || w.reconciled.is_some() || w.insurance_check.is_some()) => ctx.state(|w| w.callback.clone()),
            _ = ctx.timer(secs(t.late_callback_secs)) => None,
        };
        // A pure-insurance payment (never on the bank's statement): the day's reconciliation
        // asked; the platform's status of the order (6301) decides, or the wait goes on.
        // Reached only through the `check_insurance` signal, which no recorded history has.
        while late.is_none()
            && ctx.state(|w| w.reconciled.is_none())
            && let Some(run) = ctx.state_mut(|w| w.insurance_check.take())
        {
            match ctx.execute_activity(PaymentActivities::query_insurance, step.clone(), query_options(t)).await {
                Ok(Some(paid)) => ctx.state_mut(|w| w.reconciled = Some((paid, format!("{run} {BY_PLATFORM}")))),
                _ => {
                    late = temporalio_sdk::workflows::select! {
                        _ = ctx.wait_condition(|w: &Self| w.callback.is_some() || w.reconciled.is_some() || w.insurance_check.is_some()) => ctx.state(|w| w.callback.clone()),
                        _ = ctx.timer(secs(t.late_callback_secs)) => None,
                    };
                }
            }
        }
        if late.is_some() {
            ctx.state_mut(|w| w.view.settled_by = Some("late_callback".into()));
            return Ok(late);
        }
        // REQ Q-9: the end-of-day reconciliation settles it from the bank's statement.
        if let Some((paid, run)) = ctx.state(|w| w.reconciled.clone()) {
            let state = if paid { PaymentState::Paid } else { PaymentState::Failed };
            let message = match (run.ends_with(BY_PLATFORM), paid) {
                (false, true) => format!("settled by reconciliation {run}: the statement shows it paid"),
                (false, false) => format!("settled by reconciliation {run}: the statement does not show it"),
                (true, true) => format!("settled by reconciliation {run}: the platform settled it"),
                (true, false) => {
                    format!("settled by reconciliation {run}: the platform shows it unpaid, failed or cancelled")
                }
            };
            if paid {
                // A note, not a failure: the API shows no `failure` for a paid payment.
                Self::record(ctx, step, state, None, Some(message.clone())).await?;
                ctx.state_mut(|w| {
                    w.view.failure = Some(message);
                    w.failure = None;
                });
            } else {
                let f = PaymentFailure::new(FailureCode::NotPaidPerStatement, message);
                Self::record(ctx, step, state, None, Some(f.encode())).await?;
                Self::failed(ctx, &f);
            }
            ctx.state_mut(|w| w.view.settled_by = Some("reconciliation".into()));
            Self::set(ctx, state);
        }
        Ok(None)
    }

    /// REQ X-8a: the self-pay part goes back at once, through the refund workflow (so an
    /// operator handles it like any refund if the bank keeps refusing).
    async fn anomaly_refund(ctx: &mut WorkflowContext<Self>, step: &StepInput) -> WorkflowResult<()> {
        let r = &step.request;
        let own = step.split.map(|s| s.own_pay_amt).unwrap_or_default();
        let refund_no = format!("X8A{}", r.med_org_ord);
        let workflow_id = medpay_activities::refund::workflow_id(&r.org_code, &refund_no);
        let input = RefundInput {
            org_code: r.org_code.clone(),
            med_org_ord: r.med_org_ord.clone(),
            refund_no: refund_no.clone(),
            kind: RefundKind::Anomaly,
            amounts: RefundAmounts { cash: own, ..Default::default() },
            auth_code: None,
            openid: None,
            channel: r.channel,
            reason: Some("insurance failed after self-pay (REQ X-8a)".into()),
            attention_after_secs: ANOMALY_REFUND_ATTENTION.as_secs(),
        };
        let mut view = AnomalyRefundView {
            workflow_id: workflow_id.clone(),
            refund_no,
            amount_fen: own.fen(),
            state: "Started".into(),
        };
        ctx.state_mut(|w| w.view.anomaly_refund = Some(view.clone()));
        let opts = ChildWorkflowOptions::builder()
            .workflow_id(workflow_id)
            .static_summary(format!("X-8a self-pay refund of {} fen", own.fen()))
            .build();
        let child = ctx.start_child_workflow(RefundWorkflow::run, input, opts).await?;
        let done = child.result().await;
        view.state = match done {
            Ok(v) => v.state.map(|s| s.as_str().to_string()).unwrap_or_else(|| "Unknown".into()),
            Err(e) => format!("failed: {e}"),
        };
        ctx.state_mut(|w| w.view.anomaly_refund = Some(view));
        Ok(())
    }

    /// The patient confirmed (true) or declined (false) the pre-settled split, via the HIS.
    #[signal]
    pub fn confirm(&mut self, _ctx: &mut SyncWorkflowContext<Self>, yes: bool) {
        if self.confirmed.is_none() {
            self.confirmed = Some(yes);
        }
    }

    /// A verified bank callback. Only a final status counts; the first one wins (duplicates and
    /// late callbacks cannot change a recorded outcome).
    #[signal]
    pub fn bank_callback(&mut self, _ctx: &mut SyncWorkflowContext<Self>, state: MixedOrderState) {
        if self.callback.is_none() && state.mix_pay_status.is_final() {
            self.callback = Some(state);
        }
    }

    /// Reconciliation's verdict for a `PendingReconciliation` payment (run id for the record).
    /// Ignored before the payment is pending or after a callback decided it.
    #[signal]
    pub fn reconciled(&mut self, _ctx: &mut SyncWorkflowContext<Self>, verdict: (bool, String)) {
        if self.reconciled.is_none() && self.view.state == Some(PaymentState::PendingReconciliation) {
            self.reconciled = Some(verdict);
        }
    }

    /// The day's reconciliation asks a pending pure-insurance payment to close itself by the
    /// platform's order status (run id for the record). Ignored unless pending.
    #[signal]
    pub fn check_insurance(&mut self, _ctx: &mut SyncWorkflowContext<Self>, run: String) {
        if self.insurance_check.is_none()
            && self.reconciled.is_none()
            && self.view.state == Some(PaymentState::PendingReconciliation)
        {
            self.insurance_check = Some(run);
        }
    }

    #[query]
    pub fn status(&self, _ctx: &WorkflowContextView) -> PaymentView {
        self.view.clone()
    }
}
