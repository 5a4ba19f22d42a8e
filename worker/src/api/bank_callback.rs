//! The bank's payment callback (REQ 6.1 step 12, S-4.1d): verify the notice's signature, append
//! it to the payment's exchange log, hand it to the payment workflow, and acknowledge it in the
//! bank's signed format; non-2xx when the hand-over failed, so the bank retries.
//!
//! Banks repeat a notice until it is acknowledged, and after an outage they repeat many at once.
//! A success notice for a payment already `Paid` changes nothing, so it is answered without
//! Temporal, from an in-process list of paid orders (`Paid` is terminal: an entry never goes
//! stale); its exchange-log row joins the ledger's group commit with the other appends. Only verified notices get
//! this far; a forged one is refused and counted, and the workflow finds the truth by querying.

use super::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use medpay_activities::ledger::{LedgerError, NewEvent, PaymentMove};
use medpay_schemas::payment::PaymentState;
use medpay_schemas::status::MixPayStatus;
use medpay_schemas::wire::bank::{BankNotice, MixedOrderState, SelfPayNotice};
use medpay_workflows::payment::PaymentWorkflow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use temporalio_client::WorkflowSignalOptions;

/// Counted for `/metrics`: callbacks whose signature did not verify (REQ S-4.1d).
pub static FORGED_CALLBACKS: AtomicU64 = AtomicU64::new(0);

/// Paid orders remembered; past this the list starts over (a miss only costs a ledger read).
const PAID_REMEMBERED: usize = 100_000;

/// A paid order as the desk remembers it: its ledger row and the HIS order no. it belongs to,
/// so a notice is matched on the whole order identity, never on the bank's number alone.
#[derive(Clone)]
struct PaidOrder {
    row_id: i64,
    org_code: medpay_schemas::OrgCode,
    med_org_ord: medpay_schemas::MedOrgOrd,
    out_trade_no: Option<medpay_schemas::OutTradeNo>,
}

/// The callback endpoint's own state: the paid orders it has seen. Per instance: a peer
/// instance's paid orders are found in the ledger (one read), never assumed.
#[derive(Default)]
pub struct CallbackDesk {
    /// `sub_mchid/mix_trade_no` -> the paid order.
    paid: Mutex<HashMap<String, PaidOrder>>,
}

impl CallbackDesk {
    fn paid_order(&self, key: &str) -> Option<PaidOrder> {
        self.paid.lock().ok()?.get(key).cloned()
    }

    fn remember_paid(&self, key: String, order: PaidOrder) {
        if let Ok(mut paid) = self.paid.lock() {
            if paid.len() >= PAID_REMEMBERED {
                paid.clear();
            }
            paid.insert(key, order);
        }
    }
}

/// Whether a notice names the same order as the ledger row its bank order number points at:
/// the HIS order no. (`serial_no`) and, once recorded, the institution order no.
fn same_order(
    notice: &medpay_schemas::wire::bank::MixedOrderState,
    med_org_ord: &str,
    out_trade_no: Option<&str>,
) -> bool {
    notice.serial_no.as_str() == med_org_ord && out_trade_no.is_none_or(|o| o == notice.out_trade_no.as_str())
}

/// A notice whose bank order number belongs to another payment: an integrity alarm, counted,
/// not acknowledged (the bank keeps it and repeats it) and handed to no workflow.
fn mismatch(org: &str, key: &str, notice: &medpay_schemas::wire::bank::MixedOrderState, med_org_ord: &str) -> Response {
    medpay_activities::exchange_log::DUPLICATE_BANK_ORDERS.fetch_add(1, Ordering::Relaxed);
    callback_seen(org, "mismatch");
    tracing::error!(
        bank_order = key,
        trace_id = %medpay_activities::trace::PaymentTrace::of(org, med_org_ord).trace_id_hex(),
        notice_his_order = notice.serial_no.as_str(),
        ledger_his_order = med_org_ord,
        "integrity alarm: a bank callback names an order number that belongs to another payment; not acted on"
    );
    (StatusCode::CONFLICT, "order numbers do not match the order this bank order no. belongs to").into_response()
}

