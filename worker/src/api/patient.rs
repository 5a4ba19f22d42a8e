//! The patient's page (REQ E-4.4): the HIS asks for a per-bill link, the patient opens it on the
//! phone and walks the bill → the channel's authorisation → the insurance split → confirm → the
//! cashier → the result. The page's own API answers only to the link's token: one bill, for a
//! limited time, nothing else. The page itself is static files built into the binary
//! (`patient_page.rs`).

use super::AppState;
use super::body::Body;
use super::error::{ApiError, ErrorCode};
use super::payments::{PaymentRow, confirm_payment, payment_row, start, validate_bill};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use medpay_activities::ledger::patient_links::PatientLink;
use medpay_schemas::failure::PaymentFailure;
use medpay_schemas::patient::{
    LINK_TTL_MAX_SECS, LINK_TTL_MIN_SECS, PatientBill, PatientLine, PatientLinkRequest, PatientRefunds, PatientSplit,
    PatientStep, PatientView,
};
use medpay_schemas::payment::PaymentState;
use medpay_schemas::payment_flow::{Channel, PaymentRequest, Scene};
use medpay_schemas::refund::RefundState;
use medpay_schemas::{MedOrgOrd, OrgCode, Secret};
use serde::Deserialize;
use serde_json::json;

/// The page's address for a token, as the patient's browser reaches medpay.
fn page_url(state: &AppState, token: &str) -> String {
    format!("{}/patient/?t={token}", state.config.patient_public_url())
}

fn digest(token: &str) -> String {
    hex::encode(medpay_crypto::sm3::sm3(token.as_bytes()))
}

/// `POST /v1/payments/{org}/{ord}/patient-link` (the HIS, with its API key).
pub async fn create_link(
    State(state): State<AppState>,
    Path((org, ord)): Path<(String, String)>,
    Body(req): Body<PatientLinkRequest>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let invalid = |m: String| ApiError::new(ErrorCode::InvalidPatientLink, m);
    let org = OrgCode::parse(org).map_err(|e| invalid(e.to_string()))?;
    let ord = MedOrgOrd::parse(ord).map_err(|e| invalid(e.to_string()))?;
    let ttl = req.ttl_secs.unwrap_or(state.config.patient.link_ttl_secs);
    if !(LINK_TTL_MIN_SECS..=LINK_TTL_MAX_SECS).contains(&ttl) {
        return Err(invalid(format!("ttl_secs {ttl} is outside {LINK_TTL_MIN_SECS}..={LINK_TTL_MAX_SECS}")));
    }
    let bill = match &req.bill {
        Some(b) => {
            validate_bill(&org, b.scene, &b.lines, b.visit.as_ref(), &b.openid, &state)?;
            super::payments::validate_channel(&org, b.channel, &state)?;
            let text = serde_json::to_string(b).map_err(|e| invalid(e.to_string()))?;
            // One HIS order, one bill: a second link for the order must carry the same bill, as a
            // repeated create must carry the same body.
            let earlier = state.ledger.patient_bill_of(&org, &ord).await.map_err(ApiError::ledger_unavailable)?;
            if earlier.as_ref().is_some_and(|e| serde_json::from_str::<PatientBill>(e).ok().as_ref() != Some(b)) {
                return Err(ApiError::new(
                    ErrorCode::PaymentConflict,
                    format!(
                        "HIS order {org}/{ord} already has a link with another bill: a changed bill needs a new HIS order no."
                    ),
                ));
            }
            // A first link for a patient the rollout gate does not admit: the HIS falls back to
            // the counter now rather than after the patient has authorised.
            if earlier.is_none() {
                super::rollout::admit(&state, &org, &b.openid, b.scene).await?;
            }
            Some(text)
        }
        None => {
            // A link to a payment the HIS created itself: it must exist.
            payment_row(&state, &org, &ord).await?;
            None
        }
    };
    let token = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        medpay_crypto::random::random_bytes::<24>()
            .map_err(|e| ApiError::new(ErrorCode::RandomFailed, e.to_string()))?,
    );
    let now = medpay_activities::http::now_ms();
    let expires_at_ms = now + i64::try_from(ttl).unwrap_or(i64::MAX / 2) * 1000;
    let link = PatientLink { org_code: org.clone(), med_org_ord: ord.clone(), bill, expires_at_ms };
    state.ledger.put_patient_link(&digest(&token), &link, now).await.map_err(ApiError::ledger_unavailable)?;
    let path = format!("/patient/?t={token}");
    Ok((
        StatusCode::CREATED,
        Json(json!({"url": page_url(&state, &token), "path": path, "expires_at_ms": expires_at_ms})),
    ))
}

