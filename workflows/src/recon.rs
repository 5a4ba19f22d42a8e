//! The reconciliation workflow (REQ C-6.3.1, C-6.3.2, X-8b, X-8c, Q-9), one per (kind,
//! hospital, period): fetch the statement (a file not there yet is retried for a day), stream it
//! into the database, classify every line and ledger record, then act: settle or close the
//! payments left `PendingReconciliation`, refund over-collections through the refund workflow,
//! list under-collections for the HIS. Every action is recorded as taken, so a re-run of the
//! same period changes nothing. A scheduled run has no period: it reconciles yesterday
//! (self-pay) or last month (insurance) as a child workflow with the period in its id.

use crate::his_notice::HisNoticeWorkflow;
use crate::options;
use crate::payment::PaymentWorkflow;
use crate::refund::RefundWorkflow;
use medpay_activities::his::HisEvent;
use medpay_activities::recon::{ReconAction, ReconActionKind, ReconActivities};
use medpay_schemas::Money;
use medpay_schemas::payment_flow::{ReconciliationVerdict, VerdictSource};
use medpay_schemas::recon::{ReconInput, ReconSummary};
use medpay_schemas::refund::{RefundAmounts, RefundInput, RefundKind};
use medpay_schemas::workflow_ids;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ChildWorkflowOptions, ParentClosePolicy, SignalWorkflowOptions, WorkflowContext, WorkflowContextView,
    WorkflowResult,
};

/// How long an over-collection refund may keep failing before it needs an operator.
const OVER_COLLECTION_ATTENTION: std::time::Duration = std::time::Duration::from_secs(3600);

#[workflow]
#[derive(Default)]
pub struct ReconWorkflow {
    progress: ReconSummary,
}

#[workflow_methods]
impl ReconWorkflow {
    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>, input: ReconInput) -> WorkflowResult<ReconSummary> {
        let Some(period) = input.period.clone() else {
            let now_ms = ctx
                .workflow_time()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0);
            let period = medpay_schemas::recon::default_period(input.kind, now_ms);
            let id = workflow_ids::recon(input.kind, &input.org_code, &period);
            let opts = ChildWorkflowOptions::builder()
                .workflow_id(id)
                .static_summary(format!("{} reconciliation of {period}", input.kind.as_str()))
                .build();
            let child = ctx
                .start_child_workflow(ReconWorkflow::run, ReconInput { period: Some(period), ..input }, opts)
                .await?;
            return Ok(child.result().await?);
        };
        let input = ReconInput { period: Some(period), ..input };
        let staged =
            ctx.execute_activity(ReconActivities::fetch_statement, input.clone(), options::statement_fetch()).await?;
        let loaded =
            ctx.execute_activity(ReconActivities::load_statement, staged.clone(), options::recon_step()).await?;
        ctx.state_mut(|w| w.progress.loaded = loaded.clone());
        let classes = ctx.execute_activity(ReconActivities::classify, staged.clone(), options::recon_step()).await?;
        ctx.state_mut(|w| w.progress.classes = classes);
        let mut taken = 0u64;
        loop {
            let actions =
                ctx.execute_activity(ReconActivities::pending_actions, staged.clone(), options::recon_step()).await?;
            if actions.is_empty() {
                break;
            }
            let mut done = vec![];
            for a in actions {
                Self::act(ctx, &staged.run_id, &a).await?;
                done.push(a.item_key);
            }
            taken += done.len() as u64;
            ctx.execute_activity(ReconActivities::mark_acted, (staged.run_id.clone(), done), options::recon_step())
                .await?;
        }
        let summary =
            ctx.execute_activity(ReconActivities::report, (staged, loaded, taken), options::recon_step()).await?;
        ctx.state_mut(|w| w.progress = summary.clone());
        Ok(summary)
    }

    async fn act(ctx: &mut WorkflowContext<Self>, run_id: &str, a: &ReconAction) -> WorkflowResult<()> {
        match a.action {
            ReconActionKind::Settle | ReconActionKind::Close => {
                let paid = a.action == ReconActionKind::Settle;
                let signal = ctx
                    .external_workflow(a.workflow_id.clone(), None)
                    .signal(PaymentWorkflow::reconciled, verdict(paid, run_id), SignalWorkflowOptions::default())
                    .await;
                // The payment's workflow already ended (its late-callback wait ran out): the
                // verdict goes to the ledger directly.
                if signal.is_err() {
                    ctx.execute_activity(ReconActivities::settle_in_ledger, (a.clone(), paid), options::recon_step())
                        .await?;
                    let verdict = if paid {
                        "the statement shows it paid: Paid"
                    } else {
                        "the statement does not show it: Failed, nothing was collected"
                    };
                    Self::tell_his(
                        ctx,
                        a,
                        "payment.settled_by_reconciliation",
                        format!("settled by reconciliation {run_id}: {verdict}"),
                        None,
                    )
                    .await;
                }
            }
            ReconActionKind::Refund => {
                // REQ X-8b: collected for a payment the hospital closed: give it back — the
                // bank's self-pay part, or the platform's insurance parts (an insurance run's
                // item: fund and personal account, authorised by the platform, REQ 6.2 step 3).
                let (refund_no, amounts) = over_collection(run_id, a);
                let input = RefundInput {
                    org_code: a.org_code.clone(),
                    med_org_ord: a.med_org_ord.clone(),
                    refund_no: refund_no.clone(),
                    kind: RefundKind::OverCollection,
                    amounts,
                    auth_code: None,
                    openid: None,
                    channel: Default::default(),
                    reason: Some(format!("over-collection found by reconciliation {run_id} (REQ X-8b)")),
                    attention_after_secs: OVER_COLLECTION_ATTENTION.as_secs(),
                };
                let opts = ChildWorkflowOptions::builder()
                    .workflow_id(workflow_ids::refund(&a.org_code, &refund_no))
                    .parent_close_policy(ParentClosePolicy::Abandon)
                    .static_summary(format!(
                        "X-8b refund of {} fen",
                        amounts.total().map(|m| m.fen()).unwrap_or(i64::MAX)
                    ))
                    .build();
                // Started, not awaited: the refund has its own life (and its own attention path).
                // Already started by an earlier run: nothing to do.
                let _ = ctx.start_child_workflow(RefundWorkflow::run, input, opts).await;
            }
            // A pending pure-insurance payment: its workflow asks the platform (6301) and
            // settles or closes itself. Its workflow already ended: the monthly file decides.
            ReconActionKind::QueryInsurance => {
                let _ = ctx
                    .external_workflow(a.workflow_id.clone(), None)
                    .signal(PaymentWorkflow::check_insurance, run_id.to_string(), SignalWorkflowOptions::default())
                    .await;
            }
            // REQ X-8c: listed in the run's exception report and API, and the HIS is told.
            ReconActionKind::NotifyHis => {
                let message = format!(
                    "served but not paid (reconciliation {run_id}): the patient owes {} fen; collect at the counter or send a new bill (REQ X-8c)",
                    a.ledger_fen
                );
                Self::tell_his(ctx, a, "payment.under_collected", message, Some(a.ledger_fen)).await;
            }
        }
        Ok(())
    }

    /// Starts the notice to the HIS (its own workflow, keyed by payment and event: a re-run of
    /// the reconciliation tells the HIS nothing twice).
    async fn tell_his(
        ctx: &mut WorkflowContext<Self>,
        a: &ReconAction,
        event: &str,
        message: String,
        owed_fen: Option<i64>,
    ) {
        let e = HisEvent {
            org_code: a.org_code.clone(),
            med_org_ord: a.med_org_ord.clone(),
            event: event.into(),
            message,
            owed_fen,
        };
        let opts = ChildWorkflowOptions::builder()
            .workflow_id(e.id())
            .parent_close_policy(ParentClosePolicy::Abandon)
            .static_summary(format!("HIS notice {event}"))
            .build();
        let _ = ctx.start_child_workflow(HisNoticeWorkflow::run, e, opts).await;
    }

    #[query]
    pub fn progress(&self, _ctx: &WorkflowContextView) -> ReconSummary {
        self.progress.clone()
    }
}

