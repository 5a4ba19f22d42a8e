//! The items of `medpay-tools bench product` and how a row of them is run and measured: one
//! payment through the HIS API and the sandbox cashier, one baseline workflow, a round of
//! either at a concurrency with the processes' CPU, the server's requests by operation, and the
//! history shape of a sample. `bench_product.rs` runs the rows; `bench_side.rs` the side figures.

// Rates, percentiles and MiB for display only; money is not involved.
#![allow(clippy::float_arithmetic, clippy::cast_precision_loss)]

use crate::bench_rows::{HistoryShape, Sample};
use medpay_harness::SANDBOX_ORG as ORG;
use medpay_harness::probes::{context_switches, cpu_ms, rss_mib};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) type Stack = crate::procs::ProcStack;

/// Histories sampled per row.
const HISTORY_SAMPLE: usize = 20;

pub(crate) async fn history_shape(s: &Stack, workflow_ids: impl Iterator<Item = String>) -> HistoryShape {
    use temporalio_client::WorkflowFetchHistoryOptions;
    use temporalio_common::protos::temporal::api::enums::v1::EventType;
    let (mut shape, mut events, mut tasks) = (HistoryShape::default(), 0usize, 0usize);
    for id in workflow_ids.take(HISTORY_SAMPLE) {
        let handle = s.client.get_workflow_handle::<medpay_workflows::diagnostics::SelfCheckWorkflow>(&id);
        let Ok(history) = handle.fetch_history(WorkflowFetchHistoryOptions::default()).into_events().await else {
            continue;
        };
        shape.sampled += 1;
        events += history.len();
        let is = |e: &&temporalio_common::protos::temporal::api::history::v1::HistoryEvent, t: EventType| {
            e.event_type == t as i32
        };
        tasks += history.iter().filter(|e| is(e, EventType::WorkflowTaskScheduled)).count();
        shape.timed_out_or_failed_tasks += history
            .iter()
            .filter(|e| {
                is(e, EventType::WorkflowTaskTimedOut)
                    || is(e, EventType::WorkflowTaskFailed)
                    || is(e, EventType::ActivityTaskTimedOut)
            })
            .count();
    }
    let n = shape.sampled.max(1) as f64;
    shape.events_per_item = events as f64 / n;
    shape.workflow_tasks_per_item = tasks as f64 / n;
    shape
}

pub(crate) async fn json_post(http: &reqwest::Client, url: &str, body: &Value) -> anyhow::Result<Value> {
    let r = http.post(url).json(body).send().await?;
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(status.is_success(), "{url}: {status} {v}");
    Ok(v)
}

pub(crate) async fn get(http: &reqwest::Client, url: &str) -> anyhow::Result<Value> {
    Ok(http.get(url).send().await?.json().await?)
}

/// The HIS's side up to the open cashier: authorise (not timed), create, confirm, long-poll
/// until the mixed order exists. Returns when the clock started and the mixed order no.
pub(crate) async fn to_cashier(s: &Stack, ord: &str) -> anyhow::Result<(Instant, String)> {
    let auth = json_post(
        &s.http,
        &format!("https://{}/sandbox/patient/authorize", s.sandbox),
        &json!({"persona": "resident"}),
    )
    .await?;
    let started = Instant::now();
    let mut body = json!({"org_code": ORG, "med_org_ord": ord, "scene": "outpatient", "auth_code": auth["authCode"], "openid": "o", "lines": [{"code": "L", "name": "n", "amount_fen": 8000}]});
    medpay_schemas::bill::sample::complete(&mut body);
    json_post(&s.http, &format!("http://{}/v1/payments", s.api), &body).await?;
    let path = format!("http://{}/v1/payments/{ORG}/{ord}", s.api);
    json_post(&s.http, &format!("{path}/confirm"), &json!({"confirm": true})).await?;
    // The HIS's long poll: answered when the state leaves the listed ones.
    let to_cashier = format!(
        "{path}?view=false&exchanges=false&wait_secs=30&wait_while=Created,Authorised,Uploaded,PreSettled,Confirmed"
    );
    loop {
        let v = get(&s.http, &to_cashier).await?;
        if let Some(m) = v["mix_trade_no"].as_str() {
            return Ok((started, m.to_string()));
        }
        anyhow::ensure!(
            v["state"] != "Failed" && started.elapsed() < Duration::from_secs(120),
            "payment {ord} did not reach the cashier: {v}"
        );
    }
}

