//! REQ A-4.2a (respond fast to failures and security events, locate problems quickly).
//! Operations with real parts: Debian's `prometheus` scrapes `medpay run` on loopback
//! while payments of the O-5 kind run through the sandbox, and the test asks Prometheus's HTTP
//! API whether the counters and histograms say what happened (payments started and ended by
//! state, callbacks, compensating queries, a party's errors after a planted 503, payments by
//! live state). `promtool` checks the alert rules and proves the pending-reconciliation alert
//! fires from a synthetic series; the Grafana dashboard may reference only metrics that exist;
//! the traces exported over OTLP/HTTP put each payment's spans into one trace.

use medpay_harness::stack::*;
use medpay_harness::*;
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

fn prometheus_dir() -> std::path::PathBuf {
    workspace_root().join("deploy/prometheus")
}

#[test]
fn alert_rules_are_valid_and_the_pending_alert_fires() {
    let dir = prometheus_dir();
    let check = Command::new("promtool")
        .args(["check", "rules", "alerts.yml"])
        .current_dir(&dir)
        .output()
        .expect("promtool (apt-get install prometheus; scripts/test.sh does)");
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let test = Command::new("promtool").args(["test", "rules", "alerts_test.yml"]).current_dir(&dir).output().unwrap();
    assert!(
        test.status.success(),
        "{}{}",
        String::from_utf8_lossy(&test.stdout),
        String::from_utf8_lossy(&test.stderr)
    );
}

/// One instant query: the result's samples as (labels, value).
fn query(prom: &str, q: &str) -> Vec<(Value, f64)> {
    let out = Command::new("curl")
        .args(["-sS", "--get", "--data-urlencode", &format!("query={q}"), &format!("http://{prom}/api/v1/query")])
        .output()
        .unwrap();
    let v = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(v["status"], "success", "{q}: {v}");
    v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["metric"].clone(), s["value"][1].as_str().unwrap().parse().unwrap()))
        .collect()
}

