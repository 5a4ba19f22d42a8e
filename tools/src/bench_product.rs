//! `medpay-tools bench product`: the product measured beside the engine's own ceiling, in one
//! invocation on one machine. It starts a Temporal dev server (SQLite, WAL), the sandbox parties
//! and `medpay run` as separate processes (so each one's CPU is its own) and measures, at each
//! concurrency, the engine baseline (`BaselineWorkflow`, the payment's shape with no-op
//! activities) and full payments through the HIS API (create, confirm, pay at the sandbox
//! cashier, paid): throughput, p50/p95/p99 latency, worker and server CPU-ms per item, worker
//! RSS; then create-payment latency under 50 concurrent callers. Figures go to JSON and
//! `docs/BENCHMARKS.md` (`crate::bench_report`). The items and rounds are `bench_items.rs`, the
//! side figures `bench_side.rs`.

// Rates, percentiles and MiB for display only; money is not involved.
#![allow(clippy::float_arithmetic, clippy::cast_precision_loss)]

use crate::bench_items::*;
use crate::bench_rows::{ROUNDS, Row};
use medpay_harness::SANDBOX_ORG as ORG;
use medpay_harness::probes::rss_mib;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// One concurrency level: the three rows (baseline, baseline+search, payment), each run in
/// `ROUNDS` interleaved rounds, with the history shape of the last round's items.
async fn level(s: &Arc<Stack>, c: usize, per_level: usize, idle: f64) -> anyhow::Result<[Row; 3]> {
    let s = s.clone();
    // Each round keeps the level's concurrency busy for a while (at least two waves).
    let items = per_level.div_ceil(ROUNDS).max(c * 2);
    // Item ids, named once: the rounds start them, the history sample reads them back.
    let base_id = move |round: usize, i: usize| format!("base-{c}-{round}-{i}");
    let searched_id = move |round: usize, i: usize| format!("bsearch-{c}-{round}-{i}");
    let payment_ord = move |round: usize, i: usize| format!("P{c}-{round}-{i}");
    let (mut base, mut searched, mut pay) = (vec![], vec![], vec![]);
    // Each round starts with another row, and each row waits for the server to settle
    // (`run_round`). With a fixed order the baseline's first c=100 round was its fastest in
    // every run; rotated, a level's first round is usually the fastest for every row (the
    // server slows as the level goes on), so only rows of one round compare like-for-like.
    for round in 0..ROUNDS {
        for row in (0..3).map(|k| (round + k) % 3) {
            match row {
                0 => base.push(
                    run_round(&s, "baseline", c, items, move |s, i| async move {
                        one_baseline(&s, base_id(round, i), false).await
                    })
                    .await?,
                ),
                1 => searched.push(
                    run_round(&s, "baseline+search", c, items, move |s, i| async move {
                        one_baseline(&s, searched_id(round, i), true).await
                    })
                    .await?,
                ),
                _ => pay.push(
                    run_round(&s, "payment", c, items, move |s, i| async move {
                        one_payment(&s, payment_ord(round, i)).await
                    })
                    .await?,
                ),
            }
        }
    }
    let mut level = [
        Row::from_rounds("baseline", c, &base, idle),
        Row::from_rounds("baseline+search", c, &searched, idle),
        Row::from_rounds("payment", c, &pay, idle),
    ];
    let last = ROUNDS - 1;
    level[0].history = history_shape(&s, (0..items).map(|i| base_id(last, i))).await;
    level[1].history = history_shape(&s, (0..items).map(|i| searched_id(last, i))).await;
    level[2].history =
        history_shape(&s, (0..items).map(|i| medpay_schemas::workflow_ids::payment(ORG, &payment_ord(last, i)))).await;
    Ok(level)
}

pub async fn run(
    concurrency: &[usize],
    per_level: usize,
    in_flight_n: usize,
    recon_lines: &[u64],
    out_md: Option<&Path>,
    out_json: Option<&Path>,
) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("medpay-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    // Payments held open at the cashier (the in-flight figure) must not time out into bank
    // queries while the rest are being opened.
    // The baseline's timers are the same (`crate::baseline_workflow::SIGNAL_WAIT`).
    let callback_wait = crate::baseline_workflow::SIGNAL_WAIT.as_secs().to_string();
    let s = Arc::new(Stack::start(&dir, &[("MEDPAY_PAYMENT_CALLBACK_WAIT_SECS", &callback_wait)]).await?);
    // Warm-up: connections, sign-in, JIT-free but caches and pools.
    run_round(&s, "warm-up", 4, 8, |s, i| async move { one_payment(&s, format!("W{i}")).await }).await?;
    let idle = idle_cpu_ms_per_s(&s, Duration::from_secs(10)).await;
    println!("worker idle: {idle:.2} CPU-ms per second");
    let mut rows = vec![];
    let troubled_before = troubled_exchanges(&s).await;
    for &c in concurrency {
        let level = level(&s, c, per_level, idle).await?;
        level.iter().for_each(crate::bench_report::print_row);
        rows.extend(level);
    }
    // Every retried or queried party call adds events and work; a run with many is not a fair one.
    let troubled = troubled_exchanges(&s).await.saturating_sub(troubled_before);
    println!(
        "party calls that were not answered (unavailable/unknown, i.e. retried or queried) during the levels: {troubled}"
    );
    let (api_p50, api_p99) = crate::bench_side::api_latency(&s, 50, 200).await?;
    println!("create-payment API latency, 50 callers: p50 {api_p50:.1} ms, p99 {api_p99:.1} ms");
    let (cb_per_s, cb_cpu_ms) = crate::bench_side::callbacks(&s, 5000, 32).await?;
    println!(
        "verified callbacks: {cb_per_s:.0}/s (wall, 2 cores shared with the load), worker {cb_cpu_ms:.3} CPU-ms each = {:.0} per worker core-second",
        1000.0 / cb_cpu_ms
    );
    let (rss_before, rss_open, drain_s) = crate::bench_side::in_flight(&s, in_flight_n, 50).await?;
    println!(
        "{in_flight_n} payments in flight: worker RSS {rss_open:.0} MiB (before {rss_before:.0} MiB); all paid {drain_s:.1} s after the patients paid"
    );
    let hwm = rss_mib(s.medpay_pid(), "VmHWM:");
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
    println!("== crypto (this process, one thread)");
    let crypto = crate::bench_crypto::run(2)?;
    println!("== reconciliation (this process, SQLite)");
    let recon = crate::bench_recon::bench(recon_lines).await?;
    let report = json!({
        "date": crate::bench_report::chrono_like_today(), "machine": crate::bench_report::machine(), "rows": rows, "worker_idle_cpu_ms_per_s": idle, "api_create_p50_ms": api_p50, "api_create_p99_ms": api_p99, "worker_peak_rss_mib": hwm,
        "troubled_party_calls": troubled, "callbacks_per_s": cb_per_s, "callback_worker_cpu_ms": cb_cpu_ms, "in_flight": {"payments": in_flight_n, "worker_rss_mib": rss_open, "worker_rss_before_mib": rss_before, "drain_s": drain_s},
        "crypto": crypto, "recon": recon,
    });
    if let Some(p) = out_json {
        std::fs::write(p, serde_json::to_string_pretty(&report)?)?;
    }
    if let Some(p) = out_md {
        std::fs::write(p, crate::bench_report::markdown(&report, &rows))?;
        println!("wrote {}", p.display());
    }
    Ok(())
}
