//! The HIS's refund API (REQ 6.2): create (idempotent on the HIS refund no.: same body -> same
//! refund, other body -> 409), read, and the operator's decision on a refund that needs
//! attention. Eligibility is checked here for a clear 4xx and again in the ledger's
//! transaction, which is what actually guarantees a payment is never refunded twice.

use super::AppState;
use super::body::Body;
use super::error::{ApiError, ErrorCode};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use medpay_activities::ledger::{CreateRefundOutcome, Ineligible, LedgerError, NewRefund};
use medpay_activities::parties::onboarding::RefundAuthorisation;
use medpay_activities::refund::fingerprint;
use medpay_schemas::refund::{OperatorAction, RefundAmounts, RefundInput, RefundKind, RefundState, RefundView};
use medpay_schemas::{MedOrgOrd, Money, OrgCode, Secret};
use medpay_workflows::refund::RefundWorkflow;
use serde::Deserialize;
use serde_json::json;
use temporalio_client::errors::WorkflowStartError;
use temporalio_client::{
    WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowQueryOptions, WorkflowSignalOptions, WorkflowStartOptions,
};

/// The create-refund body. Without any amount, everything still refundable is refunded.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    pub org_code: String,
    pub med_org_ord: String,
    /// The HIS refund no.: one refund per number.
    pub refund_no: String,
    pub fund_fen: Option<i64>,
    pub psn_acct_fen: Option<i64>,
    pub cash_fen: Option<i64>,
    /// A fresh authCode (REQ 6.2 step 3); required when an insurance part is refunded.
    pub auth_code: Option<Secret<String>>,
    pub openid: Option<String>,
    /// The channel that issued `auth_code` (the one the patient paid in); WeChat when absent.
    #[serde(default)]
    pub channel: medpay_schemas::payment_flow::Channel,
    pub reason: Option<String>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidRefund, message)
}

/// Refusals that depend on the payment's current state (what is left to refund, its parts, its
/// age) are 409: the same body may be right for another payment. 422 is kept for a body that
/// breaks a rule the API document states.
fn ineligible(e: LedgerError) -> ApiError {
    match e {
        LedgerError::Ineligible(i) => match i {
            Ineligible::UnknownPayment(_) => ApiError::new(ErrorCode::UnknownPayment, i.to_string()),
            Ineligible::NotPaid { .. } | Ineligible::NoSelfPayCollected(_) => {
                ApiError::new(ErrorCode::PaymentNotRefundable, i.to_string())
            }
            Ineligible::ExceedsRemaining { .. } => ApiError::new(ErrorCode::ExceedsRefundable, i.to_string()),
        },
        LedgerError::RefundConflict { .. } => ApiError::new(ErrorCode::RefundConflict, e.to_string()),
        other => ApiError::ledger_unavailable(other),
    }
}

/// The amounts asked for, or everything still refundable when none is given.
fn amounts(b: &RefundBody, p: &medpay_activities::ledger::entities::payment::Model) -> Result<RefundAmounts, ApiError> {
    if b.fund_fen.is_none() && b.psn_acct_fen.is_none() && b.cash_fen.is_none() {
        return Ok(RefundAmounts {
            fund: Money::from_fen(p.fund_fen.unwrap_or(0) - p.refunded_fund_fen),
            psn_acct: Money::from_fen(p.psn_acct_fen.unwrap_or(0) - p.refunded_psn_acct_fen),
            cash: Money::from_fen(p.own_pay_fen.unwrap_or(0) - p.refunded_cash_fen),
        });
    }
    let fen = |v: Option<i64>, what: &str| match v.unwrap_or(0) {
        n if n < 0 => Err(invalid(format!("{what} is negative ({n} fen)"))),
        n => Ok(Money::from_fen(n)),
    };
    Ok(RefundAmounts {
        fund: fen(b.fund_fen, "fund_fen")?,
        psn_acct: fen(b.psn_acct_fen, "psn_acct_fen")?,
        cash: fen(b.cash_fen, "cash_fen")?,
    })
}

