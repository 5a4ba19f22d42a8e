//! The refund workflow (REQ 6.2 steps 3-6; X-8a and X-8b use it too): accept and reserve, a
//! fresh payAuthNo, the insurance refund (6203), the self-pay refund at the bank, the refund
//! notification through the bank. Each step retries with backoff; a step still failing after
//! `attention_after_secs`, or a 6203 that stays `EXP`, puts the refund in `NeedsAttention` and
//! the workflow waits for an operator's decision (retry, done offline, abandon) from the API.

use crate::options;
use crate::search;
use medpay_activities::refund::{InsuranceRefunded, RefundActivities, RefundEvent, RefundRecord, RefundStep};
use medpay_schemas::refund::{OperatorAction, RefundInput, RefundState, RefundView};
use medpay_schemas::status::RefundStatus;
use std::time::Duration;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{SyncWorkflowContext, WorkflowContext, WorkflowContextView, WorkflowResult};

/// How often and how many times an `EXP` insurance refund is asked again before an operator
/// is needed (REQ 6.2: EXP goes to manual review when it does not resolve).
pub const EXP_RECHECK: Duration = Duration::from_secs(5);
pub const EXP_RECHECKS: u32 = 6;

#[workflow]
#[derive(Default)]
pub struct RefundWorkflow {
    view: RefundView,
    action: Option<OperatorAction>,
    /// How many times the refund needed attention (each episode is its own HIS notice).
    episodes: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Authorise,
    Insurance,
    Cash,
    Notify,
}

/// How an attention episode ended.
enum Decision {
    Retry,
    Closed,
}

