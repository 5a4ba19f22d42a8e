//! The refund workflow (REQ 6.2 steps 3-6; X-8a and X-8b use it too): accept and reserve, a
//! fresh payAuthNo, the insurance refund (6203), the self-pay refund at the bank, the refund
//! notification through the bank. Each step retries with backoff; a step still failing after
//! `attention_after_secs`, or a 6203 that stays `EXP`, puts the refund in `NeedsAttention` and
//! the workflow waits for an operator's decision (retry, done offline, abandon) from the API.

use crate::options;
use crate::search;
use medpay_activities::ledger::RefundMove;
use medpay_activities::refund::{InsuranceRefunded, RefundActivities, RefundEvent, RefundRecord, RefundStep};
use medpay_schemas::refund::{OperatorAction, RefundAmounts, RefundInput, RefundState, RefundView};
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

/// How one run of a step ended.
#[derive(Debug, PartialEq, Eq)]
enum StepEnd {
    Done,
    /// 6203 answered EXP: ask again with the same appRefdSn after [`EXP_RECHECK`].
    AskAgain,
    /// The step kept failing within its horizon, or 6203 stayed EXP: an operator decides.
    Failed(String),
}

/// The steps a refund takes for its amounts (REQ 6.2 steps 3-6): a fresh payAuthNo and the
/// insurance refund when an insurance part is refunded (or its parts do not add up, which the
/// insurance step then refuses by name), the bank's refund when a self-pay part is, and always
/// the refund notification through the bank.
fn steps_for(amounts: &RefundAmounts) -> Vec<Step> {
    let mut steps = vec![];
    if amounts.insurance().map(|m| !m.is_zero()).unwrap_or(true) {
        steps.extend([Step::Authorise, Step::Insurance]);
    }
    if !amounts.cash.is_zero() {
        steps.push(Step::Cash);
    }
    steps.push(Step::Notify);
    steps
}

/// What 6203's status means after `rechecks` earlier EXP answers (REQ 6.2: EXP goes to manual
/// review when it does not resolve).
fn after_insurance(status: RefundStatus, rechecks: u32) -> StepEnd {
    if status == RefundStatus::Succeeded {
        StepEnd::Done
    } else if rechecks < EXP_RECHECKS {
        StepEnd::AskAgain
    } else {
        StepEnd::Failed(format!(
            "6203 answered {status} {EXP_RECHECKS} times: the insurance refund's outcome is unknown"
        ))
    }
}

