//! The gate as the API and the CLI use it: a hospital's status (stage, configuration
//! fingerprint, acceptance reports, history) and a change checked against the rules and
//! recorded with who, when and why.

use super::gate::{Facts, Rollout, RolloutStage, TransitionError, check_transition};
use super::store::{self, Acceptance, Change, StoreError};
use crate::ledger::Ledger;
use crate::parties::HospitalParties;
use crate::parties::onboarding::Stage;
use medpay_schemas::payment_flow::Scene;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What an operator sees of a hospital's gate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Status {
    pub org_code: medpay_schemas::OrgCode,
    #[serde(flatten)]
    pub rollout: Rollout,
    /// The parties' environment the configuration names (`stage` in the hospital's file).
    pub config_stage: Stage,
    pub fingerprint: String,
    /// The channels the hospital takes; `live` needs a passing acceptance report on each.
    pub channels: Vec<String>,
    /// The channels with a passing acceptance report for `fingerprint`.
    pub accepted_channels: Vec<String>,
    pub acceptances: Vec<Acceptance>,
    pub history: Vec<Change>,
}

/// A requested change.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeRequest {
    pub stage: RolloutStage,
    #[serde(default)]
    pub share_percent: u32,
    #[serde(default)]
    pub scenes: Vec<Scene>,
    /// Replaces the extra allowlist when present (test devices' openids).
    #[serde(default)]
    pub allow_openids: Option<BTreeSet<String>>,
    /// Who asks (an operator's name or id).
    pub actor: String,
    /// Why (a ticket, "acceptance passed", "incident 12").
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("{0}")]
    Refused(#[from] TransitionError),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// The SM3 of what a joint test proved: the hospital's configuration (endpoints, profiles,
/// codes, stage) and the credentials' identifiers and public keys — never a secret. A report
/// is for this fingerprint: change a party's host or key and the acceptance must run again.
pub fn fingerprint(h: &HospitalParties) -> String {
    let p = &h.params;
    let public = serde_json::json!({
        "channel": [&p.channel.partner_id, &p.channel.alipay_app_id, &p.channel.alipay_platform_public_key, &p.channel.org_chnl_crtf_code],
        "mid": [&p.mid_platform.app_id, &p.mid_platform.hospital_public_key, &p.mid_platform.platform_public_key],
        "bank": [&p.bank.app_id, &p.bank.mer_id, &p.bank.hospital_id, &p.bank.sub_mchid, &p.bank.shop_appid, &p.bank.hospital_public_key, &p.bank.bank_public_key],
        "core": p.core.as_ref().map(|c| (&c.hospital_public_key, &c.core_public_key)),
    });
    let config = serde_json::to_string(&h.config).unwrap_or_default();
    hex::encode(medpay_crypto::sm3::sm3(format!("{config}\n{public}").as_bytes()))
}

/// The channels a hospital takes.
pub fn channels(h: &HospitalParties) -> Vec<String> {
    let mut c = vec!["wechat".to_string()];
    if h.alipay.is_some() {
        c.push("alipay".into());
    }
    c
}

/// The gate in force: the recorded one, or the configuration's implicit one.
pub async fn current(ledger: &Ledger, h: &HospitalParties) -> Result<Rollout, StoreError> {
    Ok(store::read(ledger, &h.config.org_code).await?.unwrap_or_else(|| Rollout::implicit(h.config.stage)))
}

pub async fn status(ledger: &Ledger, h: &HospitalParties) -> Result<Status, StoreError> {
    let org = &h.config.org_code;
    let fingerprint = fingerprint(h);
    let acceptances = store::acceptances(ledger, org, 20).await?;
    let mut accepted_channels: Vec<String> =
        acceptances.iter().filter(|a| a.passed && a.fingerprint == fingerprint).map(|a| a.channel.clone()).collect();
    accepted_channels.sort();
    accepted_channels.dedup();
    Ok(Status {
        org_code: org.clone(),
        rollout: current(ledger, h).await?,
        config_stage: h.config.stage,
        channels: channels(h),
        accepted_channels,
        fingerprint,
        acceptances,
        history: store::history(ledger, org, 50).await?,
    })
}

/// Checks and records a change; the same change again is recorded again (it is an operator's
/// act with its own reason), never refused.
pub async fn change(
    ledger: &Ledger,
    h: &HospitalParties,
    req: ChangeRequest,
    now_ms: i64,
) -> Result<Status, ChangeError> {
    if req.actor.trim().is_empty() || req.reason.trim().is_empty() {
        return Err(ChangeError::Invalid(
            "actor and reason are required: every change records who made it and why".into(),
        ));
    }
    if let Some(bad) = req.allow_openids.iter().flatten().find(|o| o.is_empty() || o.contains(',')) {
        return Err(ChangeError::Invalid(format!(
            "allow_openids: {bad:?} is not an openid (empty or contains a comma)"
        )));
    }
    let before = status(ledger, h).await?;
    let channels: Vec<&str> = before.channels.iter().map(String::as_str).collect();
    let facts = Facts {
        config: h.config.stage,
        fingerprint: &before.fingerprint,
        channels: &channels,
        passed_channels: &before.accepted_channels,
    };
    check_transition(&h.config.org_code, req.stage, req.share_percent, !req.scenes.is_empty(), &facts)?;
    let share_percent = u8::try_from(req.share_percent).map_err(|_| TransitionError::Share(req.share_percent))?;
    let next = Rollout {
        stage: req.stage,
        share_percent,
        scenes: req.scenes.clone(),
        allow_openids: req.allow_openids.unwrap_or_else(|| before.rollout.allow_openids.clone()),
        implicit: false,
    };
    let record = Change {
        at_ms: now_ms,
        actor: req.actor,
        reason: req.reason,
        from: before.rollout.stage,
        to: req.stage,
        share_percent,
        scenes: req.scenes,
        fingerprint: before.fingerprint.clone(),
    };
    store::write(ledger, &h.config.org_code, &next, &record).await?;
    Ok(status(ledger, h).await?)
}
