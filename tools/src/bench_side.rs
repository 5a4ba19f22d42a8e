//! The side figures of `medpay-tools bench product`, each measured once after the rows: verified
//! bank callbacks per second, the worker's memory with many payments open at the cashier, and
//! the create-payment API's latency under many callers.

// Rates, percentiles and MiB for display only; money is not involved.
#![allow(clippy::float_arithmetic, clippy::cast_precision_loss)]

use crate::bench_items::{Stack, get, json_post, run_round, to_cashier};
use crate::bench_rows::percentile;
use medpay_harness::SANDBOX_ORG as ORG;
use medpay_harness::probes::{cpu_ms, rss_mib};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Verified bank callbacks at the callback endpoint: the bank's repeats of success notices for
/// paid payments, signed by the sandbox beforehand (not timed) and posted `concurrency` at a
/// time. Each one costs the worker the signature check, a ledger read, an exchange-log write
/// and a signed acknowledgement. Returns (callbacks/s wall, worker CPU-ms per callback).
pub(crate) async fn callbacks(s: &Arc<Stack>, total: usize, concurrency: usize) -> anyhow::Result<(f64, f64)> {
    let books = get(&s.http, &format!("https://{}/sandbox/control/state", s.sandbox)).await?;
    let paid: Vec<String> = books["mixed_orders"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["mix_status"] == "MIX_PAY_SUCCESS")
        .filter_map(|m| m["mix_trade_no"].as_str().map(String::from))
        .take(20)
        .collect();
    anyhow::ensure!(!paid.is_empty(), "no paid order to repeat callbacks for");
    let mut forms: Vec<String> = vec![];
    for mix in &paid {
        let signed = json_post(
            &s.http,
            &format!("https://{}/sandbox/control/callbacks", s.sandbox),
            &json!({"mix_trade_no": mix, "count": total.div_ceil(paid.len())}),
        )
        .await?;
        forms.extend(crate::procs::callback_forms(&signed));
    }
    forms.truncate(total);
    let w0 = cpu_ms(s.medpay_pid());
    let started = Instant::now();
    let acknowledged =
        crate::procs::post_callbacks(s, forms, concurrency).await.iter().filter(|&&status| status == 200).count();
    let wall = started.elapsed().as_secs_f64();
    anyhow::ensure!(acknowledged == total, "only {acknowledged} of {total} callbacks were acknowledged");
    Ok((total as f64 / wall, (cpu_ms(s.medpay_pid()) - w0) / total as f64))
}

/// `n` payments held open at the cashier at once (created and confirmed, the patient not yet
/// paying): the worker's RSS with that many in flight; then all of them paid (the sandbox's
/// callbacks arrive in a burst), and the time until the last one is `Paid`.
pub(crate) async fn in_flight(s: &Arc<Stack>, n: usize, concurrency: usize) -> anyhow::Result<(f64, f64, f64)> {
    let rss0 = rss_mib(s.medpay_pid(), "VmRSS:");
    let mixes = Arc::new(std::sync::Mutex::new(Vec::new()));
    let opened = run_round(s, "in-flight", concurrency, n, {
        let mixes = mixes.clone();
        move |s, i| {
            let mixes = mixes.clone();
            async move {
                let ord = format!("F{i}");
                let (started, mix) = to_cashier(&s, &ord).await?;
                if let Ok(mut m) = mixes.lock() {
                    m.push((ord.clone(), mix));
                }
                Ok(started.elapsed())
            }
        }
    })
    .await?;
    anyhow::ensure!(opened.failed == 0, "{} payments did not reach the cashier", opened.failed);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss = rss_mib(s.medpay_pid(), "VmRSS:");
    let open: Vec<(String, String)> = mixes.lock().map(|m| m.clone()).unwrap_or_default();
    let started = Instant::now();
    let work = Arc::new(std::sync::Mutex::new(open));
    let mut tasks = vec![];
    for _ in 0..concurrency {
        let (s, work) = (s.clone(), work.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let Some((ord, mix)) = work.lock().ok().and_then(|mut w| w.pop()) else { return anyhow::Ok(()) };
                json_post(
                    &s.http,
                    &format!("https://{}/sandbox/patient/pay", s.sandbox),
                    &json!({"mix_trade_no": mix}),
                )
                .await?;
                let v = get(
                    &s.http,
                    &format!(
                        "http://{}/v1/payments/{ORG}/{ord}?view=false&exchanges=false&wait_secs=30&wait_while=Ordered",
                        s.api
                    ),
                )
                .await?;
                anyhow::ensure!(v["state"] == "Paid", "payment {ord} not paid: {v}");
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok((rss0, rss, started.elapsed().as_secs_f64()))
}

/// Create-payment latency alone under `callers` concurrent callers.
pub(crate) async fn api_latency(s: &Arc<Stack>, callers: usize, items: usize) -> anyhow::Result<(f64, f64)> {
    let mut bodies = vec![];
    for i in 0..items {
        let auth = json_post(
            &s.http,
            &format!("https://{}/sandbox/patient/authorize", s.sandbox),
            &json!({"persona": "resident"}),
        )
        .await?;
        let mut body = json!({"org_code": ORG, "med_org_ord": format!("API-{i}"), "scene": "outpatient", "auth_code": auth["authCode"], "openid": "o", "lines": [{"code": "L", "name": "n", "amount_fen": 100}]});
        medpay_schemas::bill::sample::complete(&mut body);
        bodies.push(body);
    }
    let sem = Arc::new(tokio::sync::Semaphore::new(callers));
    let mut tasks = vec![];
    for b in bodies {
        let (s, sem) = (s.clone(), sem.clone());
        tasks.push(tokio::spawn(async move {
            let _p = sem.acquire_owned().await;
            let t = Instant::now();
            json_post(&s.http, &format!("http://{}/v1/payments", s.api), &b)
                .await
                .map(|_| t.elapsed().as_secs_f64() * 1000.0)
        }));
    }
    let mut lat = vec![];
    for t in tasks {
        if let Ok(Ok(ms)) = t.await {
            lat.push(ms);
        }
    }
    lat.sort_by(f64::total_cmp);
    Ok((percentile(&lat, 0.5), percentile(&lat, 0.99)))
}