/// Whether the notice's bank app is the app of the hospital that owns the order. Hospitals may
/// share one app (a group's or an HIS vendor's, told apart by sub_mchid); a notice under another
/// hospital's own app proves nothing about this order.
fn signed_for_owner(parties: &medpay_activities::parties::Parties, app_id: &str, org_code: &str) -> bool {
    parties.hospitals.get(org_code).is_some_and(|owner| owner.params.bank.app_id == app_id)
}

/// A notice signed under one hospital's bank app for another hospital's order: the signature
/// is that hospital's credential only, so it proves nothing about this order. Refused as forged
/// and counted; the order's own workflow finds its truth by querying.
fn other_hospital(signed_for: &str, order_of: &str, key: &str) -> Response {
    FORGED_CALLBACKS.fetch_add(1, Ordering::Relaxed);
    callback_seen(signed_for, "forged");
    tracing::warn!(
        signed_for,
        order_of,
        bank_order = key,
        "refused a bank callback signed for one hospital that names another hospital's order"
    );
    (StatusCode::UNAUTHORIZED, "the notice is signed for another hospital than the order's").into_response()
}

/// A self-pay order's payment notice (sent to the order's `mer_url` by banks that notify
/// self-pay results): recorded in the payment's exchange log and checked against the order —
/// the institution order no. and the self-pay amount — then acknowledged. Never acted on: under
/// interlink the mixed order's callback and query are the truth (REQ SR-7b). A notice whose
/// amount differs from the self-pay part is an integrity alarm, not acknowledged.
async fn self_pay_notice(
    state: &AppState,
    h: &medpay_activities::parties::HospitalParties,
    app_id: &str,
    msg_id: &str,
    n: SelfPayNotice,
    body: &str,
) -> Response {
    let org = &h.params.org_code;
    let Some(parties) = state.parties.as_ref() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "parties not configured").into_response();
    };
    // Hospitals sharing one bank app: the order is looked up under each hospital of the app.
    let mut row = None;
    for (code, other) in &parties.hospitals {
        if other.params.bank.app_id != app_id {
            continue;
        }
        match state.ledger.by_out_trade_no(code, n.out_trade_no.as_str()).await {
            Ok(Some(r)) => {
                row = Some(r);
                break;
            }
            Ok(None) => {}
            Err(_) => return (StatusCode::SERVICE_UNAVAILABLE, "ledger unavailable").into_response(),
        }
    }
    let Some(row) = row else {
        callback_seen(org, "unknown_order");
        return (StatusCode::NOT_FOUND, "unknown self-pay order").into_response();
    };
    let matches = row.own_pay_fen == Some(n.total_amt.fen());
    let event = NewEvent {
        at_ms: medpay_activities::http::now_ms(),
        party: "bank".into(),
        operation: "self-pay notice".into(),
        request: Some(body.as_bytes().to_vec()),
        response: None,
        signature_ok: Some(true),
        outcome: if matches { "ok" } else { "mismatch" }.into(),
        detail: format!(
            "verified self-pay notice {msg_id}: {} fen paid at the bank (recorded; the mixed order's result decides, REQ SR-7b)",
            n.total_amt.fen()
        ),
    };
    if let Err(e) = state.ledger.record_event(row.id, event).await {
        tracing::warn!(workflow_id = %row.workflow_id, "could not append the self-pay notice to the exchange log: {e}");
        return (StatusCode::SERVICE_UNAVAILABLE, "ledger unavailable").into_response();
    }
    if !matches {
        medpay_activities::exchange_log::DUPLICATE_BANK_ORDERS.fetch_add(1, Ordering::Relaxed);
        callback_seen(&row.org_code, "mismatch");
        tracing::error!(
            trace_id = %medpay_activities::trace::PaymentTrace::of(&row.org_code, &row.med_org_ord).trace_id_hex(),
            notice_fen = n.total_amt.fen(),
            own_pay_fen = ?row.own_pay_fen,
            "integrity alarm: a self-pay notice's amount differs from the payment's self-pay part; not acknowledged"
        );
        return (StatusCode::CONFLICT, "the notice's amount differs from the order's self-pay part").into_response();
    }
    callback_seen(&row.org_code, "self_pay_notice");
    acknowledge(&h.bank, msg_id)
}