#[workflow_methods]
impl RefundWorkflow {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: RefundInput) -> WorkflowResult<RefundView> {
        ctx.upsert_search_attributes(search::identity(&input.org_code, &input.med_org_ord));
        let plan = ctx.execute_activity(RefundActivities::accept, input.clone(), options::refund_record()).await?;
        Self::set(ctx, RefundState::Requested);
        Self::tell_his(ctx, &input, "refund.requested", None).await;
        let horizon = Duration::from_secs(input.attention_after_secs.max(1));
        let insurance = input.amounts.insurance().map(|m| !m.is_zero()).unwrap_or(true);
        let mut s = RefundStep {
            input: input.clone(),
            plan,
            pay_auth_no: None,
            insurance_refund_sn: None,
            bank_refund_serial: None,
        };
        let mut steps = vec![];
        if insurance {
            steps.extend([Step::Authorise, Step::Insurance]);
        }
        if !input.amounts.cash.is_zero() {
            steps.push(Step::Cash);
        }
        steps.push(Step::Notify);
        let mut exp_rechecks = 0;
        let mut i = 0;
        while i < steps.len() {
            let step = steps[i];
            let result: Result<(), String> = match step {
                Step::Authorise => ctx
                    .execute_activity(RefundActivities::authorise, s.clone(), options::refund_step(horizon))
                    .await
                    .map(|p| s.pay_auth_no = Some(p))
                    .map_err(|e| crate::why(&e)),
                Step::Insurance => match ctx
                    .execute_activity(RefundActivities::refund_insurance, s.clone(), options::refund_step(horizon))
                    .await
                {
                    Ok(InsuranceRefunded { refd_sn, status }) => {
                        s.insurance_refund_sn = Some(refd_sn.clone());
                        ctx.state_mut(|w| w.view.insurance_refund_sn = Some(refd_sn));
                        if status == RefundStatus::Succeeded {
                            Self::set(ctx, RefundState::InsuranceRefunded);
                            Ok(())
                        } else if exp_rechecks < EXP_RECHECKS {
                            // EXP: ask again with the same appRefdSn after a pause.
                            exp_rechecks += 1;
                            ctx.timer(EXP_RECHECK).await;
                            continue;
                        } else {
                            Err(format!(
                                "6203 answered {status} {EXP_RECHECKS} times: the insurance refund's outcome is unknown"
                            ))
                        }
                    }
                    Err(e) => Err(crate::why(&e)),
                },
                Step::Cash => ctx
                    .execute_activity(RefundActivities::refund_cash, s.clone(), options::refund_step(horizon))
                    .await
                    .map(|serial| {
                        s.bank_refund_serial = Some(serial.clone());
                        ctx.state_mut(|w| w.view.bank_refund_serial = Some(serial));
                    })
                    .map_err(|e| crate::why(&e)),
                Step::Notify => ctx
                    .execute_activity(RefundActivities::notify, s.clone(), options::refund_step(horizon))
                    .await
                    .map(|_| ctx.state_mut(|w| w.view.notified = true))
                    .map_err(|e| crate::why(&e)),
            };
            match result {
                Ok(()) => {
                    if step == Step::Cash {
                        Self::set(ctx, RefundState::CashRefunded);
                    }
                    i += 1;
                }
                Err(why) => match Self::attention(ctx, &input, format!("{step:?} step: {why}")).await? {
                    Decision::Retry => {
                        exp_rechecks = 0;
                        if let Some(code) = ctx.state_mut(|w| w.action.take()).and_then(|a| match a {
                            OperatorAction::Retry { auth_code } => auth_code,
                            _ => None,
                        }) {
                            s.input.auth_code = Some(code);
                            // A fresh authCode means a fresh payAuthNo.
                            if step == Step::Insurance {
                                i -= 1;
                            }
                        }
                    }
                    Decision::Closed => return Ok(ctx.state(|w| w.view.clone())),
                },
            }
        }
        Self::set(ctx, RefundState::Refunded);
        Self::tell_his(ctx, &input, "refund.refunded", None).await;
        Ok(ctx.state(|w| w.view.clone()))
    }

    /// Tells the HIS of a money movement. The outcome (refunded, settled offline, abandoned) is
    /// retried for a day; the news on the way (requested, needs attention) for 30 s only, so an
    /// HIS that is down never holds the patient's money back — the HIS can always ask
    /// `GET /v1/refunds/...`.
    async fn tell_his(ctx: &mut WorkflowContext<Self>, input: &RefundInput, event: &str, attention: Option<String>) {
        let state = ctx.state(|w| w.view.state).unwrap_or(RefundState::Requested);
        let e = RefundEvent {
            input: input.clone(),
            event: event.into(),
            state,
            episode: ctx.state(|w| w.episodes),
            attention,
        };
        let horizon = if state.is_terminal() { options::HIS_NOTICE_HORIZON } else { options::HIS_NEWS_HORIZON };
        let opts = options::his_notice(horizon, Duration::from_secs(10));
        if let Ok(Some(id)) = ctx.execute_activity(RefundActivities::notify_his, e, opts).await {
            ctx.state_mut(|w| w.view.his_notices.push(id));
        }
    }

    fn set(ctx: &mut WorkflowContext<Self>, state: RefundState) {
        ctx.state_mut(|w| w.view.state = Some(state));
        ctx.upsert_search_attributes([search::REFUND_STATE.value_set(state.as_str().to_string())]);
    }

    /// Records `NeedsAttention` and waits for an operator. A retry leaves the action in place
    /// (with its authCode) for the caller; done-offline and abandon close the refund here.
    async fn attention(ctx: &mut WorkflowContext<Self>, input: &RefundInput, why: String) -> WorkflowResult<Decision> {
        let record = |state: RefundState, attention: Option<String>| RefundRecord {
            org_code: input.org_code.clone(),
            refund_no: input.refund_no.clone(),
            state,
            mid_refd_sn: None,
            mid_status: None,
            bank_intrx_serial: None,
            notified: None,
            attention,
        };
        let before = ctx.state(|w| w.view.state).unwrap_or(RefundState::Requested);
        ctx.execute_activity(
            RefundActivities::record_refund,
            record(RefundState::NeedsAttention, Some(why.clone())),
            options::refund_record(),
        )
        .await?;
        ctx.state_mut(|w| {
            w.view.attention = Some(why);
            w.action = None;
        });
        Self::set(ctx, RefundState::NeedsAttention);
        ctx.state_mut(|w| w.episodes += 1);
        let why = ctx.state(|w| w.view.attention.clone());
        Self::tell_his(ctx, input, "refund.needs_attention", why).await;
        ctx.wait_condition(|w: &Self| w.action.is_some()).await?;
        let action = ctx.state(|w| w.action.clone());
        match action {
            Some(OperatorAction::MarkDoneOffline { reference }) => {
                let note = Some(format!("settled offline by an operator: {reference}"));
                ctx.execute_activity(
                    RefundActivities::record_refund,
                    record(RefundState::SettledOffline, note.clone()),
                    options::refund_record(),
                )
                .await?;
                ctx.state_mut(|w| w.view.attention = note.clone());
                Self::set(ctx, RefundState::SettledOffline);
                Self::tell_his(ctx, input, "refund.settled_offline", note).await;
                Ok(Decision::Closed)
            }
            Some(OperatorAction::Abandon { reason }) => {
                let note = Some(format!("abandoned by an operator: {reason}"));
                ctx.execute_activity(
                    RefundActivities::record_refund,
                    record(RefundState::Abandoned, note.clone()),
                    options::refund_record(),
                )
                .await?;
                ctx.state_mut(|w| w.view.attention = note.clone());
                Self::set(ctx, RefundState::Abandoned);
                Self::tell_his(ctx, input, "refund.abandoned", note).await;
                Ok(Decision::Closed)
            }
            _ => {
                ctx.execute_activity(RefundActivities::record_refund, record(before, None), options::refund_record())
                    .await?;
                ctx.state_mut(|w| w.view.attention = None);
                Self::set(ctx, before);
                Ok(Decision::Retry)
            }
        }
    }

    /// An operator's decision; only heard while the refund needs attention.
    #[signal]
    pub fn operator(&mut self, _ctx: &mut SyncWorkflowContext<Self>, action: OperatorAction) {
        if self.view.state == Some(RefundState::NeedsAttention) && self.action.is_none() {
            self.action = Some(action);
        }
    }

    #[query]
    pub fn status(&self, _ctx: &WorkflowContextView) -> RefundView {
        self.view.clone()
    }
}