/// Where an operator's retry resumes: the failed step, or the authorisation before it when the
/// operator brought a fresh authCode for the insurance step (a fresh code, a fresh payAuthNo).
fn resume_at(steps: &[Step], failed: usize, fresh_auth_code: bool) -> usize {
    if fresh_auth_code && steps[failed] == Step::Insurance && failed > 0 { failed - 1 } else { failed }
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
        let mut s = RefundStep {
            input: input.clone(),
            plan,
            pay_auth_no: None,
            insurance_refund_sn: None,
            bank_refund_serial: None,
        };
        let steps = steps_for(&input.amounts);
        let mut exp_rechecks = 0;
        let mut i = 0;
        while i < steps.len() {
            let step = steps[i];
            match Self::run_step(ctx, step, &mut s, horizon, exp_rechecks).await {
                StepEnd::Done => {
                    if step == Step::Cash {
                        Self::set(ctx, RefundState::CashRefunded);
                    }
                    i += 1;
                }
                StepEnd::AskAgain => {
                    exp_rechecks += 1;
                    ctx.timer(EXP_RECHECK).await;
                }
                StepEnd::Failed(why) => match Self::attention(ctx, &input, format!("{step:?} step: {why}")).await? {
                    Decision::Retry => {
                        exp_rechecks = 0;
                        if let Some(code) = ctx.state_mut(|w| w.action.take()).and_then(|a| match a {
                            OperatorAction::Retry { auth_code } => auth_code,
                            _ => None,
                        }) {
                            s.input.auth_code = Some(code);
                            i = resume_at(&steps, i, true);
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

    /// Runs one step once (the activity retries within `horizon`): done, ask 6203 again (EXP),
    /// or failed with the reason an operator reads.
    async fn run_step(
        ctx: &mut WorkflowContext<Self>,
        step: Step,
        s: &mut RefundStep,
        horizon: Duration,
        exp_rechecks: u32,
    ) -> StepEnd {
        let opts = options::refund_step(horizon);
        let done = match step {
            Step::Authorise => ctx
                .execute_activity(RefundActivities::authorise, s.clone(), opts)
                .await
                .map(|p| s.pay_auth_no = Some(p)),
            Step::Insurance => match ctx.execute_activity(RefundActivities::refund_insurance, s.clone(), opts).await {
                Ok(InsuranceRefunded { refd_sn, status }) => {
                    s.insurance_refund_sn = Some(refd_sn.clone());
                    ctx.state_mut(|w| w.view.insurance_refund_sn = Some(refd_sn));
                    let end = after_insurance(status, exp_rechecks);
                    if end == StepEnd::Done {
                        Self::set(ctx, RefundState::InsuranceRefunded);
                    }
                    return end;
                }
                Err(e) => Err(e),
            },
            Step::Cash => ctx.execute_activity(RefundActivities::refund_cash, s.clone(), opts).await.map(|serial| {
                s.bank_refund_serial = Some(serial.clone());
                ctx.state_mut(|w| w.view.bank_refund_serial = Some(serial));
            }),
            Step::Notify => ctx
                .execute_activity(RefundActivities::notify, s.clone(), opts)
                .await
                .map(|_| ctx.state_mut(|w| w.view.notified = true)),
        };
        match done {
            Ok(()) => StepEnd::Done,
            Err(e) => StepEnd::Failed(crate::why(&e)),
        }
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
        let record = |step: RefundMove| RefundRecord {
            org_code: input.org_code.clone(),
            refund_no: input.refund_no.clone(),
            step,
        };
        let before = ctx.state(|w| w.view.state).unwrap_or(RefundState::Requested);
        ctx.execute_activity(
            RefundActivities::record_refund,
            record(RefundMove::NeedsAttention { why: why.clone() }),
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
                let note = format!("settled offline by an operator: {reference}");
                ctx.execute_activity(
                    RefundActivities::record_refund,
                    record(RefundMove::SettledOffline { note: note.clone() }),
                    options::refund_record(),
                )
                .await?;
                ctx.state_mut(|w| w.view.attention = Some(note.clone()));
                Self::set(ctx, RefundState::SettledOffline);
                Self::tell_his(ctx, input, "refund.settled_offline", Some(note)).await;
                Ok(Decision::Closed)
            }
            Some(OperatorAction::Abandon { reason }) => {
                let note = format!("abandoned by an operator: {reason}");
                ctx.execute_activity(
                    RefundActivities::record_refund,
                    record(RefundMove::Abandoned { note: note.clone() }),
                    options::refund_record(),
                )
                .await?;
                ctx.state_mut(|w| w.view.attention = Some(note.clone()));
                Self::set(ctx, RefundState::Abandoned);
                Self::tell_his(ctx, input, "refund.abandoned", Some(note)).await;
                Ok(Decision::Closed)
            }
            _ => {
                ctx.execute_activity(
                    RefundActivities::record_refund,
                    record(RefundMove::Resumed { at: before }),
                    options::refund_record(),
                )
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

#[cfg(test)]
mod tests {
    use super::*;
    use medpay_schemas::Money;

    fn amounts(fund: i64, psn_acct: i64, cash: i64) -> RefundAmounts {
        RefundAmounts { fund: Money::from_fen(fund), psn_acct: Money::from_fen(psn_acct), cash: Money::from_fen(cash) }
    }

    #[test]
    fn the_plan_follows_the_parts_refunded() {
        use Step::*;
        assert_eq!(steps_for(&amounts(100, 20, 30)), vec![Authorise, Insurance, Cash, Notify]);
        assert_eq!(steps_for(&amounts(0, 0, 30)), vec![Cash, Notify], "self-pay only: no payAuthNo, no 6203");
        assert_eq!(steps_for(&amounts(100, 0, 0)), vec![Authorise, Insurance, Notify]);
        assert_eq!(steps_for(&amounts(0, 0, 0)), vec![Notify]);
    }

    #[test]
    fn exp_is_asked_again_then_left_to_an_operator() {
        assert_eq!(after_insurance(RefundStatus::Succeeded, 0), StepEnd::Done);
        assert_eq!(after_insurance(RefundStatus::Succeeded, EXP_RECHECKS), StepEnd::Done);
        for n in 0..EXP_RECHECKS {
            assert_eq!(after_insurance(RefundStatus::Exception, n), StepEnd::AskAgain, "recheck {n}");
        }
        let StepEnd::Failed(why) = after_insurance(RefundStatus::Exception, EXP_RECHECKS) else { panic!("not failed") };
        assert!(why.contains("outcome is unknown"), "{why}");
    }

    #[test]
    fn a_fresh_auth_code_resumes_at_the_authorisation() {
        use Step::*;
        let steps = [Authorise, Insurance, Cash, Notify];
        assert_eq!(resume_at(&steps, 1, true), 0, "insurance with a fresh code: a fresh payAuthNo first");
        assert_eq!(resume_at(&steps, 1, false), 1);
        assert_eq!(resume_at(&steps, 2, true), 2, "the bank's step needs no payAuthNo");
    }
}
