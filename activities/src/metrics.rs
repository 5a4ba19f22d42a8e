//! The process's own counters and latency histograms for `/metrics` (Prometheus text format):
//! what flows, how long it takes, which party answers how. Every metric is declared once in
//! [`DEFS`] with its help text; labels are bounded values only (org code, party, operation,
//! outcome class, scene, state), never an order number or anything about a person. Gauges read
//! from the ledger at scrape time (payments by live state, the oldest pending payment) are
//! rendered by the API beside these.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Latency buckets in milliseconds (rendered in seconds): party calls take milliseconds, a
/// payment up to minutes (the patient at the cashier). Integers: no float arithmetic here.
const BUCKETS_MS: [u64; 14] = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000];

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Histogram,
}

/// One metric: name, kind, help.
pub struct Def(pub &'static str, pub Kind, pub &'static str);

pub const PAYMENTS_STARTED: &str = "medpay_payments_started_total";
pub const PAYMENTS_ENDED: &str = "medpay_payments_ended_total";
pub const PRE_SETTLED_SECONDS: &str = "medpay_payment_pre_settled_seconds";
pub const PAID_SECONDS: &str = "medpay_payment_paid_seconds";
pub const PARTY_CALLS: &str = "medpay_party_calls_total";
pub const PARTY_CALL_SECONDS: &str = "medpay_party_call_seconds";
pub const CALLBACKS: &str = "medpay_bank_callbacks_total";
pub const BANK_QUERIES: &str = "medpay_bank_queries_total";
pub const RECON_RUNS: &str = "medpay_recon_runs_total";
pub const RECON_ITEMS: &str = "medpay_recon_items_total";
pub const GATE_REFUSALS: &str = "medpay_rollout_refusals_total";

pub const DEFS: [Def; 11] = [
    Def(
        PAYMENTS_STARTED,
        Kind::Counter,
        "Payments created by the HIS (a repeated create is not counted), by hospital and scene.",
    ),
    Def(
        PAYMENTS_ENDED,
        Kind::Counter,
        "Payments that reached a final state (Paid, Failed, Cancelled), by hospital and state.",
    ),
    Def(
        PRE_SETTLED_SECONDS,
        Kind::Histogram,
        "From the HIS's create to the pre-settlement (identify, 6201, 6202), by hospital.",
    ),
    Def(
        PAID_SECONDS,
        Kind::Histogram,
        "From the HIS's create to Paid (includes the patient's time to confirm and pay), by hospital.",
    ),
    Def(
        PARTY_CALLS,
        Kind::Counter,
        "Calls to the parties by party, operation and outcome class: ok, rejected (a refusal), unavailable (retried), unknown (queried, never guessed), integrity (reply refused).",
    ),
    Def(PARTY_CALL_SECONDS, Kind::Histogram, "Duration of an HTTPS exchange with a party, by party."),
    Def(
        CALLBACKS,
        Kind::Counter,
        "Bank payment callbacks by outcome: verified (handed to the payment), repeated (already paid), forged (signature refused), mismatch (names another order), unknown_order.",
    ),
    Def(
        BANK_QUERIES,
        Kind::Counter,
        "Compensating queries of the bank (REQ Q-9) by what they found: final, none (no final result yet), failed.",
    ),
    Def(RECON_RUNS, Kind::Counter, "Reconciliation runs reported, by hospital and kind."),
    Def(
        RECON_ITEMS,
        Kind::Counter,
        "Items of the reconciliation runs reported, by hospital, kind and class (MATCHED and each exception class).",
    ),
    Def(
        GATE_REFUSALS,
        Kind::Counter,
        "New payments the rollout gate refused (REQ O-5 go-live), by hospital and code: NOT_OPEN_FOR_PATIENT, HOSPITAL_SUSPENDED.",
    ),
];

type Labels = Vec<(&'static str, String)>;

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS_MS.len()],
    sum_ms: u64,
    count: u64,
}

#[derive(Default)]
struct Registry {
    counters: BTreeMap<(&'static str, Labels), u64>,
    histograms: BTreeMap<(&'static str, Labels), Histogram>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry { counters: BTreeMap::new(), histograms: BTreeMap::new() });

fn labels(pairs: &[(&'static str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (*k, (*v).to_string())).collect()
}

/// Adds one to a counter.
pub fn inc(name: &'static str, pairs: &[(&'static str, &str)]) {
    add(name, pairs, 1);
}

/// Adds `n` to a counter.
pub fn add(name: &'static str, pairs: &[(&'static str, &str)], n: u64) {
    if let Ok(mut r) = REGISTRY.lock() {
        *r.counters.entry((name, labels(pairs))).or_default() += n;
    }
}

/// A counter summed over every label but `keep`: (the kept labels' values in `keep`'s order,
/// total), in order of those values.
pub fn counter_totals(name: &'static str, keep: &[&str]) -> Vec<(Vec<String>, u64)> {
    let mut totals: BTreeMap<Vec<String>, u64> = BTreeMap::new();
    if let Ok(r) = REGISTRY.lock() {
        for ((_, l), n) in r.counters.iter().filter(|((m, _), _)| *m == name) {
            let by = keep
                .iter()
                .map(|k| l.iter().find(|(lk, _)| lk == k).map(|(_, v)| v.clone()).unwrap_or_default())
                .collect();
            *totals.entry(by).or_default() += n;
        }
    }
    totals.into_iter().collect()
}

/// Records one duration.
pub fn observe(name: &'static str, pairs: &[(&'static str, &str)], took: std::time::Duration) {
    let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
    if let Ok(mut r) = REGISTRY.lock() {
        let h = r.histograms.entry((name, labels(pairs))).or_default();
        for (i, le) in BUCKETS_MS.iter().enumerate() {
            if ms <= *le {
                h.buckets[i] += 1;
            }
        }
        h.sum_ms = h.sum_ms.saturating_add(ms);
        h.count += 1;
    }
}

