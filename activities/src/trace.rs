//! Traces in the OpenTelemetry format: one trace per payment, from the HIS's request through
//! each party call of its activities to the bank's callback, exported as OTLP/HTTP JSON to a
//! collector (`telemetry.otlp_endpoint`; off when unset, then a span costs nothing).
//!
//! The trace id is derived from the payment's workflow id (the first 16 bytes of its SM3), so
//! every process that touches the payment puts its spans into the same trace without carrying
//! a context through Temporal: the API that took the create, whichever instance's worker runs
//! each activity (after a kill, on a peer, after an operator's reset), the endpoint that takes
//! the bank's callback. The HIS's create is the trace's root span (its id derived the same way).
//! Spans carry the org code, the HIS order no., party, operation and outcome: business ids,
//! never a person's data.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// A payment's trace: its id and the id of its root span (the HIS's create).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaymentTrace {
    pub trace_id: [u8; 16],
    pub root_span_id: [u8; 8],
}

impl PaymentTrace {
    pub fn of(org_code: &str, med_org_ord: &str) -> Self {
        let digest = medpay_crypto::sm3::sm3(medpay_schemas::workflow_ids::payment(org_code, med_org_ord).as_bytes());
        let mut trace_id = [0u8; 16];
        let mut root_span_id = [0u8; 8];
        trace_id.copy_from_slice(&digest[..16]);
        root_span_id.copy_from_slice(&digest[16..24]);
        Self { trace_id, root_span_id }
    }

    /// As logs and collectors write it (32 hex digits).
    pub fn trace_id_hex(&self) -> String {
        hex::encode(self.trace_id)
    }
}

struct Finished {
    trace: PaymentTrace,
    span_id: [u8; 8],
    root: bool,
    name: String,
    start: SystemTime,
    end: SystemTime,
    attributes: Vec<(&'static str, String)>,
    error: bool,
}

static SPANS: OnceLock<mpsc::UnboundedSender<Finished>> = OnceLock::new();

/// Whether spans are exported (an endpoint was configured at start).
pub fn enabled() -> bool {
    SPANS.get().is_some()
}

/// Starts exporting to `endpoint` (e.g. `http://collector:4318/v1/traces`): spans are batched
/// and posted every half second; a collector that does not answer loses spans, never delays a
/// payment.
pub fn start_export(endpoint: String, service: String, client: reqwest::Client) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Finished>();
    if SPANS.set(tx).is_err() {
        return;
    }
    // Wakes twice a second and takes what has come (a wake-up per span cost the worker more
    // than the spans themselves); a payment makes a dozen spans.
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        let mut batch = Vec::new();
        loop {
            tick.tick().await;
            while let Ok(span) = rx.try_recv() {
                batch.push(span);
            }
            if batch.is_empty() {
                continue;
            }
            let body = otlp_json(&service, &batch);
            batch.clear();
            match client.post(&endpoint).header("content-type", "application/json").body(body).send().await {
                Ok(r) if r.status().is_success() => {}
                Ok(r) => tracing::warn!(status = r.status().as_u16(), "the trace collector refused a batch of spans"),
                Err(e) => tracing::warn!("cannot reach the trace collector: {e}"),
            }
        }
    });
}

/// The attributes of a span, built only when spans are exported.
pub type Attributes = Vec<(&'static str, String)>;

/// Records a finished span of a payment's trace, a child of the HIS's create (a no-op unless
/// exporting: the attributes are not even built then).
pub fn record(
    trace: PaymentTrace,
    name: &str,
    start: SystemTime,
    end: SystemTime,
    attributes: impl FnOnce() -> Attributes,
    error: bool,
) {
    record_span(trace, false, name, start, end, attributes, error);
}

/// The trace's root span: the HIS's create, whose span id is the trace's root id.
pub fn record_root(
    trace: PaymentTrace,
    name: &str,
    start: SystemTime,
    end: SystemTime,
    attributes: impl FnOnce() -> Attributes,
    error: bool,
) {
    record_span(trace, true, name, start, end, attributes, error);
}

fn record_span(
    trace: PaymentTrace,
    root: bool,
    name: &str,
    start: SystemTime,
    end: SystemTime,
    attributes: impl FnOnce() -> Attributes,
    error: bool,
) {
    let Some(tx) = SPANS.get() else { return };
    let attributes = attributes();
    let span_id = if root { trace.root_span_id } else { next_span_id() };
    let _ = tx.send(Finished { trace, span_id, root, name: name.to_string(), start, end, attributes, error });
}

/// A span id unique within this process (and, by its random start, across processes):
/// splitmix64 over a counter, no system call per span.
fn next_span_id() -> [u8; 8] {
    static SEED: OnceLock<u64> = OnceLock::new();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| u64::from_be_bytes(medpay_crypto::random::random_bytes::<8>().unwrap_or_default()));
    let mut z = seed
        .wrapping_add(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)).to_be_bytes()
}