/// Why this refund cannot be made, if it cannot: nothing left, an insurance part without the
/// fresh authCode a channel-authorising hospital needs (REQ 6.2 step 3), a partial refund of both
/// parts there, or (for a new refund) the refund window closed. `again`: the refund exists.
fn refusable(
    state: &AppState,
    b: &RefundBody,
    p: &medpay_activities::ledger::entities::payment::Model,
    a: &RefundAmounts,
    again: bool,
) -> Result<(), ApiError> {
    if a.total().map_err(|e| invalid(e.to_string()))?.is_zero() {
        return Err(ApiError::new(
            ErrorCode::NothingToRefund,
            format!("payment {}/{} has nothing left to refund", b.org_code, b.med_org_ord),
        ));
    }
    let insurance = !a.insurance().map_err(|e| invalid(e.to_string()))?.is_zero();
    // REQ 6.2 step 3: the platform authorises the refund itself unless the hospital's province
    // offers no refund authorisation; then the HIS brings a fresh authCode.
    let at_channel = state
        .parties
        .as_ref()
        .and_then(|p| p.hospitals.get(b.org_code.as_str()))
        .is_some_and(|h| h.config.refund_authorisation == RefundAuthorisation::Channel);
    if insurance && at_channel && b.auth_code.as_ref().is_none_or(|c| c.expose().is_empty()) {
        return Err(ApiError::new(
            ErrorCode::AuthCodeRequired,
            "this hospital's refunds are authorised at the channel: an insurance part needs a fresh auth_code (REQ 6.2 step 3)",
        ));
    }
    let whole = a.fund.fen() == p.fund_fen.unwrap_or(0) - p.refunded_fund_fen
        && a.psn_acct.fen() == p.psn_acct_fen.unwrap_or(0) - p.refunded_psn_acct_fen
        && a.cash.fen() == p.own_pay_fen.unwrap_or(0) - p.refunded_cash_fen;
    // A partial refund of both parts is two 6203 calls (HI and CASH), each with its own
    // payAuthNo: the platform issues them; one authCode from the channel gives only one.
    if !again && insurance && !a.cash.is_zero() && !whole && at_channel {
        return Err(ApiError::new(
            ErrorCode::PartialMixedRefund,
            "this hospital's refunds are authorised at the channel, and one authCode serves one 6203: a partial refund of both parts is two refunds (the insurance parts, then the cash)",
        ));
    }
    let window_ms = i64::try_from(state.refund.window_days.saturating_mul(86_400_000)).unwrap_or(i64::MAX);
    if !again && p.paid_at_ms.is_some_and(|paid| medpay_activities::http::now_ms() - paid > window_ms) {
        return Err(ApiError::new(
            ErrorCode::RefundWindowClosed,
            format!(
                "payment {}/{} was paid more than {} days ago",
                b.org_code, b.med_org_ord, state.refund.window_days
            ),
        ));
    }
    Ok(())
}

pub async fn create(State(state): State<AppState>, Body(b): Body<RefundBody>) -> Result<Response, ApiError> {
    let refund_no = medpay_schemas::RefundNo::parse(b.refund_no.clone()).map_err(|e| invalid(e.to_string()))?;
    if refund_no.len() > medpay_schemas::RefundNo::HIS_MAX_LEN {
        return Err(invalid(format!(
            "refund_no is {} characters, above {}: the longer ones are kept for the refunds medpay starts itself",
            refund_no.len(),
            medpay_schemas::RefundNo::HIS_MAX_LEN
        )));
    }
    let no_payment =
        || ApiError::new(ErrorCode::UnknownPayment, format!("no payment {}/{}", b.org_code, b.med_org_ord));
    // Ids that cannot name a payment name none: the same 404 as an unknown one.
    let (org, ord) = match (OrgCode::parse(b.org_code.clone()), MedOrgOrd::parse(b.med_org_ord.clone())) {
        (Ok(org), Ok(ord)) => (org, ord),
        _ => return Err(no_payment()),
    };
    let p = state.ledger.get(&org, &ord).await.map_err(ApiError::ledger_unavailable)?.ok_or_else(no_payment)?;
    let existing = state.ledger.get_refund(&org, &refund_no).await.map_err(ApiError::ledger_unavailable)?;
    let a = match (&existing, b.fund_fen.or(b.psn_acct_fen).or(b.cash_fen)) {
        // "Refund everything" asked again: the same refund, whatever remains now.
        (Some(r), None) => RefundAmounts {
            fund: Money::from_fen(r.fund_fen),
            psn_acct: Money::from_fen(r.psn_acct_fen),
            cash: Money::from_fen(r.cash_fen),
        },
        _ => amounts(&b, &p)?,
    };
    refusable(&state, &b, &p, &a, existing.is_some())?;
    let input = RefundInput {
        org_code: org,
        med_org_ord: ord,
        refund_no,
        kind: RefundKind::Patient,
        amounts: a,
        auth_code: b.auth_code,
        openid: b.openid,
        channel: b.channel,
        reason: b.reason,
        attention_after_secs: state.refund.attention_after_secs,
    };
    let id = medpay_schemas::workflow_ids::refund(&b.org_code, &b.refund_no);
    let created = state
        .ledger
        .create_refund(NewRefund {
            org_code: input.org_code.clone(),
            med_org_ord: input.med_org_ord.clone(),
            refund_no: input.refund_no.clone(),
            workflow_id: id.clone(),
            kind: input.kind,
            amounts: a,
            request_fingerprint: fingerprint(&input),
            reason: input.reason.clone(),
            now_ms: medpay_activities::http::now_ms(),
        })
        .await
        .map_err(ineligible)?;
    // A refund whose workflow has closed is not run again (RejectDuplicate): the same refund.
    let options = WorkflowStartOptions::new(state.task_queue.to_string(), id.clone())
        .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
        .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
        .build();
    match state.client.start_workflow(RefundWorkflow::run, input, options).await {
        Ok(_) | Err(WorkflowStartError::AlreadyStarted { .. }) => {}
        Err(e) => return Err(ApiError::temporal_unavailable(e)),
    }
    let status = if matches!(created, CreateRefundOutcome::New(_)) { StatusCode::CREATED } else { StatusCode::OK };
    let url = format!("/v1/refunds/{}/{}", b.org_code, b.refund_no);
    Ok((status, Json(json!({"workflow_id": id, "status_url": url, "fund_fen": a.fund.fen(), "psn_acct_fen": a.psn_acct.fen(), "cash_fen": a.cash.fen()}))).into_response())
}

