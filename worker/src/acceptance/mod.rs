//! `medpay acceptance run` (REQ O-5 build phase step 2 and go-live step 3): the joint-test
//! matrix against the hospital's configured parties through the running product's HIS API,
//! progress on the terminal, a report (`report`), and the outcome per channel recorded in the
//! ledger for the rollout gate (a move to `live` needs a pass for the current configuration).

pub mod cases;
pub mod client;
mod drive;
pub mod matrix;
pub mod report;

use anyhow::Context;
use cases::{CaseResult, Patient, Run};
use client::{His, Sandbox};
use medpay_activities::ledger::Ledger;
use medpay_activities::rollout::service;
use medpay_activities::rollout::store::{self, Acceptance};
use std::path::PathBuf;
use std::time::Duration;

pub struct Options {
    pub org: medpay_schemas::OrgCode,
    /// One channel, or every channel the hospital takes.
    pub channel: Option<String>,
    /// The product's API (default: `http://` + `api.listen`).
    pub api: Option<String>,
    /// The API's CA when it serves HTTPS itself.
    pub api_ca: Option<PathBuf>,
    /// The sandbox's base URL: the run plays the patient there. Without it a test person acts.
    pub sandbox: Option<String>,
    pub sandbox_ca: Option<PathBuf>,
    /// The openid the payments are made under (an allow-listed test person's before live).
    pub openid: Option<String>,
    pub out: PathBuf,
    pub pdf: bool,
    /// How long a test person has per case.
    pub wait_mins: u64,
}

fn now_text() -> String {
    crate::commands::rollout::day_time(medpay_activities::http::now_ms())
}

fn today() -> String {
    medpay_schemas::time::BeijingDate::of(medpay_schemas::time::now_ms()).to_string()
}

fn progress(c: &CaseResult) {
    println!("  {} {:<40} {:>6} ms  {}", if c.passed { "PASS" } else { "FAIL" }, c.id, c.millis, c.reason);
}

/// Whether the server runs another configuration than this run reads (the report then fails):
/// the server's fingerprint from its rollout endpoint.
async fn fingerprint_mismatch(his: &His, base: &str, org: &str, fingerprint: &str) -> anyhow::Result<Option<String>> {
    let (status, server) = his
        .get(&format!("/v1/hospitals/{}/rollout", org))
        .await
        .with_context(|| format!("cannot reach the product's API at {base}"))?;
    anyhow::ensure!(status == 200, "the product's API at {base} answered HTTP {status} for hospital {}: {server}", org);
    let mismatch = (server["fingerprint"].as_str() != Some(fingerprint)).then(|| {
        format!(
            "the server runs configuration {} but this run's is {fingerprint}: run with the server's configuration",
            server["fingerprint"].as_str().unwrap_or("?")
        )
    });
    Ok(mismatch)
}

/// The outcome per channel in the ledger (`acceptance_reports`), which the rollout gate reads.
async fn record_outcomes(
    config: &crate::config::Config,
    report: &report::Report,
    channels: &[String],
    written: &[PathBuf],
) -> anyhow::Result<()> {
    let ledger = Ledger::connect(&config.ledger.url)
        .await
        .context("cannot open the ledger (ledger.url) to record the outcome")?;
    for channel in channels {
        let mine: Vec<&CaseResult> =
            report.cases.iter().filter(|c| c.channel == *channel || c.channel.contains(channel.as_str())).collect();
        let passed = report.passed_on(channel);
        let a = Acceptance {
            org_code: report.org_code.clone(),
            fingerprint: report.fingerprint.clone(),
            channel: channel.clone(),
            passed,
            cases_total: u32::try_from(mine.len()).unwrap_or(u32::MAX),
            cases_passed: u32::try_from(mine.iter().filter(|c| c.passed).count()).unwrap_or(u32::MAX),
            finished_at_ms: medpay_activities::http::now_ms(),
            report_path: written.get(1).map(|p| p.display().to_string()).unwrap_or_default(),
        };
        store::record_acceptance(&ledger, &a).await?;
        println!(
            "{channel}: {} ({}/{} cases)",
            if passed { "PASSED" } else { "FAILED" },
            a.cases_passed,
            a.cases_total
        );
    }
    Ok(())
}