fn nanos(t: SystemTime) -> String {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos().to_string()
}

/// The OTLP/HTTP JSON body of a batch (`ExportTraceServiceRequest`).
fn otlp_json(service: &str, spans: &[Finished]) -> String {
    let spans: Vec<serde_json::Value> = spans
        .iter()
        .map(|s| {
            let mut span = serde_json::json!({
                "traceId": hex::encode(s.trace.trace_id),
                "spanId": hex::encode(s.span_id),
                "name": s.name,
                "kind": if s.root { 2 } else { 3 },
                "startTimeUnixNano": nanos(s.start),
                "endTimeUnixNano": nanos(s.end),
                "attributes": s.attributes.iter().map(|(k, v)| serde_json::json!({"key": k, "value": {"stringValue": v}})).collect::<Vec<_>>(),
                "status": {"code": if s.error { 2 } else { 1 }},
            });
            if !s.root {
                span["parentSpanId"] = hex::encode(s.trace.root_span_id).into();
            }
            span
        })
        .collect();
    serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"scope": {"name": "medpay"}, "spans": spans}],
    }]})
    .to_string()
}

thread_local! {
    /// The last party exchange on this thread: (party, start, end). `http::send` sets it after
    /// its last await; the exchange log reads it before its first, so no other task runs on
    /// the thread in between and the pair belongs to the same call.
    static LAST_EXCHANGE: std::cell::Cell<Option<(&'static str, SystemTime, SystemTime)>> = const { std::cell::Cell::new(None) };
}

pub(crate) fn exchanged(party: &'static str, start: SystemTime, end: SystemTime) {
    LAST_EXCHANGE.with(|c| c.set(Some((party, start, end))));
}

/// The timing of the last exchange with `party` on this thread (now..now when there is none).
pub(crate) fn last_exchange(party: &str) -> (SystemTime, SystemTime) {
    let now = SystemTime::now();
    LAST_EXCHANGE.with(|c| c.take()).filter(|(p, ..)| *p == party).map_or((now, now), |(_, s, e)| (s, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payment_has_one_trace_whatever_process_asks() {
        let a = PaymentTrace::of("H51010500001", "HIS-1");
        assert_eq!(a, PaymentTrace::of("H51010500001", "HIS-1"));
        assert_ne!(a.trace_id, PaymentTrace::of("H51010500001", "HIS-2").trace_id);
        assert_eq!(a.trace_id_hex().len(), 32);
    }

    #[test]
    fn span_ids_do_not_repeat() {
        let ids: std::collections::BTreeSet<[u8; 8]> = (0..10_000).map(|_| next_span_id()).collect();
        assert_eq!(ids.len(), 10_000);
    }

    #[test]
    fn spans_are_otlp_json_children_of_the_create() {
        let t = PaymentTrace::of("H1", "O1");
        let now = SystemTime::now();
        let spans = [
            Finished {
                trace: t,
                span_id: t.root_span_id,
                root: true,
                name: "HIS create payment".into(),
                start: now,
                end: now,
                attributes: vec![("medpay.org_code", "H1".into())],
                error: false,
            },
            Finished {
                trace: t,
                span_id: [1; 8],
                root: false,
                name: "bank mixed order".into(),
                start: now,
                end: now,
                attributes: vec![],
                error: true,
            },
        ];
        let v: serde_json::Value = serde_json::from_str(&otlp_json("medpay", &spans)).unwrap();
        let s = &v["resourceSpans"][0]["scopeSpans"][0]["spans"];
        assert_eq!(s[0]["traceId"], s[1]["traceId"]);
        assert_eq!(s[1]["parentSpanId"], s[0]["spanId"]);
        assert!(s[0].get("parentSpanId").is_none());
        assert_eq!((s[0]["status"]["code"].as_i64(), s[1]["status"]["code"].as_i64()), (Some(1), Some(2)));
        assert_eq!(s[0]["attributes"][0]["value"]["stringValue"], "H1");
    }
}