/// The page's token, from `?t=`.
#[derive(Deserialize)]
pub struct Token {
    pub t: Option<String>,
}

/// The link behind a token: 404 for none, 410 once it has expired.
async fn link_of(state: &AppState, token: &Token) -> Result<(String, PatientLink), ApiError> {
    let t = token
        .t
        .as_deref()
        .filter(|t| !t.is_empty() && t.len() <= 64)
        .ok_or_else(|| ApiError::new(ErrorCode::LinkUnknown, "this page needs the link the hospital sent"))?;
    let link =
        state.ledger.get_patient_link(&digest(t)).await.map_err(ApiError::ledger_unavailable)?.ok_or_else(|| {
            ApiError::new(ErrorCode::LinkUnknown, "this link is not known: open the bill again from the hospital's app")
        })?;
    if link.expires_at_ms <= medpay_activities::http::now_ms() {
        return Err(ApiError::new(
            ErrorCode::LinkExpired,
            "this link has expired: open the bill again from the hospital's app",
        ));
    }
    Ok((t.to_string(), link))
}

fn step_of(state: PaymentState) -> PatientStep {
    match state {
        PaymentState::Created | PaymentState::Authorised | PaymentState::Uploaded => PatientStep::Working,
        PaymentState::PreSettled => PatientStep::Split,
        PaymentState::Confirmed => PatientStep::Ordering,
        PaymentState::Ordered => PatientStep::Cashier,
        PaymentState::PendingReconciliation => PatientStep::Confirming,
        PaymentState::Paid => PatientStep::Paid,
        PaymentState::Failed => PatientStep::Failed,
        PaymentState::Cancelled => PatientStep::Cancelled,
    }
}

/// A URL template with `{return}`, `{channel}` and `{mix_trade_no}` filled in, query-encoded.
fn fill(template: &str, return_to: &str, channel: Channel, mix_trade_no: &str) -> String {
    let enc = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    template
        .replace("{return}", &enc(return_to))
        .replace("{channel}", channel.as_str())
        .replace("{mix_trade_no}", &enc(mix_trade_no))
}

async fn view(state: &AppState, token: &str, link: &PatientLink) -> Result<PatientView, ApiError> {
    let row = state.ledger.get(&link.org_code, &link.med_org_ord).await.map_err(ApiError::ledger_unavailable)?;
    let bill: Option<PatientBill> = link.bill.as_deref().and_then(|b| serde_json::from_str(b).ok());
    let return_to = page_url(state, token);
    let patient = &state.config.patient;
    let mut v = PatientView {
        org_code: link.org_code.clone(),
        med_org_ord: link.med_org_ord.clone(),
        scene: bill.as_ref().map_or(Scene::Outpatient, |b| b.scene),
        lines: bill
            .as_ref()
            .map(|b| b.lines.iter().map(|l| PatientLine { name: l.name.clone(), amount_fen: l.amount_fen }).collect())
            .unwrap_or_default(),
        total_fen: bill.as_ref().map_or(0, |b| b.lines.iter().map(|l| l.amount_fen).sum()),
        step: PatientStep::Bill,
        split: None,
        authorise_url: None,
        cashier_url: None,
        failure_code: None,
        refunds: None,
        link_expires_at_ms: link.expires_at_ms,
        confirm_by_ms: None,
    };
    let Some(row) = row else {
        let channel = bill.as_ref().map_or(Channel::Wechat, |b| b.channel);
        v.authorise_url =
            Some(fill(&patient.authorise_url, &return_to, channel, "")).filter(|_| !patient.authorise_url.is_empty());
        return Ok(v);
    };
    fill_from_payment(state, &mut v, &row, &return_to).await?;
    Ok(v)
}

