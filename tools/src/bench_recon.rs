//! `medpay-tools bench recon`: generate a day of N statement lines with a matching ledger and
//! planted exceptions, reconcile it (load + classify, the workflow's heavy activities) and print
//! lines/s and peak memory, checking that exactly the planted exceptions were found.

// Rates and MiB for display only; money stays integer fen.
#![allow(clippy::float_arithmetic, clippy::cast_precision_loss)]

use medpay_activities::ledger::Ledger;
use medpay_activities::recon::{classify, load, parse::Layout, synthetic};
use medpay_schemas::recon::{ReconKind, StagedFile};
use std::time::Instant;

/// Prints a line per size and returns the figures (for `medpay-tools bench product`'s report).
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
        let (org, day) = (medpay_harness::SANDBOX_ORG, "2026-11-26");
        let (t0, _) = classify::period_bounds(ReconKind::Selfpay, day).map_err(anyhow::Error::msg)?;
        synthetic::seed_ledger(&ledger, org, t0, n).await?;
        let path = dir.join("statement.txt");
        synthetic::write_statement(&path, "M1", day, n)?;
        let f = StagedFile {
            run_id: format!("selfpay-{day}"),
            kind: ReconKind::Selfpay,
            org_code: org.parse()?,
            period: day.into(),
            path: path.display().to_string(),
        };
        medpay_harness::probes::reset_peak_rss();
        let start = Instant::now();
        let loaded = load(&ledger, &Layout::default(), &f).await.map_err(anyhow::Error::msg)?;
        let load_s = start.elapsed().as_secs_f64();
        let classes = classify::classify(&ledger, &f.run_id, f.kind, org, day).await?;
        let total_s = start.elapsed().as_secs_f64();
        let peak = medpay_harness::probes::rss_mib(std::process::id(), "VmHWM:");
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