pub async fn bank_callback(State(state): State<AppState>, body: String) -> Response {
    let at = std::time::SystemTime::now();
    let params: BTreeMap<String, String> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let Some(parties) = state.parties.as_ref() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "parties not configured").into_response();
    };
    let app_id = params.get("app_id").cloned().unwrap_or_default();
    // Not the bank's notice (an unknown app_id, a signature that does not verify): 401, the
    // signature is the bank's credential.
    let Some(h) = parties.by_bank_app_id(&app_id) else {
        return (StatusCode::UNAUTHORIZED, "unknown app_id").into_response();
    };
    let (msg_id, cb) = match h.bank.verify_callback(params) {
        Ok(v) => v,
        Err(e) => {
            FORGED_CALLBACKS.fetch_add(1, Ordering::Relaxed);
            callback_seen(&h.params.org_code, "forged");
            tracing::warn!(app_id, "refused a bank callback that does not verify: {e}");
            return (StatusCode::UNAUTHORIZED, "signature does not verify").into_response();
        }
    };
    let cb = match cb {
        BankNotice::Mixed(cb) => cb,
        BankNotice::SelfPay(n) => return self_pay_notice(&state, h, &app_id, &msg_id, n, &body).await,
    };
    let st = cb.state;
    let desk = &state.callbacks;
    let key = format!("{}/{}", st.sub_mchid.as_str(), st.mix_trade_no.as_str());
    let event = |at_ms| NewEvent {
        at_ms,
        party: "bank".into(),
        operation: "callback".into(),
        request: Some(body.clone().into_bytes()),
        response: None,
        signature_ok: Some(true),
        outcome: "ok".into(),
        detail: format!("verified callback {msg_id}: {}", st.mix_pay_status),
    };
    // A success notice for a payment the ledger already holds as paid adds nothing: logged and
    // acknowledged, no ledger read, no Temporal call (a storm of repeats must not load either).
    if st.mix_pay_status == MixPayStatus::Success
        && let Some(order) = desk.paid_order(&key)
    {
        if !signed_for_owner(parties, &app_id, &order.org_code) {
            return other_hospital(&h.params.org_code, &order.org_code, &key);
        }
        if !same_order(&st, &order.med_org_ord, order.out_trade_no.as_deref()) {
            return mismatch(&h.params.org_code, &key, &st, &order.med_org_ord);
        }
        if let Err(e) = state.ledger.record_event(order.row_id, event(medpay_activities::http::now_ms())).await {
            tracing::warn!(row_id = order.row_id, "could not append a repeated callback to the exchange log: {e}");
        }
        callback_seen(&h.params.org_code, "repeated");
        return acknowledge(&h.bank, &msg_id);
    }
    let row = match state.ledger.by_mix_trade_no(st.sub_mchid.as_str(), st.mix_trade_no.as_str()).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            callback_seen(&h.params.org_code, "unknown_order");
            return (StatusCode::NOT_FOUND, "unknown order").into_response();
        }
        Err(_) => return (StatusCode::SERVICE_UNAVAILABLE, "ledger unavailable").into_response(),
    };
    if !signed_for_owner(parties, &app_id, &row.org_code) {
        return other_hospital(&h.params.org_code, &row.org_code, &key);
    }
    if !same_order(&st, &row.med_org_ord, row.out_trade_no.as_deref()) {
        return mismatch(&row.org_code, &key, &st, &row.med_org_ord);
    }
    if let Err(e) = state.ledger.record_event(row.id, event(medpay_activities::http::now_ms())).await {
        tracing::warn!(workflow_id = %row.workflow_id, "could not append the callback to the exchange log: {e}");
    }
    if row.state == PaymentState::Paid && st.mix_pay_status == MixPayStatus::Success {
        desk.remember_paid(
            key,
            PaidOrder {
                row_id: row.id,
                org_code: row.org_code.clone(),
                med_org_ord: row.med_org_ord.clone(),
                out_trade_no: row.out_trade_no.clone(),
            },
        );
        callback_seen(&row.org_code, "repeated");
        return acknowledge(&h.bank, &msg_id);
    }
    hand_over(&state, h, &msg_id, &row, &st, at).await
}