async fn fill_from_payment(
    state: &AppState,
    v: &mut PatientView,
    row: &PaymentRow,
    return_to: &str,
) -> Result<(), ApiError> {
    let ps = row.state;
    v.total_fen = row.total_fen;
    v.step = step_of(ps);
    if let (Some(fund_fen), Some(psn_acct_fen), Some(own_pay_fen)) = (row.fund_fen, row.psn_acct_fen, row.own_pay_fen) {
        v.split = Some(PatientSplit { fund_fen, psn_acct_fen, own_pay_fen });
    }
    if ps == PaymentState::PreSettled {
        v.confirm_by_ms =
            Some(row.updated_at_ms + i64::try_from(state.payment.confirm_deadline_secs).unwrap_or(0) * 1000);
    }
    if let (PaymentState::Ordered, Some(mix)) = (ps, &row.mix_trade_no) {
        v.cashier_url = Some(fill(&state.config.patient.cashier_url, return_to, Channel::Wechat, mix))
            .filter(|_| !state.config.patient.cashier_url.is_empty());
    }
    if matches!(ps, PaymentState::Failed) {
        v.failure_code =
            PaymentFailure::view_of(ps, row.failure_reason.as_deref()).map(|f| f.failure.code.as_str().to_string());
    }
    if ps == PaymentState::Paid {
        let refunds = state.ledger.refunds_of(row.id).await.map_err(ApiError::ledger_unavailable)?;
        if !refunds.is_empty() {
            let done = |r: &&medpay_activities::ledger::entities::refund::Model| r.state == RefundState::Refunded;
            let refunded_fen = refunds.iter().filter(done).map(|r| r.fund_fen + r.psn_acct_fen + r.cash_fen).sum();
            let pending = refunds.iter().any(|r| !r.state.is_terminal());
            v.refunds = Some(PatientRefunds { refunded_fen, pending });
        }
    }
    Ok(())
}

/// `GET /patient/api/bill?t=`: what the page shows.
pub async fn bill(
    State(state): State<AppState>,
    super::body::QueryOptions(t): super::body::QueryOptions<Token>,
) -> Result<Json<PatientView>, ApiError> {
    let (token, link) = link_of(&state, &t).await?;
    Ok(Json(view(&state, &token, &link).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorised {
    pub auth_code: String,
}

/// `POST /patient/api/authorised?t=`: back from the channel's authorisation page with an
/// authCode; the payment starts with the link's bill (idempotent: a second tap or a reload is
/// the same payment).
pub async fn authorised(
    State(state): State<AppState>,
    super::body::QueryOptions(t): super::body::QueryOptions<Token>,
    Body(a): Body<Authorised>,
) -> Result<Json<PatientView>, ApiError> {
    let (token, link) = link_of(&state, &t).await?;
    if state.ledger.get(&link.org_code, &link.med_org_ord).await.map_err(ApiError::ledger_unavailable)?.is_none() {
        let bill: PatientBill = link.bill.as_deref().and_then(|b| serde_json::from_str(b).ok()).ok_or_else(|| {
            ApiError::new(
                ErrorCode::NoBill,
                "this link is to a payment the hospital starts itself: wait for it, or ask at the counter",
            )
        })?;
        if a.auth_code.trim().is_empty() || a.auth_code.len() > 128 {
            return Err(ApiError::new(
                ErrorCode::InvalidAuthCode,
                "the authorisation did not give a usable code: authorise again",
            ));
        }
        let request = PaymentRequest {
            org_code: link.org_code.clone(),
            med_org_ord: link.med_org_ord.clone(),
            scene: bill.scene,
            channel: bill.channel,
            access: bill.access,
            auth_code: Secret::new(a.auth_code),
            openid: bill.openid,
            lines: bill.lines,
            visit: bill.visit,
            use_personal_account: bill.use_personal_account,
        };
        validate_bill(
            &request.org_code,
            request.scene,
            &request.lines,
            request.visit.as_ref(),
            &request.openid,
            &state,
        )?;
        start(&state, &request).await?;
    }
    Ok(Json(view(&state, &token, &link).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub confirm: bool,
}

/// `POST /patient/api/confirm?t=`: the patient confirms (or declines) the split. Repeating it is
/// harmless: the workflow takes the first decision.
pub async fn decide(
    State(state): State<AppState>,
    super::body::QueryOptions(t): super::body::QueryOptions<Token>,
    Body(d): Body<Decision>,
) -> Result<Json<PatientView>, ApiError> {
    let (token, link) = link_of(&state, &t).await?;
    let row = payment_row(&state, &link.org_code, &link.med_org_ord).await?;
    if row.state == PaymentState::PreSettled {
        confirm_payment(&state, &link.org_code, &link.med_org_ord, d.confirm).await?;
    }
    Ok(Json(view(&state, &token, &link).await?))
}