/// One payment from the HIS's and the patient's side; returns create-to-paid latency. It holds
/// its place in the row until the payment's workflow has ended, as a baseline item does: after
/// `Paid` a payment still has work (the outcome's workflow task, the HIS notice, the end), and a
/// row timed to the last `Paid` left that work of its last wave outside its time.
pub(crate) async fn one_payment(s: &Stack, ord: String) -> anyhow::Result<Duration> {
    use temporalio_client::WorkflowGetResultOptions;
    let (started, mix) = to_cashier(s, &ord).await?;
    let path = format!("http://{}/v1/payments/{ORG}/{ord}", s.api);
    json_post(&s.http, &format!("https://{}/sandbox/patient/pay", s.sandbox), &json!({"mix_trade_no": mix})).await?;
    let to_paid = format!("{path}?view=false&exchanges=false&wait_secs=30&wait_while=Ordered");
    let paid = loop {
        let v = get(&s.http, &to_paid).await?;
        if v["state"] == "Paid" {
            break started.elapsed();
        }
        anyhow::ensure!(
            v["state"] == "Ordered" && started.elapsed() < Duration::from_secs(120),
            "payment {ord} not paid: {v}"
        );
    };
    let workflow_id = medpay_schemas::workflow_ids::payment(ORG, &ord);
    s.client
        .get_workflow_handle::<medpay_workflows::payment::PaymentWorkflow>(&workflow_id)
        .get_result(WorkflowGetResultOptions::default())
        .await?;
    Ok(paid)
}

/// One baseline workflow; `searched`: with a payment's search attributes (identity at start, the
/// end state upserted), for the share of the gap that is visibility.
pub(crate) async fn one_baseline(s: &Stack, id: String, searched: bool) -> anyhow::Result<Duration> {
    use crate::baseline_workflow::{BaselineWorkflow, LOCAL_FIRST, WITH_SEARCH};
    use medpay_workflows::search;
    use temporalio_client::{WorkflowGetResultOptions, WorkflowSignalOptions, WorkflowStartOptions};
    let started = Instant::now();
    let mut options = WorkflowStartOptions::new(s.task_queue.clone(), id.clone()).build();
    // The payment runs its quick steps local first; the same shape does.
    let mut input = LOCAL_FIRST;
    if searched {
        options.search_attributes =
            Some(temporalio_common::search_attributes::SearchAttributes::new(search::identity(ORG, &id)));
        input |= WITH_SEARCH;
    }
    // Confirmed at once, as the HIS confirms a payment right after creating it; the callback
    // comes from the worker once the order step has run (`medpay_activities::baseline`), as the
    // bank's comes once the patient has paid the order.
    let handle = s.client.start_workflow(BaselineWorkflow::run, input, options).await?;
    handle.signal(BaselineWorkflow::confirm, true, WorkflowSignalOptions::default()).await?;
    handle.get_result(WorkflowGetResultOptions::default()).await?;
    Ok(started.elapsed())
}

/// How long one item may take before it counts as failed: far beyond any item's latency even at
/// c=100 on this machine, so only a stuck item reaches it.
pub(crate) const ITEM_LIMIT: Duration = Duration::from_secs(180);

/// `items` runs of `f`, `concurrency` at a time: latencies and the processes' CPU over the round.
/// An item that does not finish within [`ITEM_LIMIT`] counts as failed; a process of the stack
/// that exits ends the round, and the bench, with the reason.
pub(crate) async fn run_round<F, Fut>(
    s: &Arc<Stack>,
    what: &str,
    concurrency: usize,
    items: usize,
    f: F,
) -> anyhow::Result<Sample>
where
    F: Fn(Arc<Stack>, usize) -> Fut + Send + Sync + 'static + Clone,
    Fut: std::future::Future<Output = anyhow::Result<Duration>> + Send + 'static,
{
    let (w0, t0, p0, l0) =
        (cpu_ms(s.medpay_pid()), cpu_ms(s.temporal_pid()), cpu_ms(s.sandbox_pid()), cpu_ms(std::process::id()));
    let switches0 = context_switches(s.medpay_pid());
    let requests0 = server_requests(s).await;
    let started = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..items {
        let (s, f, sem) = (s.clone(), f.clone(), sem.clone());
        tasks.spawn(async move {
            let _permit = sem.acquire_owned().await;
            tokio::time::timeout(ITEM_LIMIT, f(s, i))
                .await
                .unwrap_or_else(|_| Err(anyhow::anyhow!("item {i} did not finish within {} s", ITEM_LIMIT.as_secs())))
        });
    }
    let (mut latencies_ms, mut failed) = (vec![], 0);
    let mut alive = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            done = tasks.join_next() => match done {
                None => break,
                Some(Ok(Ok(d))) => latencies_ms.push(d.as_secs_f64() * 1000.0),
                Some(Ok(Err(e))) => {
                    failed += 1;
                    eprintln!("{what}: {e}");
                }
                Some(Err(_)) => failed += 1,
            },
            _ = alive.tick() => {
                if let Some(why) = s.exited() {
                    anyhow::bail!("{what} (c={concurrency}) stopped: {why}");
                }
            }
        }
    }
    let wall_s = started.elapsed().as_secs_f64();
    settle(s).await;
    let (worker_cpu_ms, server_cpu_ms, sandbox_cpu_ms, load_cpu_ms) = (
        cpu_ms(s.medpay_pid()) - w0,
        cpu_ms(s.temporal_pid()) - t0,
        cpu_ms(s.sandbox_pid()) - p0,
        cpu_ms(std::process::id()) - l0,
    );
    let worker_switches = context_switches(s.medpay_pid()) - switches0;
    // The server hands its counters to its metrics endpoint once a second: read after that, the
    // round's last requests are the round's, not the next one's (the CPU figures are taken
    // before this wait, which is not the round's work).
    tokio::time::sleep(METRICS_FLUSH).await;
    let mut requests = server_requests(s).await;
    for (op, n) in &mut requests {
        *n -= requests0.get(op).copied().unwrap_or(0.0);
    }
    requests.retain(|_, n| *n > 0.0);
    Ok(Sample {
        latencies_ms,
        wall_s,
        worker_cpu_ms,
        worker_switches,
        server_cpu_ms,
        sandbox_cpu_ms,
        load_cpu_ms,
        worker_rss_mib: rss_mib(s.medpay_pid(), "VmRSS:"),
        failed,
        server_requests: requests,
    })
}