/// Any notice that is not a repeat goes to the payment's workflow, which decides; a repeated
/// notice is one signal (deduplicated at Temporal by the callback's msg_id).
async fn hand_over(
    state: &AppState,
    h: &medpay_activities::parties::HospitalParties,
    msg_id: &str,
    row: &super::payments::PaymentRow,
    st: &MixedOrderState,
    at: std::time::SystemTime,
) -> Response {
    callback_seen(&row.org_code, "verified");
    let trace = medpay_activities::trace::PaymentTrace::of(&row.org_code, &row.med_org_ord);
    medpay_activities::trace::record(
        trace,
        "bank callback",
        at,
        std::time::SystemTime::now(),
        || {
            vec![
                ("medpay.org_code", row.org_code.to_string()),
                ("medpay.med_org_ord", row.med_org_ord.to_string()),
                ("medpay.mix_pay_status", st.mix_pay_status.code().to_string()),
            ]
        },
        false,
    );
    let options = WorkflowSignalOptions::builder().request_id(format!("cb-{msg_id}")).build();
    if let Err(e) = super::runs::signal_payment(
        &state.client,
        &state.runs,
        &row.workflow_id,
        || PaymentWorkflow::bank_callback,
        st.clone(),
        options,
    )
    .await
    {
        // A repeat of a callback for a payment whose outcome is already recorded (its workflow
        // has finished) changes nothing: acknowledge it, or the bank retries for nothing.
        let current = state.ledger.get(&row.org_code, &row.med_org_ord).await.ok().flatten();
        let now = current.as_ref().map(|p| p.state);
        if now.is_some_and(PaymentState::is_terminal) {
            return acknowledge(&h.bank, msg_id);
        }
        // A pending payment whose workflow stopped listening (after `late_callback_secs`): the
        // bank's verified word settles it here, or the bank would repeat it for ever.
        if let (
            temporalio_client::errors::WorkflowInteractionError::NotFound(_),
            Some(PaymentState::PendingReconciliation),
            Some(p),
        ) = (&e, now, current)
        {
            return settle_after_workflow(state, &h.bank, msg_id, &p, st).await;
        }
        tracing::warn!(workflow_id = %row.workflow_id, trace_id = %trace.trace_id_hex(), "could not hand the callback over: {e}");
        return (StatusCode::SERVICE_UNAVAILABLE, "could not hand over; retry").into_response();
    }
    acknowledge(&h.bank, msg_id)
}

