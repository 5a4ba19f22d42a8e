//! The HIS's payment API: create (idempotent on the HIS order no.: same body -> same payment,
//! other body -> 409), read (with a long poll), confirm, cancel. The bank's callback endpoint
//! is in `bank_callback.rs`.

use super::AppState;
use super::body::Body;
use super::error::{ApiError, ErrorCode};
use super::runs::signal_payment;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use medpay_activities::ledger::{CreateOutcome, LedgerError, NewPayment};
use medpay_activities::trace;
use medpay_crypto::envelope::canonical::{NumberStyle, canonical_data};
use medpay_schemas::failure::PaymentFailure;
use medpay_schemas::payment::PaymentState;
use medpay_schemas::payment_flow::{BillLine, Channel, PaymentInput, PaymentRequest, PaymentView, Scene, Visit};
use medpay_schemas::{MedOrgOrd, Money, OrgCode};
use medpay_workflows::payment::PaymentWorkflow;
use medpay_workflows::search;
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;
use temporalio_client::errors::WorkflowStartError;
use temporalio_client::{
    WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowQueryOptions, WorkflowSignalOptions, WorkflowStartOptions,
};

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidPayment, message)
}

fn too_large(message: String) -> ApiError {
    ApiError::new(ErrorCode::AmountTooLarge, message)
}

fn validate(r: &PaymentRequest, state: &AppState) -> Result<(), ApiError> {
    if r.auth_code.expose().trim().is_empty() {
        return Err(invalid("auth_code is empty"));
    }
    validate_bill(&r.org_code, r.scene, &r.lines, r.visit.as_ref(), &r.openid, state)?;
    validate_channel(&r.org_code, r.channel, state)
}

/// A channel the hospital takes: Alipay needs the hospital's `[alipay]` configuration.
pub(super) fn validate_channel(org_code: &str, channel: Channel, state: &AppState) -> Result<(), ApiError> {
    let takes = state
        .parties
        .as_ref()
        .and_then(|p| p.hospitals.get(org_code))
        .is_some_and(|h| channel.is_wechat() || h.alipay.is_some());
    if !takes {
        return Err(ApiError::new(
            ErrorCode::ChannelNotConfigured,
            format!(
                "hospital {org_code} takes no {} payments: its configuration has no [{}] section",
                channel.as_str(),
                channel.as_str()
            ),
        ));
    }
    Ok(())
}

/// The checks of a bill, whoever sends it: the HIS's create, or the patient link's bill that
/// becomes a create once the patient has authorised.
pub(super) fn validate_bill(
    org_code: &OrgCode,
    scene: Scene,
    lines: &[BillLine],
    visit: Option<&Visit>,
    openid: &str,
    state: &AppState,
) -> Result<(), ApiError> {
    if lines.is_empty() {
        return Err(invalid("lines is empty: a bill needs at least one line"));
    }
    if let Some((i, _)) = lines.iter().enumerate().find(|(_, l)| l.code.trim().is_empty() || l.name.trim().is_empty()) {
        return Err(invalid(format!(
            "line {i} has an empty code or name: every line needs the hospital's catalogue code and the item's name"
        )));
    }
    if let Some(l) = lines.iter().find(|l| l.amount_fen <= 0) {
        return Err(invalid(format!("line {} has a non-positive amount {} fen", l.code, l.amount_fen)));
    }
    let limits = &state.config.api.limits;
    if let Some(l) = lines.iter().find(|l| l.amount_fen > limits.max_line_fen) {
        return Err(too_large(format!(
            "line {} is {} fen, above this deployment's limit of {} fen per line (api.limits.max_line_fen)",
            l.code, l.amount_fen, limits.max_line_fen
        )));
    }
    let total = Money::checked_sum(lines.iter().map(|l| Money::from_fen(l.amount_fen)))
        .map_err(|e| too_large(format!("the bill's total does not fit: {e}")))?;
    if total.fen() > limits.max_bill_fen {
        return Err(too_large(format!(
            "the bill is {} fen, above this deployment's limit of {} fen per bill (api.limits.max_bill_fen)",
            total.fen(),
            limits.max_bill_fen
        )));
    }
    if openid.trim().is_empty() {
        return Err(invalid("openid is empty: the patient's openid in the hospital's app is needed for the cashier"));
    }
    // What the mid-platform's fee upload (6201) needs: refused here, with the field named,
    // rather than by the platform after the patient has authorised.
    let bill = |e: medpay_schemas::bill::BillError| ApiError::new(ErrorCode::InvalidBill, e.to_string());
    medpay_schemas::bill::check_lines(lines).map_err(bill)?;
    medpay_schemas::bill::check_visit(visit, scene == Scene::Outpatient).map_err(bill)?;
    let parties = state
        .parties
        .as_ref()
        .ok_or_else(|| ApiError::new(ErrorCode::PartiesNotConfigured, "parties.params_file is not configured"))?;
    if !parties.hospitals.contains_key(org_code) {
        return Err(ApiError::new(ErrorCode::UnknownHospital, format!("hospital {} is not configured", org_code)));
    }
    Ok(())
}