/// How often the Temporal server's metrics endpoint takes up its counters (its reporting
/// interval), and a little more.
pub(crate) const METRICS_FLUSH: Duration = Duration::from_millis(1100);

/// The Temporal server's requests so far from its metrics: the gRPC requests each of its services
/// answered (`service_requests`) and its requests to its database (`persistence_requests`), by
/// service and operation (`rpc frontend.SignalWorkflowExecution`, `db history.UpdateWorkflowExecution`).
/// Counts, unlike CPU, do not drift with the machine: two rows that differ in server CPU per item
/// show here which requests make the difference. Empty when the metrics do not answer.
pub(crate) async fn server_requests(s: &Stack) -> BTreeMap<String, f64> {
    let mut counts = BTreeMap::new();
    let Ok(resp) = s.http.get(&s.temporal_metrics).send().await else { return counts };
    let text = resp.text().await.unwrap_or_default();
    for line in text.lines() {
        let kind = if line.starts_with("service_requests{") {
            "rpc"
        } else if line.starts_with("persistence_requests{") {
            "db"
        } else {
            continue;
        };
        let label = |name: &str| {
            line.split_once(&format!("{name}=\""))
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(v, _)| v.to_string())
                .unwrap_or_default()
        };
        let Some(n) = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) else { continue };
        *counts.entry(format!("{kind} {}.{}", label("service_name"), label("operation"))).or_default() += n;
    }
    counts
}

/// Waits (at most 5 s) until the Temporal server has done what the round left behind (timers
/// of finished workflows, visibility and history writes): its CPU under a tenth of a core. That
/// work is the round's and counted with its CPU (not its time); the next row starts on a quiet
/// server instead of paying for it.
pub(crate) async fn settle(s: &Stack) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let before = cpu_ms(s.temporal_pid());
        tokio::time::sleep(Duration::from_millis(250)).await;
        if cpu_ms(s.temporal_pid()) - before < 25.0 || Instant::now() > deadline {
            return;
        }
    }
}

/// The worker's CPU while nothing is asked of it (Temporal long polls, timers, the SDK's own
/// housekeeping), in CPU-ms per second, over `over`.
pub(crate) async fn idle_cpu_ms_per_s(s: &Stack, over: Duration) -> f64 {
    let (cpu0, t0) = (cpu_ms(s.medpay_pid()), Instant::now());
    tokio::time::sleep(over).await;
    (cpu_ms(s.medpay_pid()) - cpu0) / t0.elapsed().as_secs_f64()
}

/// Party calls so far that were not answered (`unavailable`, `unknown`), from the worker's
/// `/metrics`.
pub(crate) async fn troubled_exchanges(s: &Stack) -> u64 {
    let Ok(resp) = s.http.get(format!("http://{}/metrics", s.api)).send().await else { return 0 };
    let text = resp.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| {
            l.starts_with("medpay_party_exchanges_total")
                && (l.contains("outcome=\"unavailable\"") || l.contains("outcome=\"unknown\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}