/// The statement's verdict on a pending payment, for its workflow.
fn verdict(paid: bool, run_id: &str) -> ReconciliationVerdict {
    ReconciliationVerdict { paid, run: run_id.to_string(), source: VerdictSource::Statement }
}

/// REQ X-8b: the refund of an over-collection, keyed by the statement item: exactly what the
/// statement shows collected — the bank's self-pay part in a self-pay run, the platform's fund
/// and personal-account parts in an insurance run.
fn over_collection(run_id: &str, a: &ReconAction) -> (medpay_schemas::RefundNo, RefundAmounts) {
    let insurance = run_id.starts_with(medpay_schemas::recon::ReconKind::Insurance.as_str());
    let key = a.item_key.trim_start_matches("P:");
    let amounts = if insurance {
        RefundAmounts {
            fund: Money::from_fen(a.statement_amounts.0),
            psn_acct: Money::from_fen(a.statement_amounts.1),
            cash: Money::ZERO,
        }
    } else {
        RefundAmounts { cash: Money::from_fen(a.statement_fen), ..Default::default() }
    };
    (workflow_ids::over_collection_refund_no(key, insurance), amounts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(statement_fen: i64, amounts: (i64, i64)) -> ReconAction {
        ReconAction {
            item_key: "P:SP123".into(),
            action: ReconActionKind::Refund,
            org_code: "H1".parse().unwrap(),
            med_org_ord: "O1".parse().unwrap(),
            workflow_id: "pay-H1-O1".into(),
            statement_fen,
            ledger_fen: 0,
            statement_amounts: amounts,
        }
    }

    #[test]
    fn an_over_collection_refunds_exactly_what_the_statement_shows() {
        let (no, a) = over_collection("selfpay-H1-2026-11-27", &item(4_000, (4_000, 0)));
        assert_eq!((no.as_str(), a.cash.fen(), a.fund.fen(), a.psn_acct.fen()), ("X8BSP123", 4_000, 0, 0));
        let (no, a) = over_collection("insurance-H1-2026-11", &item(2_600, (2_100, 500)));
        assert_eq!((no.as_str(), a.cash.fen(), a.fund.fen(), a.psn_acct.fen()), ("X8BISP123", 0, 2_100, 500));
    }
}