/// The create body as a `PaymentRequest`. Its ids are checked first, so a malformed org code or
/// HIS order no. is the payment's invalid input (`INVALID_PAYMENT`, naming the field) like every
/// other check of the bill, not a shape error; then the body is read into the typed request.
fn payment_request(body: serde_json::Value) -> Result<PaymentRequest, ApiError> {
    let text = |field: &str| body.get(field).and_then(serde_json::Value::as_str).map(str::to_string);
    if let Some(org) = text("org_code") {
        OrgCode::parse(org).map_err(|e| invalid(format!("org_code: {e}")))?;
    }
    if let Some(ord) = text("med_org_ord") {
        MedOrgOrd::parse(ord).map_err(|e| invalid(format!("med_org_ord: {e}")))?;
    }
    serde_path_to_error::deserialize(body)
        .map_err(|e| ApiError::new(ErrorCode::InvalidBody, format!("the body does not have the documented shape: {e}")))
}

pub async fn create(State(state): State<AppState>, Body(body): Body<serde_json::Value>) -> Result<Response, ApiError> {
    let r = payment_request(body)?;
    validate(&r, &state)?;
    // The root span of the payment's trace (`trace`), whatever the outcome of this request.
    let at = std::time::SystemTime::now();
    let answer = start(&state, &r).await;
    let status = answer.as_ref().map(|r| r.status().as_u16()).unwrap_or_else(|e| e.status().as_u16());
    let attributes = || {
        vec![
            ("medpay.org_code", r.org_code.to_string()),
            ("medpay.med_org_ord", r.med_org_ord.to_string()),
            ("http.response.status_code", status.to_string()),
        ]
    };
    trace::record_root(
        trace::PaymentTrace::of(&r.org_code, &r.med_org_ord),
        "HIS create payment",
        at,
        std::time::SystemTime::now(),
        attributes,
        answer.is_err(),
    );
    answer
}

pub(super) async fn start(state: &AppState, r: &PaymentRequest) -> Result<Response, ApiError> {
    let body = serde_json::to_value(r).map_err(|e| invalid(e.to_string()))?;
    let fingerprint = hex::encode(medpay_crypto::sm3::sm3(canonical_data(&body, NumberStyle::Literal).as_bytes()));
    let id = medpay_schemas::workflow_ids::payment(&r.org_code, &r.med_org_ord);
    let total = r.total().map_err(|e| invalid(e.to_string()))?;
    // The rollout gate decides new payments only: a retried create of one that exists is
    // answered as before, whatever the gate says now.
    if let Err(refused) = super::rollout::admit(state, &r.org_code, &r.openid, r.scene).await
        && state.ledger.get(&r.org_code, &r.med_org_ord).await.map_err(ApiError::ledger_unavailable)?.is_none()
    {
        return Err(refused);
    }
    let now = medpay_activities::http::now_ms();
    let created = state
        .ledger
        .create_payment(NewPayment {
            org_code: r.org_code.clone(),
            med_org_ord: r.med_org_ord.clone(),
            workflow_id: id.clone(),
            request_fingerprint: fingerprint,
            total,
            now_ms: now,
        })
        .await
        .map_err(|e| match e {
            LedgerError::Conflict { .. } => ApiError::new(ErrorCode::PaymentConflict, e.to_string()),
            other => ApiError::ledger_unavailable(other),
        })?;
    // Starting is idempotent too: a retried create after a crash reuses the running workflow.
    // The identity goes with the start (no upsert event in the history); the workflow sets the
    // state once the payment needs an operator or has ended.
    let attributes = search::identity(&r.org_code, &r.med_org_ord);
    // A payment that has ended is never started again: its workflow id is not reused (a retried
    // create of a paid bill would otherwise run a second payment on the same HIS order).
    let options = WorkflowStartOptions::new(state.task_queue.to_string(), id.clone())
        .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
        .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
        .search_attributes(temporalio_common::search_attributes::SearchAttributes::new(attributes))
        .build();
    let (CreateOutcome::New(row) | CreateOutcome::Existing(row)) = &created;
    let ended = row.state.is_terminal();
    if !ended {
        let input = PaymentInput { request: r.clone(), timings: state.payment, created_at_ms: row.created_at_ms };
        match state.client.start_workflow(PaymentWorkflow::run, input, options).await {
            Ok(started) => {
                if let Some(run_id) = started.run_id() {
                    state.runs.remember(&id, run_id);
                }
            }
            // Its workflow ran and closed (the ledger row is about to show how): the same payment.
            Err(WorkflowStartError::AlreadyStarted { .. }) => {}
            Err(e) => return Err(ApiError::temporal_unavailable(e)),
        }
    }
    let status = if matches!(created, CreateOutcome::New(_)) {
        medpay_activities::metrics::inc(
            medpay_activities::metrics::PAYMENTS_STARTED,
            &[("org", &r.org_code), ("scene", r.scene.as_str())],
        );
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({"workflow_id": id, "status_url": format!("/v1/payments/{}/{}", r.org_code, r.med_org_ord)})),
    )
        .into_response())
}

