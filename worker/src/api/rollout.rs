//! The rollout gate at the API (REQ O-5 go-live): a new payment outside the hospital's gate is
//! refused (403 `NOT_OPEN_FOR_PATIENT` / `HOSPITAL_SUSPENDED`) so the HIS falls back to the
//! counter; operators read and change the gate at `/v1/hospitals/{org}/rollout`. The gate is
//! read from the ledger at most every `CACHE_FOR` per instance, so a change reaches every
//! instance within that time.

use super::AppState;
use super::body::Body;
use super::error::{ApiError, ErrorCode};
use axum::Json;
use axum::extract::{Path, State};
use medpay_activities::parties::HospitalParties;
use medpay_activities::rollout::gate::{self, Rollout};
use medpay_activities::rollout::service::{self, ChangeError, ChangeRequest, Status};
use medpay_schemas::payment_flow::Scene;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const CACHE_FOR: Duration = Duration::from_secs(2);

/// Each hospital's gate as last read, and when.
#[derive(Default)]
pub struct GateCache(Mutex<HashMap<String, (Instant, Rollout)>>);

impl GateCache {
    fn get(&self, org: &str) -> Option<Rollout> {
        let map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(org).filter(|(at, _)| at.elapsed() < CACHE_FOR).map(|(_, r)| r.clone())
    }

    fn put(&self, org: &str, r: Rollout) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(org.to_string(), (Instant::now(), r));
    }
}

fn hospital<'a>(state: &'a AppState, org: &str) -> Result<&'a HospitalParties, ApiError> {
    state.parties.as_ref().and_then(|p| p.hospitals.get(org)).ok_or_else(|| {
        ApiError::new(ErrorCode::UnknownHospital, format!("hospital {org} is not configured in this deployment"))
    })
}

/// May this patient start a payment? Called before a payment's first creation only: a retried
/// create of a payment that exists is answered as before, whatever the gate says now.
pub async fn admit(state: &AppState, org: &str, openid: &str, scene: Scene) -> Result<(), ApiError> {
    let Ok(h) = hospital(state, org) else { return Ok(()) };
    let r = match state.gates.get(org) {
        Some(r) => r,
        None => {
            let r = service::current(&state.ledger, h).await.map_err(ApiError::ledger_unavailable)?;
            state.gates.put(org, r.clone());
            r
        }
    };
    gate::admits(org, &r, &h.test_openids, openid, scene).map_err(|refusal| {
        medpay_activities::metrics::inc(
            medpay_activities::metrics::GATE_REFUSALS,
            &[("org", org), ("code", refusal.code())],
        );
        let code = match refusal {
            gate::Refusal::NotOpenForPatient { .. } => ErrorCode::NotOpenForPatient,
            gate::Refusal::Suspended { .. } => ErrorCode::HospitalSuspended,
        };
        ApiError::new(code, refusal.to_string())
    })
}

pub async fn get(State(state): State<AppState>, Path(org): Path<String>) -> Result<Json<Status>, ApiError> {
    let h = hospital(&state, &org)?;
    Ok(Json(service::status(&state.ledger, h).await.map_err(ApiError::ledger_unavailable)?))
}

pub async fn set(
    State(state): State<AppState>,
    Path(org): Path<String>,
    Body(req): Body<ChangeRequest>,
) -> Result<Json<Status>, ApiError> {
    let h = hospital(&state, &org)?;
    let status =
        service::change(&state.ledger, h, req, medpay_activities::http::now_ms()).await.map_err(|e| match e {
            ChangeError::Refused(t @ (gate::TransitionError::Share(_) | gate::TransitionError::NotPilot)) => {
                ApiError::new(ErrorCode::InvalidRollout, t.to_string())
            }
            ChangeError::Refused(t) => ApiError::new(transition_code(&t), t.to_string()),
            ChangeError::Invalid(m) => ApiError::new(ErrorCode::InvalidRollout, m),
            ChangeError::Store(s) => ApiError::ledger_unavailable(s),
        })?;
    state.gates.put(&org, status.rollout.clone());
    Ok(Json(status))
}

fn transition_code(t: &gate::TransitionError) -> ErrorCode {
    match t {
        gate::TransitionError::AcceptanceRequired { .. } => ErrorCode::AcceptanceRequired,
        gate::TransitionError::ConfigStage { .. } => ErrorCode::ConfigurationStage,
        gate::TransitionError::Share(_) | gate::TransitionError::NotPilot => ErrorCode::InvalidRollout,
    }
}