pub async fn get(
    State(state): State<AppState>,
    Path((org, refund_no)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let r = refund_row(&state, &org, &refund_no).await?;
    let handle = state.client.get_workflow_handle::<RefundWorkflow>(&r.workflow_id);
    let view: Option<RefundView> = handle.query(RefundWorkflow::status, (), WorkflowQueryOptions::default()).await.ok();
    Ok(Json(json!({
        "org_code": r.org_code, "refund_no": r.refund_no, "workflow_id": r.workflow_id, "kind": r.kind, "state": r.state,
        "fund_fen": r.fund_fen, "psn_acct_fen": r.psn_acct_fen, "cash_fen": r.cash_fen,
        "insurance_refund_sn": r.mid_refd_sn, "insurance_refund_status": r.mid_status, "bank_refund_serial": r.bank_intrx_serial,
        "notified": r.notified, "attention": r.attention, "workflow": view,
    })))
}

/// An operator's decision on a refund in `NeedsAttention`: retry (optionally with a fresh
/// authCode), done offline with a reference, or abandon with a reason.
pub async fn action(
    State(state): State<AppState>,
    Path((org, refund_no)): Path<(String, String)>,
    Body(a): Body<OperatorAction>,
) -> Result<StatusCode, ApiError> {
    match &a {
        OperatorAction::MarkDoneOffline { reference } if reference.trim().is_empty() => {
            return Err(invalid("mark_done_offline needs a reference (the offline transfer's id)"));
        }
        OperatorAction::Abandon { reason } if reason.trim().is_empty() => {
            return Err(invalid("abandon needs a reason"));
        }
        _ => {}
    }
    let r = refund_row(&state, &org, &refund_no).await?;
    if r.state != RefundState::NeedsAttention {
        return Err(ApiError::new(
            ErrorCode::RefundNotWaiting,
            format!(
                "refund {org}/{refund_no} is {}: only a refund that needs attention takes an operator's decision",
                r.state
            ),
        ));
    }
    let handle = state.client.get_workflow_handle::<RefundWorkflow>(&r.workflow_id);
    handle.signal(RefundWorkflow::operator, a, WorkflowSignalOptions::default()).await.map_err(|e| {
        ApiError::signal_refused(e, ErrorCode::RefundNotWaiting, &format!("refund {org}/{refund_no}"), r.state.as_str())
    })?;
    Ok(StatusCode::ACCEPTED)
}

/// The refund's ledger row, or 404 `UNKNOWN_REFUND`.
async fn refund_row(
    state: &AppState,
    org: &str,
    refund_no: &str,
) -> Result<medpay_activities::ledger::entities::refund::Model, ApiError> {
    let unknown = || ApiError::new(ErrorCode::UnknownRefund, format!("no refund {org}/{refund_no}"));
    // Ids that cannot name a refund name none: the same 404 as an unknown one.
    let (Ok(org), Ok(refund_no)) = (OrgCode::parse(org), medpay_schemas::RefundNo::parse(refund_no)) else {
        return Err(unknown());
    };
    state.ledger.get_refund(&org, &refund_no).await.map_err(ApiError::ledger_unavailable)?.ok_or_else(unknown)
}