/// The ledger row of a payment, or the API's 404 / 503.
pub(super) type PaymentRow = medpay_activities::ledger::entities::payment::Model;

pub(super) async fn payment_row(state: &AppState, org: &str, ord: &str) -> Result<PaymentRow, ApiError> {
    let unknown = || ApiError::new(ErrorCode::UnknownPayment, format!("no payment {org}/{ord}"));
    // Ids that cannot name a payment name none: the same 404 as an unknown one.
    let (Ok(org), Ok(ord)) = (OrgCode::parse(org), MedOrgOrd::parse(ord)) else { return Err(unknown()) };
    state.ledger.get(&org, &ord).await.map_err(ApiError::ledger_unavailable)?.ok_or_else(unknown)
}

/// `?view=false` reads the ledger only: a cheap status poll for an HIS (the workflow's view,
/// with the cashier package, costs a Temporal query); `&exchanges=false` leaves out the
/// exchange log too.
#[derive(Deserialize)]
pub struct ReadOptions {
    pub view: Option<bool>,
    /// Long poll: answer once the state is none of these (comma-separated), or after `wait_secs`.
    pub wait_while: Option<String>,
    pub wait_secs: Option<u64>,
    /// `false`: without the exchange log, one ledger read less per poll (an HIS waiting for a
    /// state has no use for it; an operator reading a payment has).
    pub exchanges: Option<bool>,
}

/// The longest a long poll is held; proxies commonly cut idle requests at 60 s.
const MAX_WAIT_SECS: u64 = 30;

/// Holds the request while the payment's state is one of `states`, for at most `secs`. The HIS
/// learns of a change within milliseconds without polling (each poll costs the worker a request
/// and a ledger read: docs/BENCHMARKS-decisions.md, the HIS's long poll).
async fn wait_while(state: &AppState, org: &str, ord: &str, states: &str, secs: u64) -> Result<PaymentRow, ApiError> {
    let mut waiting_for = Vec::new();
    for name in states.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let s = PaymentState::parse(name).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidQueryValue,
                format!(
                    "wait_while: {name:?} is not a payment state (one of {})",
                    PaymentState::ALL.map(PaymentState::as_str).join(", ")
                ),
            )
        })?;
        waiting_for.push(s.as_str());
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs.min(MAX_WAIT_SECS));
    // Subscribed, then read: a change in between is not missed.
    let mut changes = state.ledger.watch_payment(org, ord);
    let mut row = payment_row(state, org, ord).await?;
    while waiting_for.contains(&row.state.as_str()) && tokio::time::Instant::now() < deadline {
        // Woken by this payment's change in this process, with the changed row; otherwise (a
        // worker in another process) the row is read again every second.
        let tick = (tokio::time::Instant::now() + Duration::from_secs(1)).min(deadline);
        match tokio::time::timeout_at(tick, changes.changed()).await {
            Ok(Ok(())) => {
                let newer = changes
                    .borrow_and_update()
                    .as_ref()
                    .filter(|n| n.version > row.version)
                    .map(|n| PaymentRow::clone(n));
                row = match newer {
                    Some(n) => n,
                    None => payment_row(state, org, ord).await?,
                };
            }
            Ok(Err(_)) => {
                tokio::time::sleep_until(tick).await; // no news source any more: poll
                row = payment_row(state, org, ord).await?;
            }
            Err(_) => row = payment_row(state, org, ord).await?,
        }
    }
    Ok(row)
}

/// How long a status read waits for the workflow's view. A payment whose step is running inside
/// the worker (a local activity: a party that is slow or down, up to the step's 30 s)
/// answers queries only once that step's workflow task ends; the read does not wait for it:
/// `workflow` is null then and the ledger's state, amounts and exchanges are in the body as
/// always. Long enough for a view that needs the history replayed first (a restarted worker,
/// a busy machine: the runbook's key-rotation drill took over 2 s in CI).
const VIEW_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