/// Waits until the query's single value satisfies `ok` (Prometheus scrapes every second).
fn eventually(prom: &str, q: &str, ok: impl Fn(f64) -> bool) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = query(prom, q).first().map(|(_, v)| *v);
        if got.is_some_and(&ok) {
            return got.unwrap();
        }
        assert!(Instant::now() < deadline, "{q}: last {got:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn prometheus_sees_what_happened() {
    let sdk = format!("127.0.0.1:{}", free_port());
    // A stand-in OTLP/HTTP collector records the traces (no collector in Debian's packages).
    let collector = medpay_harness::receiver::Receiver::start(vec![]);
    let otlp = format!("http://{}/v1/traces", collector.addr);
    let mut s = Stack::start("metrics", &[("MEDPAY_SDK_METRICS_LISTEN", &sdk), ("MEDPAY_OTLP_ENDPOINT", &otlp)]);
    let prom = format!("127.0.0.1:{}", free_port());
    let config = s.dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: medpay\n    static_configs:\n      - targets: ['{}']\n  - job_name: medpay-sdk\n    static_configs:\n      - targets: ['{sdk}']\n", s.api),
    )
    .unwrap();
    let mut prometheus = Proc::spawn(Command::new("prometheus").args([
        &format!("--config.file={}", config.display()),
        &format!("--storage.tsdb.path={}", s.dir.join("prometheus").display()),
        &format!("--web.listen-address={prom}"),
    ]));
    prometheus.wait_for_line("Server is ready to receive web requests", Duration::from_secs(60));

    // The matrix's kind of traffic: three paid payments in three scenes, one declined.
    for (i, scene) in ["registration", "outpatient", "pharmacy"].iter().enumerate() {
        let (path, mix) = s.order("mixed", &format!("HIS-M-{i}"), scene, &[10_000], true);
        s.pay(&mix.expect("ordered"));
        poll(&s.api, &path, "paid", 60, |v| v["state"] == "Paid");
    }
    let (declined, _) = s.order("mixed", "HIS-M-DECLINED", "outpatient", &[1_000], false);
    poll(&s.api, &declined, "cancelled", 60, |v| v["state"] == "Cancelled");
    // A planted 503 at the mid-platform's upload: retried, then paid; the party's error counted.
    s.faults(json!({"global": {"endpoints": {"mid.6201": {"error_permille": 1000}}}}));
    let path = s.create("mixed", "HIS-M-503", "outpatient", &[2_000]);
    std::thread::sleep(Duration::from_secs(2));
    s.faults(json!({}));
    let mix = s.confirm(&path, true);
    s.pay(&mix.expect("ordered"));
    poll(&s.api, &path, "paid", 60, |v| v["state"] == "Paid");

    let org = r#"org="H51010500001""#;
    assert_eq!(eventually(&prom, &format!("sum(medpay_payments_started_total{{{org}}})"), |v| v >= 5.0), 5.0);
    assert_eq!(
        eventually(&prom, &format!("sum(medpay_payments_ended_total{{{org},state=\"Paid\"}})"), |v| v >= 4.0),
        4.0
    );
    assert_eq!(
        eventually(&prom, &format!("sum(medpay_payments_ended_total{{{org},state=\"Cancelled\"}})"), |v| v >= 1.0),
        1.0
    );
    assert_eq!(query(&prom, "sum(medpay_payments_started_total{scene=\"pharmacy\"})")[0].1, 1.0, "by scene");
    assert_eq!(
        eventually(&prom, "sum(medpay_payment_paid_seconds_count)", |v| v >= 4.0),
        4.0,
        "one create-to-paid latency per paid payment"
    );
    assert_eq!(eventually(&prom, "sum(medpay_payment_pre_settled_seconds_count)", |v| v >= 5.0), 5.0);
    assert_eq!(
        eventually(&prom, "sum(medpay_bank_callbacks_total{outcome=\"verified\"})", |v| v >= 4.0),
        4.0,
        "each paid payment's callback verified once"
    );
    assert!(
        eventually(
            &prom,
            "sum(medpay_party_calls_total{party=\"mid-platform\",operation=\"6201\",outcome=\"unavailable\"})",
            |v| v >= 1.0
        ) >= 1.0
    );
    assert!(
        eventually(
            &prom,
            "sum(medpay_party_calls_total{party=\"bank\",operation=\"mixed order\",outcome=\"ok\"})",
            |v| v >= 4.0
        ) >= 4.0
    );
    assert!(
        eventually(
            &prom,
            // Over the buckets' totals, not a rate: a rate over a window needs two scrapes
            // with calls between them, which a fast run does not always have (CI: NaN).
            "histogram_quantile(0.5, sum by (le) (medpay_party_call_seconds_bucket{party=\"bank\"}))",
            |v| v > 0.0
        ) < 5.0,
        "a bank call takes milliseconds here"
    );
    // Nothing is left live: the gauge of live states has no payment waiting.
    let live: f64 = query(&prom, "sum(medpay_payments_live)").first().map_or(0.0, |(_, v)| *v);
    assert_eq!(live, 0.0, "every payment ended");
    assert_eq!(query(&prom, "medpay_ledger_up")[0].1, 1.0);
    // The SDK's own worker metrics, scraped beside: task slots, pollers, the sticky cache.
    for name in ["temporal_worker_task_slots_available", "temporal_num_pollers", "temporal_sticky_cache_size"] {
        let got = eventually(&prom, &format!("count({name}{{job=\"medpay-sdk\"}})"), |v| v >= 1.0);
        assert!(got >= 1.0, "{name}");
    }

    // The dashboard references only metrics that exist in a scrape.
    let (_, scrape) = http("GET", &s.api, "/metrics", None).unwrap();
    let dashboard = std::fs::read_to_string(workspace_root().join("deploy/grafana/medpay.json")).unwrap();
    let _: Value = serde_json::from_str(&dashboard).expect("the dashboard is JSON");
    let mut names: Vec<&str> = dashboard
        .match_indices("medpay_")
        .map(|(i, _)| {
            let rest = &dashboard[i..];
            &rest[..rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len())]
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    assert!(names.len() >= 8, "{names:?}");
    for name in names {
        assert!(
            scrape.contains(&format!("# TYPE {name} "))
                || scrape.contains(&format!("{name} "))
                || scrape.contains(&format!("{name}{{")),
            "the dashboard uses {name}, which /metrics does not have"
        );
    }
    let _ = prometheus.child.kill();
    assert_one_trace_per_payment(&s, &collector);
    s.kill_medpay();
}

