//! The append-only log of every exchange with a party (`payment_events`): which party, which
//! operation, SM3 digests of the request and of the verified reply (never their contents: they
//! carry personal data), whether the reply's signature verified, and the outcome. It lets an
//! operator or an auditor prove what was sent and received without the ledger holding personal
//! data. A failure to write the log is reported, never turned into a retry of the party call
//! (some calls, like spending an authCode, cannot be repeated).

use crate::http::{PartyError, now_ms};
use crate::ledger::{Ledger, NewEvent};
use serde::Serialize;

/// Bank order numbers seen for a second payment (a new order's, or a callback's that names a
/// payment the numbers do not belong to), for `/metrics`: each is an integrity alarm.
pub static DUPLICATE_BANK_ORDERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// Party replies refused for a failed signature or decryption, since start (REQ S-4.1d; `/metrics`).
pub static INTEGRITY_REFUSALS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Party exchanges since start by (party, outcome class: ok, rejected, unavailable, unknown,
/// integrity), in key order, for `/metrics`: a rise in `unavailable` or `unknown` is a party in
/// trouble and means activity retries and compensating queries before any payment is seen to
/// fail. The roll-up of `medpay_party_calls_total` over hospitals and operations.
pub fn exchange_counts() -> Vec<(String, String, u64)> {
    crate::metrics::counter_totals(crate::metrics::PARTY_CALLS, &["party", "outcome"])
        .into_iter()
        .filter_map(|(mut by, n)| Some((by.remove(0), by.pop()?, n)))
        .collect()
}

/// One payment's exchange log: the ledger and the payment's keys, named once per activity.
pub struct ExchangeLog<'a> {
    ledger: &'a Ledger,
    org_code: &'a str,
    med_org_ord: &'a str,
}

impl<'a> ExchangeLog<'a> {
    pub fn of(ledger: &'a Ledger, org_code: &'a str, med_org_ord: &'a str) -> Self {
        Self { ledger, org_code, med_org_ord }
    }

    /// Records one exchange with `party` (its `operation`, what was sent, what came back).
    pub async fn record<Req: Serialize, Resp: Serialize>(
        &self,
        party: &str,
        operation: &str,
        request: &Req,
        result: Result<&Resp, &PartyError>,
    ) {
        log_exchange(self.ledger, self.org_code, self.med_org_ord, party, operation, request, result).await
    }
}

/// Records one exchange for the payment (org code, HIS order no.).
async fn log_exchange<Req: Serialize, Resp: Serialize>(
    ledger: &Ledger,
    org_code: &str,
    med_org_ord: &str,
    party: &str,
    operation: &str,
    request: &Req,
    result: Result<&Resp, &PartyError>,
) {
    // `class` is the outcome without the refusal code: the metric's label.
    let (class, outcome, signature_ok, detail, response) = match result {
        Ok(r) => ("ok", "ok".to_string(), Some(true), String::new(), serde_json::to_vec(r).ok()),
        Err(PartyError::Rejected { code, .. }) => {
            ("rejected", format!("rejected:{code}"), Some(true), format!("{party} refused with code {code}"), None)
        }
        Err(PartyError::Local { stage, .. }) => {
            ("local", format!("local:{stage}"), None, format!("not sent to {party}: {stage} failed on our side"), None)
        }
        Err(PartyError::Unavailable { .. }) => {
            ("unavailable", "unavailable".into(), None, format!("{party} unavailable"), None)
        }
        Err(PartyError::Unknown { .. }) => {
            ("unknown", "unknown".into(), None, format!("{party} outcome unknown: queried, never guessed"), None)
        }
        Err(PartyError::Integrity { .. }) => {
            INTEGRITY_REFUSALS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            (
                "integrity",
                "integrity".into(),
                Some(false),
                format!("{party} reply failed its signature or decryption: not acted on"),
                None,
            )
        }
    };
    if crate::trace::enabled() {
        let (start, end) = crate::trace::last_exchange(party);
        let attributes = || {
            vec![
                ("medpay.org_code", org_code.to_string()),
                ("medpay.med_org_ord", med_org_ord.to_string()),
                ("medpay.party", party.to_string()),
                ("medpay.operation", operation.to_string()),
                ("medpay.outcome", class.to_string()),
            ]
        };
        crate::trace::record(
            crate::trace::PaymentTrace::of(org_code, med_org_ord),
            &format!("{party} {operation}"),
            start,
            end,
            attributes,
            class != "ok",
        );
    }
    crate::metrics::inc(
        crate::metrics::PARTY_CALLS,
        &[("org", org_code), ("party", party), ("operation", operation), ("outcome", class)],
    );
    let event = NewEvent {
        at_ms: now_ms(),
        party: party.into(),
        operation: operation.into(),
        request: serde_json::to_vec(request).ok(),
        response,
        signature_ok,
        outcome,
        detail,
    };
    let written = match ledger.record_event_for(org_code, med_org_ord, event).await {
        Ok(true) => Ok(()),
        Ok(false) => Err("no such payment".to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = written {
        let trace_id = crate::trace::PaymentTrace::of(org_code, med_org_ord).trace_id_hex();
        tracing::warn!(org_code, med_org_ord, party, operation, %trace_id, "could not append to the exchange log: {e}");
    }
}