/// Runs the matrix; `Ok(true)` when every case passed on every channel run.
pub async fn run(config: &crate::config::Config, o: Options) -> anyhow::Result<bool> {
    let parties = crate::load_parties(&config.parties)?
        .context("no hospitals are configured (parties.hospitals_dir or parties.params_file)")?;
    let h = parties.hospitals.get(&o.org).with_context(|| format!("hospital {} is not configured", o.org))?;
    let taken = service::channels(h);
    let channels = match &o.channel {
        Some(c) if taken.contains(c) => vec![c.clone()],
        Some(c) => anyhow::bail!("hospital {} takes no {c} payments (it takes {})", o.org, taken.join(", ")),
        None => taken.clone(),
    };
    let key = crate::api::guard::Guard::new(config.api.guard.clone())?.key_of(&o.org);
    let base = o.api.clone().unwrap_or_else(|| format!("http://{}", config.api.listen));
    let his = His::new(&base, key, o.api_ca.as_deref())?;
    let sandbox = match &o.sandbox {
        Some(url) => {
            let ca = o
                .sandbox_ca
                .clone()
                .or_else(|| config.parties.ca_file.clone())
                .unwrap_or_else(|| PathBuf::from(&h.config.channel.ca));
            Some(Sandbox::new(url, &ca)?)
        }
        None => None,
    };
    let fingerprint = service::fingerprint(h);
    let mismatch = fingerprint_mismatch(&his, &base, &o.org, &fingerprint).await?;
    let openid =
        o.openid.clone().or_else(|| h.test_openids.iter().next().cloned()).unwrap_or_else(|| "acceptance-run".into());
    let started_at = now_text();
    let prefix = format!("AC{}", medpay_activities::http::now_ms() / 1000 % 100_000_000);
    let against = if sandbox.is_some() {
        format!("sandbox {}", o.sandbox.clone().unwrap_or_default())
    } else {
        "the parties' environments (test persons act)".into()
    };
    println!(
        "acceptance run {prefix} for {} ({}) on {} against {against}; API {base}; openid {openid}",
        o.org,
        h.config.org_name,
        channels.join(" and ")
    );
    if let Some(m) = &mismatch {
        println!("  WARNING: {m}");
    }
    let run = Run {
        his: &his,
        patient: match &sandbox {
            Some(sb) => Patient::Sandbox(sb),
            None => Patient::Person { wait: Duration::from_secs(o.wait_mins * 60) },
        },
        org: o.org.clone(),
        openid,
        prefix,
    };
    let mut all = Vec::new();
    for channel in &channels {
        println!("{channel}:");
        let paid = matrix::payments(&run, channel, &progress).await;
        let refunds = matrix::refunds(&run, channel, &paid, &progress).await;
        all.extend(paid);
        all.extend(refunds);
    }
    all.push(matrix::reconciliation(&run, &today(), &channels.join("+"), &progress).await);
    let report = report::Report {
        org_code: o.org.clone(),
        org_name: h.config.org_name.clone(),
        channels: channels.clone(),
        against,
        config_stage: format!("{:?}", h.config.stage),
        fingerprint: fingerprint.clone(),
        passed: mismatch.is_none() && all.iter().all(|c| c.passed),
        fingerprint_mismatch: mismatch,
        medpay_version: env!("CARGO_PKG_VERSION").into(),
        started_at,
        finished_at: now_text(),
        temporal_ui: config.temporal.ui_url.clone(),
        namespace: config.temporal.namespace.clone(),
        cases: all,
    };
    let written = report::write(&report, &o.out, o.pdf)?;
    record_outcomes(config, &report, &channels, &written).await?;
    for p in &written {
        println!("  {}", p.display());
    }
    Ok(report.passed)
}
