//! `medpay recon run`: reconcile one period through the worker and print the summary; and
//! `medpay bench recon`: generate a day of N statement lines with a matching ledger and planted
//! exceptions, reconcile it (load + classify, the workflow's heavy activities) and print lines/s
//! and peak memory, checking that exactly the planted exceptions were found.

// Rates and MiB for display only; money stays integer fen.
#![allow(clippy::float_arithmetic, clippy::cast_precision_loss)]

use anyhow::Context;
use medpay_activities::ledger::Ledger;
use medpay_activities::recon::{classify, load, parse::Layout, synthetic};
use medpay_schemas::recon::{ReconKind, ReconSummary, StagedFile, yuan};
use std::time::{Duration, Instant};
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

pub async fn run(client: &Client, task_queue: &str, kind: &str, org: &str, period: &str) -> anyhow::Result<()> {
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
    org: &str,
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
            r.med_org_ord,
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

/// Resets VmHWM so the figure covers only the reconciliation (Linux `clear_refs` 5).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Prints a line per size and returns the figures (for `medpay bench product`'s report).
pub async fn bench(sizes: &[u64]) -> anyhow::Result<Vec<serde_json::Value>> {
    println!("{:>10} {:>10} {:>10} {:>12} {:>10}  result", "lines", "load s", "match s", "lines/s", "peak MiB");
    let mut all_ok = true;
    let mut figures = vec![];
    for &n in sizes {
        anyhow::ensure!(n > 3 * synthetic::PLANTED, "--lines must exceed {}", 3 * synthetic::PLANTED);
        let dir = std::env::temp_dir().join(format!("medpay-recon-bench-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let ledger = Ledger::connect(&format!("sqlite://{}?mode=rwc", dir.join("ledger.db").display())).await?;
        let (org, day) = ("H51010500001", "2026-11-26");
        let (t0, _) = classify::period_bounds(ReconKind::Selfpay, day).map_err(anyhow::Error::msg)?;
        synthetic::seed_ledger(&ledger, org, t0, n).await?;
        let path = dir.join("statement.txt");
        synthetic::write_statement(&path, "M1", day, n)?;
        let f = StagedFile {
            run_id: format!("selfpay-{day}"),
            kind: ReconKind::Selfpay,
            org_code: org.into(),
            period: day.into(),
            path: path.display().to_string(),
        };
        reset_peak_rss();
        let start = Instant::now();
        let loaded = load(&ledger, &Layout::default(), &f).await.map_err(anyhow::Error::msg)?;
        let load_s = start.elapsed().as_secs_f64();
        let classes = classify::classify(&ledger, &f.run_id, f.kind, org, day).await?;
        let total_s = start.elapsed().as_secs_f64();
        let peak = super::bench_product::rss_mib(std::process::id(), "VmHWM:");
        let found: Vec<(String, u64)> =
            classes.iter().filter(|(_, t)| t.count > 0).map(|(c, t)| (c.clone(), t.count)).collect();
        let mut expected: Vec<(String, u64)> =
            synthetic::expected(n).into_iter().map(|(c, k)| (c.to_string(), k)).collect();
        expected.sort();
        let ok = found == expected && loaded.control_mismatch.is_none() && loaded.lines == n;
        all_ok &= ok;
        println!(
            "{n:>10} {load_s:>10.2} {:>10.2} {:>12.0} {peak:>10.1}  {}",
            total_s - load_s,
            n as f64 / total_s,
            if ok {
                "exactly the planted exceptions".to_string()
            } else {
                format!("WRONG: found {found:?}, expected {expected:?}")
            }
        );
        figures.push(serde_json::json!({"lines": n, "load_s": load_s, "match_s": total_s - load_s, "lines_per_s": n as f64 / total_s, "peak_rss_mib": peak, "exact": ok}));
        drop(ledger);
        let _ = std::fs::remove_dir_all(&dir);
    }
    anyhow::ensure!(all_ok, "the reconciliation did not find exactly the planted exceptions");
    Ok(figures)
}
