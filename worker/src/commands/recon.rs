//! `medpay recon run`: reconcile one period through the worker and print the summary; and
//! `medpay-tools bench recon`: generate a day of N statement lines with a matching ledger and planted
//! exceptions, reconcile it (load + classify, the workflow's heavy activities) and print lines/s
//! and peak memory, checking that exactly the planted exceptions were found.

// Rates and MiB for display only; money stays integer fen.
#![allow(clippy::float_arithmetic, clippy::cast_precision_loss)]

use anyhow::Context;
use medpay_activities::ledger::Ledger;
use medpay_schemas::recon::{ReconKind, ReconSummary, yuan};
use std::time::Duration;
use temporalio_client::{Client, WorkflowGetResultOptions, WorkflowQueryOptions};

pub fn print_summary(s: &ReconSummary) {
    println!(
        "reconciliation {}  ({} lines, payments {} yuan, refunds {} yuan, {} rejected)",
        s.run_id,
        s.loaded.lines,
        yuan(s.loaded.payments_fen),
        yuan(s.loaded.refunds_fen),
        s.loaded.rejected
    );
    if let Some(m) = &s.loaded.control_mismatch {
        println!("  CONTROL TOTALS DISAGREE: {m}");
    }
    println!("  {:<24} {:>8} {:>14}", "class", "count", "yuan");
    for (class, t) in &s.classes {
        if t.count > 0 {
            println!("  {:<24} {:>8} {:>14}", class, t.count, yuan(t.fen));
        }
    }
    println!("  actions taken: {}", s.actions_taken);
    if let Some(csv) = &s.report_csv {
        println!("  exceptions CSV: {csv}");
    }
}

pub async fn run(
    client: &Client,
    task_queue: &str,
    kind: &str,
    org: &medpay_schemas::OrgCode,
    period: &str,
) -> anyhow::Result<()> {
    let kind = ReconKind::parse(kind).with_context(|| format!("--kind {kind:?} must be selfpay or insurance"))?;
    let id = crate::recon::start(client, task_queue, kind, org, period).await?;
    println!("started {id}");
    let handle = client.get_workflow_handle::<medpay_workflows::recon::ReconWorkflow>(&id);
    let result = handle.get_result(WorkflowGetResultOptions::default());
    tokio::pin!(result);
    loop {
        tokio::select! {
            r = &mut result => {
                let summary = r.with_context(|| format!("reconciliation {id} failed"))?;
                print_summary(&summary);
                return Ok(());
            }
            () = tokio::time::sleep(Duration::from_secs(2)) => {
                if let Ok(p) = handle.query(medpay_workflows::recon::ReconWorkflow::progress, (), WorkflowQueryOptions::default()).await {
                    println!("  ... {} lines loaded", p.loaded.lines);
                }
            }
        }
    }
}

/// `medpay recon show`: the three-way view of a day, as a table (and CSV when asked).
pub async fn show(
    config: &crate::config::Config,
    org: &medpay_schemas::OrgCode,
    day: &str,
    csv: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let ledger =
        Ledger::connect(&config.ledger.url).await.with_context(|| "cannot open the ledger (ledger.url)".to_string())?;
    let view = medpay_activities::recon::three_way::three_way(&ledger, org, day).await.map_err(anyhow::Error::msg)?;
    let loaded = |r: &Option<String>| r.clone().unwrap_or_else(|| "not loaded".into());
    println!(
        "{org} {day}: bank statement {}, insurance statement {}",
        loaded(&view.selfpay_run),
        loaded(&view.insurance_run)
    );
    println!(
        "  {:<20} {:<22} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}  verdict",
        "HIS order", "state", "total", "cash", "bank", "fund", "ins.fund", "account", "ins.acct"
    );
    let o = |f: Option<i64>| f.map(yuan).unwrap_or_else(|| "-".into());
    for r in &view.rows {
        println!(
            "  {:<20} {:<22} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}  {}",
            r.med_org_ord.as_deref().unwrap_or("-"),
            r.state,
            yuan(r.total_fen),
            yuan(r.hospital_cash_fen),
            o(r.bank_cash_fen),
            yuan(r.hospital_fund_fen),
            o(r.insurance_fund_fen),
            yuan(r.hospital_acct_fen),
            o(r.insurance_acct_fen),
            r.verdict
        );
    }
    let disagree = view.rows.iter().filter(|r| !["AGREED", "PENDING"].contains(&r.verdict.as_str())).count();
    println!("  {} rows, {} disagree", view.rows.len(), disagree);
    if let Some(path) = csv {
        std::fs::write(path, view.to_csv()).with_context(|| format!("cannot write {}", path.display()))?;
        println!("  CSV: {}", path.display());
    }
    Ok(())
}