/// A verified notice for a `PendingReconciliation` payment whose workflow has ended. Success
/// with the amounts the ledger holds (REQ SR-7b) records `Paid`; success with other amounts is
/// an integrity alarm (409, counted, not acted on); any other status is acknowledged and left
/// to the reconciliation, which settles pending payments from the statement.
async fn settle_after_workflow(
    state: &AppState,
    bank: &medpay_activities::bank::BankClient,
    msg_id: &str,
    p: &PaymentRow,
    st: &MixedOrderState,
) -> Response {
    let id = format!("{}/{}", p.org_code, p.med_org_ord);
    if st.mix_pay_status != MixPayStatus::Success {
        tracing::warn!(payment = %id, "a {} notice for a pending payment whose workflow has ended: left to the reconciliation", st.mix_pay_status);
        return acknowledge(bank, msg_id);
    }
    let ordered = [Some(p.total_fen), p.own_pay_fen, p.fund_fen, p.psn_acct_fen];
    let notified =
        [st.total_fee, st.wechat_pay_cash_fee, st.med_ins_gov_fee, st.med_ins_self_fee].map(|m| Some(m.fen()));
    if ordered != notified {
        medpay_activities::exchange_log::INTEGRITY_REFUSALS.fetch_add(1, Ordering::Relaxed);
        tracing::error!(payment = %id, ?ordered, ?notified, "integrity alarm: the bank's success notice does not carry the amounts ordered (REQ SR-7b); not acted on");
        return (StatusCode::CONFLICT, "the amounts do not match the order").into_response();
    }
    let now = medpay_activities::http::now_ms();
    let paid = PaymentMove::Paid {
        at_ms: now,
        bank: Some(st.into()),
        note: Some("settled by the bank's verified callback after its workflow had stopped waiting (REQ Q-9)".into()),
    };
    match state.ledger.advance(&p.org_code, &p.med_org_ord, paid, now).await {
        Ok(_) => {
            tell_his_settled_late(state, p).await;
            acknowledge(bank, msg_id)
        }
        Err(LedgerError::IllegalTransition { .. }) => acknowledge(bank, msg_id),
        Err(e) => {
            tracing::warn!(payment = %id, "could not record the late callback: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, "ledger unavailable; retry").into_response()
        }
    }
}

type PaymentRow = medpay_activities::ledger::entities::payment::Model;

/// Starts the HIS's notice of a payment settled after its workflow ended (its own workflow,
/// keyed by payment and event, retried for a day). Temporal unreachable: logged with the
/// payment, which the HIS still reads as Paid from the API and the day's reconciliation lists.
async fn tell_his_settled_late(state: &AppState, p: &PaymentRow) {
    let e = medpay_activities::his::HisEvent {
        org_code: p.org_code.clone(),
        med_org_ord: p.med_org_ord.clone(),
        event: "payment.settled_late".into(),
        message: "paid: the bank's verified callback arrived after the payment had stopped waiting (REQ Q-9)".into(),
        owed_fen: None,
    };
    let options = temporalio_client::WorkflowStartOptions::new(state.task_queue.to_string(), e.id())
        .id_conflict_policy(temporalio_client::WorkflowIdConflictPolicy::UseExisting)
        .id_reuse_policy(temporalio_client::WorkflowIdReusePolicy::RejectDuplicate)
        .build();
    if let Err(e) = state.client.start_workflow(medpay_workflows::his_notice::HisNoticeWorkflow::run, e, options).await
        && !matches!(e, temporalio_client::errors::WorkflowStartError::AlreadyStarted { .. })
    {
        tracing::warn!(payment = %format!("{}/{}", p.org_code, p.med_org_ord), "could not start the HIS notice of a late settlement: {e}");
    }
}

/// Counts a callback by outcome for `/metrics` (the org code, or the sub-merchant when the
/// notice names an order that is not the hospital's).
fn callback_seen(org: &str, outcome: &str) {
    medpay_activities::metrics::inc(medpay_activities::metrics::CALLBACKS, &[("org", org), ("outcome", outcome)]);
}

/// The signed acknowledgement the bank expects; without it the bank keeps repeating the notice.
fn acknowledge(bank: &medpay_activities::bank::BankClient, msg_id: &str) -> Response {
    match bank.acknowledge(msg_id) {
        Ok(ack) => ([(axum::http::header::CONTENT_TYPE, "application/json; charset=utf-8")], ack).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "cannot sign the acknowledgement").into_response(),
    }
}