/// Milliseconds as seconds in decimal: 2500 -> "2.5", 5 -> "0.005", 1000 -> "1".
fn seconds(ms: u64) -> String {
    let frac = format!("{:03}", ms % 1000);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() { format!("{}", ms / 1000) } else { format!("{}.{frac}", ms / 1000) }
}

/// A label value as the text format wants it.
pub fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', " ")
}

fn render_labels(l: &[(&'static str, String)], extra: Option<(&str, String)>) -> String {
    let mut parts: Vec<String> = l.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
    if let Some((k, v)) = extra {
        parts.push(format!("{k}=\"{v}\""));
    }
    if parts.is_empty() { String::new() } else { format!("{{{}}}", parts.join(",")) }
}

/// Every declared metric, with its samples so far (a declared metric with none still gets its
/// HELP and TYPE, so dashboards and alert rules find it from the first scrape).
pub fn render(out: &mut String) {
    let Ok(r) = REGISTRY.lock() else { return };
    for Def(name, kind, help) in DEFS {
        match kind {
            Kind::Counter => {
                out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
                for ((_, l), n) in r.counters.iter().filter(|((m, _), _)| *m == name) {
                    out.push_str(&format!("{name}{} {n}\n", render_labels(l, None)));
                }
            }
            Kind::Histogram => {
                out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} histogram\n"));
                for ((_, l), h) in r.histograms.iter().filter(|((m, _), _)| *m == name) {
                    for (i, le) in BUCKETS_MS.iter().enumerate() {
                        out.push_str(&format!(
                            "{name}_bucket{} {}\n",
                            render_labels(l, Some(("le", seconds(*le)))),
                            h.buckets[i]
                        ));
                    }
                    out.push_str(&format!(
                        "{name}_bucket{} {}\n",
                        render_labels(l, Some(("le", "+Inf".into()))),
                        h.count
                    ));
                    out.push_str(&format!(
                        "{name}_sum{} {}\n{name}_count{} {}\n",
                        render_labels(l, None),
                        seconds(h.sum_ms),
                        render_labels(l, None),
                        h.count
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_render_in_the_text_format_with_cumulative_buckets() {
        inc(PARTY_CALLS, &[("party", "bank"), ("operation", "mixed order"), ("outcome", "ok")]);
        inc(PARTY_CALLS, &[("party", "bank"), ("operation", "mixed order"), ("outcome", "ok")]);
        observe(PARTY_CALL_SECONDS, &[("party", "unit-test")], std::time::Duration::from_millis(20));
        observe(PARTY_CALL_SECONDS, &[("party", "unit-test")], std::time::Duration::from_millis(7_000));
        let mut out = String::new();
        render(&mut out);
        assert!(out.contains("# TYPE medpay_party_calls_total counter\n"), "{out}");
        assert!(
            out.contains("medpay_party_calls_total{party=\"bank\",operation=\"mixed order\",outcome=\"ok\"} 2\n"),
            "{out}"
        );
        assert!(out.contains("medpay_party_call_seconds_bucket{party=\"unit-test\",le=\"0.025\"} 1\n"), "{out}");
        assert!(out.contains("medpay_party_call_seconds_bucket{party=\"unit-test\",le=\"10\"} 2\n"), "{out}");
        assert!(out.contains("medpay_party_call_seconds_bucket{party=\"unit-test\",le=\"+Inf\"} 2\n"), "{out}");
        assert!(out.contains("medpay_party_call_seconds_count{party=\"unit-test\"} 2\n"), "{out}");
        assert!(out.contains("medpay_party_call_seconds_sum{party=\"unit-test\"} 7.02\n"), "{out}");
        assert_eq!(
            (seconds(5), seconds(2_500), seconds(1_000), seconds(0)),
            ("0.005".into(), "2.5".into(), "1".into(), "0".into())
        );
        assert!(
            counter_totals(PARTY_CALLS, &["party", "outcome"]).iter().any(|(by, n)| by == &["bank", "ok"] && *n >= 2)
        );
        for Def(name, ..) in DEFS {
            assert!(out.contains(&format!("# HELP {name} ")), "{name} declared but not rendered");
        }
    }
}
