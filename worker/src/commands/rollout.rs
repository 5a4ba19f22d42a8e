//! `medpay rollout status|set`: a hospital's rollout gate (REQ O-5 go-live) from the ledger,
//! as the operator API shows and changes it; no running service needed. Changes take effect on
//! every running instance within `api::rollout::CACHE_FOR`.

use anyhow::Context;
use medpay_activities::ledger::Ledger;
use medpay_activities::parties::HospitalParties;
use medpay_activities::rollout::RolloutStage;
use medpay_activities::rollout::service::{self, ChangeRequest, Status};
use medpay_schemas::payment_flow::Scene;

async fn open(config: &crate::config::Config, org: &str) -> anyhow::Result<(Ledger, HospitalParties)> {
    let parties = crate::load_parties(&config.parties)?
        .context("no hospitals are configured (parties.hospitals_dir or parties.params_file)")?;
    let h = parties
        .hospitals
        .get(org)
        .with_context(|| {
            format!(
                "hospital {org} is not configured (configured: {})",
                parties.hospitals.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })?
        .clone();
    let ledger = Ledger::connect(&config.ledger.url).await.context("cannot open the ledger (ledger.url)")?;
    Ok((ledger, h))
}

/// Beijing time, for people.
pub fn day_time(ms: i64) -> String {
    medpay_schemas::time::BeijingTime::of(ms).to_minute()
}

pub fn print(s: &Status) {
    let r = &s.rollout;
    let implicit = if r.implicit { " (no change recorded: follows the configuration's stage)" } else { "" };
    println!("{}: {}{implicit}", s.org_code, r.stage.as_str());
    if r.stage == RolloutStage::Pilot {
        let scenes = if r.scenes.is_empty() {
            "every scene".to_string()
        } else {
            r.scenes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        };
        println!("  pilot share: {}% of patients in {scenes}", r.share_percent);
    }
    println!("  allow-listed openids: {} (besides the onboarding file's test persons)", r.allow_openids.len());
    println!("  configuration: stage {:?}, fingerprint {}", s.config_stage, s.fingerprint);
    println!(
        "  channels: {}; accepted for this fingerprint: {}",
        s.channels.join(", "),
        if s.accepted_channels.is_empty() { "none".into() } else { s.accepted_channels.join(", ") }
    );
    for a in s.acceptances.iter().take(5) {
        let this = if a.fingerprint == s.fingerprint { "" } else { " (another configuration)" };
        println!(
            "    acceptance {} {}: {} {}/{} cases{this}  {}",
            day_time(a.finished_at_ms),
            a.channel,
            if a.passed { "PASSED" } else { "FAILED" },
            a.cases_passed,
            a.cases_total,
            a.report_path
        );
    }
    println!("  history (newest first):");
    if s.history.is_empty() {
        println!("    none");
    }
    for c in &s.history {
        println!("    {}  {} -> {}  by {}: {}", day_time(c.at_ms), c.from.as_str(), c.to.as_str(), c.actor, c.reason);
    }
}

pub async fn status(config: &crate::config::Config, org: &str) -> anyhow::Result<()> {
    let (ledger, h) = open(config, org).await?;
    print(&service::status(&ledger, &h).await?);
    Ok(())
}

pub struct SetArgs<'a> {
    pub stage: &'a str,
    pub share: u32,
    pub scenes: &'a [String],
    pub allow: Option<&'a [String]>,
    pub actor: &'a str,
    pub reason: &'a str,
}

pub async fn set(config: &crate::config::Config, org: &str, a: SetArgs<'_>) -> anyhow::Result<()> {
    let stage = RolloutStage::parse(a.stage).with_context(|| {
        format!("--stage {:?} is not one of onboarding, joint-test, closed-production, pilot, live, suspended", a.stage)
    })?;
    let scenes = a
        .scenes
        .iter()
        .map(|s| {
            serde_json::from_value::<Scene>(serde_json::Value::String(s.clone()))
                .map_err(|_| anyhow::anyhow!("--scenes: {s:?} is not registration, outpatient or pharmacy"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (ledger, h) = open(config, org).await?;
    let req = ChangeRequest {
        stage,
        share_percent: a.share,
        scenes,
        allow_openids: a.allow.map(|l| l.iter().cloned().collect()),
        actor: a.actor.to_string(),
        reason: a.reason.to_string(),
    };
    let s = service::change(&ledger, &h, req, medpay_activities::http::now_ms()).await?;
    print(&s);
    Ok(())
}