pub async fn get(
    State(state): State<AppState>,
    Path((org, ord)): Path<(String, String)>,
    super::body::QueryOptions(o): super::body::QueryOptions<ReadOptions>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let row = match &o.wait_while {
        Some(states) => wait_while(&state, &org, &ord, states, o.wait_secs.unwrap_or(MAX_WAIT_SECS)).await?,
        None => payment_row(&state, &org, &ord).await?,
    };
    let handle = state.client.get_workflow_handle::<PaymentWorkflow>(&row.workflow_id);
    let view: Option<PaymentView> = if o.view == Some(false) {
        None
    } else {
        tokio::time::timeout(VIEW_WAIT, handle.query(PaymentWorkflow::status, (), WorkflowQueryOptions::default()))
            .await
            .ok()
            .and_then(Result::ok)
    };
    let mut body = json!({
        "org_code": row.org_code, "med_org_ord": row.med_org_ord, "workflow_id": row.workflow_id,
        "state": row.state, "total_fen": row.total_fen, "fund_fen": row.fund_fen, "psn_acct_fen": row.psn_acct_fen,
        "own_pay_fen": row.own_pay_fen, "pay_ord_id": row.pay_ord_id, "mix_trade_no": row.mix_trade_no,
        "refunded_fund_fen": row.refunded_fund_fen, "refunded_psn_acct_fen": row.refunded_psn_acct_fen, "refunded_cash_fen": row.refunded_cash_fen,
        "failure_reason": row.failure_reason.as_deref().map(|r| PaymentFailure::decode(r).message),
        "failure": PaymentFailure::view_of(row.state, row.failure_reason.as_deref()),
        "workflow": view,
    });
    if o.exchanges != Some(false) {
        let events: Vec<serde_json::Value> = state
            .ledger
            .events(row.id)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|e| json!({"at_ms": e.at_ms, "party": e.party, "operation": e.operation, "outcome": e.outcome, "signature_ok": e.signature_ok,
                             "request_sm3": e.request_digest, "response_sm3": e.response_digest, "detail": e.detail}))
            .collect();
        body["exchanges"] = events.into();
    }
    Ok(Json(body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confirm {
    pub confirm: bool,
}

pub async fn confirm(
    State(state): State<AppState>,
    Path((org, ord)): Path<(String, String)>,
    Body(c): Body<Confirm>,
) -> Result<StatusCode, ApiError> {
    let at = std::time::SystemTime::now();
    let answer = confirm_payment(&state, &org, &ord, c.confirm).await;
    let attributes = || {
        vec![
            ("medpay.org_code", org.clone()),
            ("medpay.med_org_ord", ord.clone()),
            ("medpay.confirm", c.confirm.to_string()),
        ]
    };
    trace::record(
        trace::PaymentTrace::of(&org, &ord),
        "HIS confirm",
        at,
        std::time::SystemTime::now(),
        attributes,
        answer.is_err(),
    );
    answer
}

pub(super) async fn confirm_payment(state: &AppState, org: &str, ord: &str, yes: bool) -> Result<StatusCode, ApiError> {
    // Unknown payments are 404 from the ledger; a signal that fails after that is Temporal being
    // unreachable (503, retry), not an unknown payment (found by `medpay-tools soak` restarting Temporal).
    let row = payment_row(state, org, ord).await?;
    if row.state.is_terminal() {
        return Err(ended(org, ord, row.state.as_str()));
    }
    signal_payment(
        &state.client,
        &state.runs,
        &row.workflow_id,
        || PaymentWorkflow::confirm,
        yes,
        WorkflowSignalOptions::default(),
    )
    .await
    .map_err(|e| {
        ApiError::signal_refused(e, ErrorCode::PaymentEnded, &format!("payment {org}/{ord}"), row.state.as_str())
    })?;
    Ok(StatusCode::ACCEPTED)
}

/// A confirmation or cancellation of a payment that has ended: 409 with its state, so an HIS that
/// retries 5xx does not retry this.
fn ended(org: &str, ord: &str, state: &str) -> ApiError {
    ApiError::new(
        ErrorCode::PaymentEnded,
        format!("payment {org}/{ord} is {state}: it has ended and takes no confirmation or cancellation"),
    )
}

/// The HIS cancels a payment before it is ordered (the same as the patient declining). Once the
/// bank has the order only the bank's outcome closes it, so this answers 409.
pub async fn cancel(
    State(state): State<AppState>,
    Path((org, ord)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let row = payment_row(&state, &org, &ord).await?;
    if !row.state.can_move_to(PaymentState::Cancelled) {
        return Err(ApiError::new(
            ErrorCode::PaymentNotCancellable,
            format!("payment {org}/{ord} is {}: it can no longer be cancelled", row.state),
        ));
    }
    signal_payment(
        &state.client,
        &state.runs,
        &row.workflow_id,
        || PaymentWorkflow::confirm,
        false,
        WorkflowSignalOptions::default(),
    )
    .await
    .map_err(|e| {
        ApiError::signal_refused(
            e,
            ErrorCode::PaymentNotCancellable,
            &format!("payment {org}/{ord}"),
            row.state.as_str(),
        )
    })?;
    Ok(StatusCode::ACCEPTED)
}
