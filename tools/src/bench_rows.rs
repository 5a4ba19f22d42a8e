//! The rows of `medpay-tools bench product`: what one row (baseline, baseline+search or payment
//! at one concurrency) measured, added up over its interleaved rounds. Shared by the benchmark
//! that fills them and the report that prints them.

// Figures for display, not money.
#![allow(clippy::float_arithmetic, clippy::cast_precision_loss)]

use serde::Serialize;
use std::collections::BTreeMap;

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[derive(Serialize, Clone)]
pub struct Row {
    pub what: String,
    pub concurrency: usize,
    pub items: usize,
    pub per_s: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub worker_cpu_ms: f64,
    /// The same less what the worker spends idle over the row's time (see [`idle_cpu_ms_per_s`]):
    /// at c=1 the idle work (pollers, timers) is spread over few items.
    pub worker_cpu_less_idle_ms: f64,
    /// The worker's context switches per item (see [`context_switches`]).
    pub worker_switches: f64,
    pub server_cpu_ms: f64,
    /// The sandbox parties' CPU per item: not ours, but taken from the same cores.
    pub sandbox_cpu_ms: f64,
    /// The load generator's (this process: the HIS's and the patients' calls, or the baseline's
    /// starts and signals) CPU per item: not the product's either, but on the same cores.
    pub load_cpu_ms: f64,
    pub worker_rss_mib: f64,
    pub failed: usize,
    /// Throughput of each interleaved round on its own (see [`ROUNDS`]).
    pub round_per_s: Vec<f64>,
    /// The shape of a sample of the level's histories (see [`HistoryShape`]).
    pub history: HistoryShape,
    /// The Temporal server's requests per item by service and operation (see
    /// [`server_requests`]): where a row's server CPU goes.
    pub server_requests: BTreeMap<String, f64>,
}

/// What the Temporal server had to store for an item, over a sample of the last round's
/// histories: the server's cost follows the events and workflow tasks, and a timed-out or
/// failed task (a worker too slow to answer) means a retry and, on the worker, a replay.
#[derive(Serialize, Clone, Default)]
pub struct HistoryShape {
    pub sampled: usize,
    pub events_per_item: f64,
    pub workflow_tasks_per_item: f64,
    pub timed_out_or_failed_tasks: usize,
}

/// Each level runs baseline, baseline+search and payment in turn, this many times over, and
/// adds the rounds up: this machine's speed drifts by tens of percent from one minute to the
/// next, and a row run all at once in a fast or a slow minute made the ratio a matter of luck
/// (docs/BENCHMARKS-decisions.md). Interleaved, the rows share the minutes.
pub const ROUNDS: usize = 3;

/// One round of one row: what was measured, before it is added up into a [`Row`].
pub struct Sample {
    pub latencies_ms: Vec<f64>,
    pub wall_s: f64,
    pub worker_cpu_ms: f64,
    pub worker_switches: f64,
    pub server_cpu_ms: f64,
    pub sandbox_cpu_ms: f64,
    pub load_cpu_ms: f64,
    pub worker_rss_mib: f64,
    pub failed: usize,
    pub server_requests: BTreeMap<String, f64>,
}

impl Row {
    pub fn from_rounds(what: &str, concurrency: usize, rounds: &[Sample], idle_cpu_ms_per_s: f64) -> Self {
        let mut lat: Vec<f64> = rounds.iter().flat_map(|r| r.latencies_ms.iter().copied()).collect();
        lat.sort_by(f64::total_cmp);
        let done = lat.len().max(1) as f64;
        let wall: f64 = rounds.iter().map(|r| r.wall_s).sum();
        Row {
            what: what.into(),
            concurrency,
            items: rounds.iter().map(|r| r.latencies_ms.len() + r.failed).sum(),
            per_s: lat.len() as f64 / wall.max(f64::MIN_POSITIVE),
            p50_ms: percentile(&lat, 0.50),
            p95_ms: percentile(&lat, 0.95),
            p99_ms: percentile(&lat, 0.99),
            worker_cpu_ms: rounds.iter().map(|r| r.worker_cpu_ms).sum::<f64>() / done,
            worker_cpu_less_idle_ms: (rounds.iter().map(|r| r.worker_cpu_ms).sum::<f64>() - idle_cpu_ms_per_s * wall)
                .max(0.0)
                / done,
            worker_switches: rounds.iter().map(|r| r.worker_switches).sum::<f64>() / done,
            server_cpu_ms: rounds.iter().map(|r| r.server_cpu_ms).sum::<f64>() / done,
            sandbox_cpu_ms: rounds.iter().map(|r| r.sandbox_cpu_ms).sum::<f64>() / done,
            load_cpu_ms: rounds.iter().map(|r| r.load_cpu_ms).sum::<f64>() / done,
            worker_rss_mib: rounds.last().map_or(0.0, |r| r.worker_rss_mib),
            failed: rounds.iter().map(|r| r.failed).sum(),
            round_per_s: rounds.iter().map(|r| r.latencies_ms.len() as f64 / r.wall_s.max(f64::MIN_POSITIVE)).collect(),
            history: HistoryShape::default(),
            server_requests: rounds.iter().flat_map(|r| r.server_requests.iter()).fold(
                BTreeMap::new(),
                |mut sum, (op, n)| {
                    *sum.entry(op.clone()).or_default() += n / done;
                    sum
                },
            ),
        }
    }
}