/// Every span of a payment is in one trace, rooted at the HIS's create: its party calls (timed),
/// the confirmation, the bank's callback, the outcome; no personal data in any span. (HIS-M-1:
/// the first payment used the persona's personal account, so it had no self-pay order.)
fn assert_one_trace_per_payment(s: &Stack, collector: &medpay_harness::receiver::Receiver) {
    let wanted = [
        "HIS create payment",
        "channel userQuery",
        "core person info",
        "mid-platform 6201",
        "mid-platform 6202",
        "bank self-pay order",
        "bank mixed order",
        "HIS confirm",
        "bank callback",
        "outcome Paid",
    ];
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let received = collector.all();
        let spans: Vec<Value> = received
            .iter()
            .filter(|r| r.path == "/v1/traces")
            .flat_map(|r| {
                let v = json(&String::from_utf8_lossy(&r.body));
                v["resourceSpans"][0]["scopeSpans"][0]["spans"].as_array().cloned().unwrap_or_default()
            })
            .collect();
        let attr = |span: &Value, key: &str| {
            span["attributes"]
                .as_array()
                .and_then(|a| a.iter().find(|x| x["key"] == key))
                .and_then(|x| x["value"]["stringValue"].as_str().map(String::from))
        };
        let root = spans.iter().find(|sp| {
            sp["name"] == "HIS create payment" && attr(sp, "medpay.med_org_ord").as_deref() == Some("HIS-M-1")
        });
        if let Some(root) = root {
            let trace: Vec<&Value> = spans.iter().filter(|sp| sp["traceId"] == root["traceId"]).collect();
            let names: Vec<&str> = trace.iter().filter_map(|sp| sp["name"].as_str()).collect();
            if wanted.iter().all(|w| names.contains(w)) {
                for sp in trace.iter().filter(|sp| sp["name"] != "HIS create payment") {
                    assert_eq!(sp["parentSpanId"], root["spanId"], "{sp}");
                }
                let timed = trace.iter().filter(|sp| sp["name"] == "bank mixed order").any(|sp| {
                    sp["endTimeUnixNano"].as_str().unwrap().parse::<u128>().unwrap()
                        > sp["startTimeUnixNano"].as_str().unwrap().parse::<u128>().unwrap()
                });
                assert!(timed, "party calls carry their duration");
                let others: Vec<&Value> = spans
                    .iter()
                    .filter(|sp| sp["name"] == "HIS create payment" && sp["traceId"] != root["traceId"])
                    .collect();
                assert_eq!(others.len(), 4, "one trace per payment: five payments, five roots");
                let everything = received
                    .iter()
                    .map(|r| String::from_utf8_lossy(&r.body).to_string())
                    .collect::<Vec<_>>()
                    .join("\n");
                let books = s.books();
                for n in books["issued_pay_auth_nos"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .chain(books["issued_pay_tokens"].as_array().unwrap())
                {
                    assert!(!everything.contains(n.as_str().unwrap()), "a payAuthNo or payToken in a span");
                }
                return;
            }
        }
        let names: Vec<String> = spans
            .iter()
            .map(|sp| {
                format!("{} {}", attr(sp, "medpay.med_org_ord").unwrap_or_default(), sp["name"].as_str().unwrap_or(""))
            })
            .collect();
        assert!(Instant::now() < deadline, "HIS-M-1's trace is incomplete; spans: {names:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
}
