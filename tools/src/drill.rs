//! `medpay-tools drill <situation>`: the runbook's playbooks (docs/RUNBOOK.md, REQ A-4.2b) rehearsed
//! against the sandbox. Each drill starts its own Temporal dev server, sandbox and `medpay run`
//! (nothing of the quick-start stack is touched), causes the situation, prints what an operator
//! would see, applies the playbook's recovery and checks that the payments came through.

#![allow(clippy::float_arithmetic)]

use crate::procs::{ProcStack, callback_forms, post_callbacks};
use crate::soak::{call, one_payment};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

use medpay_harness::SANDBOX_ORG as ORG;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Situation {
    BankDown,
    MidPlatformDown,
    CallbackStorm,
    TemporalDown,
    KeyRotation,
    CertificateRenewal,
    StuckPending,
}

struct Drill {
    s: Arc<ProcStack>,
    t0: Instant,
}

impl Drill {
    fn say(&self, what: impl AsRef<str>) {
        println!("[{:>6.1}s] {}", self.t0.elapsed().as_secs_f64(), what.as_ref());
    }

    fn api(&self, path: &str) -> String {
        format!("http://{}{path}", self.s.api)
    }

    fn sandbox(&self, path: &str) -> String {
        format!("https://{}{path}", self.s.sandbox)
    }

    async fn faults(&self, f: Value) -> anyhow::Result<()> {
        call(&self.s, Method::PUT, &self.sandbox("/sandbox/control/faults"), Some(&f), 30).await.map(drop)
    }

    async fn payment(&self, ord: &str) -> anyhow::Result<Value> {
        Ok(call(&self.s, Method::GET, &self.api(&format!("/v1/payments/{ORG}/{ord}?view=false")), None, 60).await?.1)
    }

    /// Starts a payment the HIS way in the background; its final state comes from the handle.
    fn start_payment(&self, ord: &str) -> tokio::task::JoinHandle<String> {
        let (s, ord) = (self.s.clone(), ord.to_string());
        tokio::spawn(async move {
            let p = one_payment(&s, ord).await;
            p.error.map(|e| format!("{} ({e})", p.state)).unwrap_or(p.state)
        })
    }

    /// Prints the payment's state for `secs` seconds, once a second.
    async fn watch(&self, ord: &str, secs: u64) -> anyhow::Result<Value> {
        let mut last = Value::Null;
        for _ in 0..secs {
            tokio::time::sleep(Duration::from_secs(1)).await;
            last = self.payment(ord).await?;
            let unavailable = last["exchanges"]
                .as_array()
                .map(|e| e.iter().filter(|x| x["outcome"] == "unavailable").count())
                .unwrap_or(0);
            self.say(format!(
                "  {ord}: {} ({unavailable} calls answered 'unavailable' so far, each retried)",
                last["state"].as_str().unwrap_or("?")
            ));
        }
        Ok(last)
    }
}

async fn expect(d: &Drill, what: &str, handle: tokio::task::JoinHandle<String>, want: &str) -> anyhow::Result<()> {
    let got = handle.await?;
    d.say(format!("{what}: {got}"));
    anyhow::ensure!(got == want, "{what} ended {got}, expected {want}");
    Ok(())
}

pub async fn run(situation: Situation) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("medpay-drill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let timings = [
        ("MEDPAY_PAYMENT_CALLBACK_WAIT_SECS", "3"),
        ("MEDPAY_PAYMENT_QUERY_EVERY_SECS", "1"),
        ("MEDPAY_PAYMENT_QUERY_FOR_SECS", "5"),
    ];
    let d = Drill { s: Arc::new(ProcStack::start(&dir, &timings).await?), t0: Instant::now() };
    d.say(format!("drill {situation:?}: Temporal, sandbox and medpay up (API http://{})", d.s.api));
    let result = match situation {
        Situation::BankDown => party_down(&d, "bank", &["bank.self_pay_order", "bank.mixed_order"], "PreSettled").await,
        Situation::MidPlatformDown => party_down(&d, "mid-platform", &["mid.6201", "mid.6202"], "Authorised").await,
        Situation::CallbackStorm => callback_storm(&d).await,
        Situation::TemporalDown => temporal_down(&d).await,
        Situation::KeyRotation => key_rotation(&d).await,
        Situation::CertificateRenewal => certificate_renewal(&d).await,
        Situation::StuckPending => stuck_pending(&d).await,
    };
    drop(d);
    let _ = std::fs::remove_dir_all(&dir);
    result?;
    println!("drill passed: recovered as the runbook says");
    Ok(())
}

/// A party answers 503 to everything: payments wait at the step before it, retried with backoff;
/// when it is back they complete. Nothing to do but watch (and tell the HIS why it is slow).
async fn party_down(d: &Drill, party: &str, endpoints: &[&str], waits_at: &str) -> anyhow::Result<()> {
    let eps: serde_json::Map<String, Value> =
        endpoints.iter().map(|e| (e.to_string(), json!({"error_permille": 1000}))).collect();
    d.faults(json!({"global": {"endpoints": eps}})).await?;
    d.say(format!("the {party} is down (every call to {} answers 503)", endpoints.join(", ")));
    let ord = format!("DRILL-{}", party.to_uppercase());
    let handle = d.start_payment(&ord);
    let seen = d.watch(&ord, 8).await?;
    anyhow::ensure!(seen["state"] == waits_at, "expected the payment to wait at {waits_at}, it is {}", seen["state"]);
    d.say(format!("playbook: nothing is lost; the ledger shows {waits_at} (the last step done), the next step's activity retries (Temporal UI: pending activity, attempt count). The {party} comes back:"));
    d.faults(json!({})).await?;
    expect(d, &format!("{ord} after the {party} recovered"), handle, "Paid").await
}

/// Thousands of bank notices at once (a bank replaying its queue): every verified one is
/// acknowledged, forged ones are refused and counted, and a new payment still completes.
async fn callback_storm(d: &Drill) -> anyhow::Result<()> {
    expect(d, "a first payment", d.start_payment("DRILL-STORM-1"), "Paid").await?;
    let mix = d.payment("DRILL-STORM-1").await?["mix_trade_no"].as_str().unwrap_or_default().to_string();
    let (_, signed) = call(
        &d.s,
        Method::POST,
        &d.sandbox("/sandbox/control/callbacks"),
        Some(&json!({"mix_trade_no": mix, "count": 2000})),
        60,
    )
    .await?;
    let (_, forged) = call(
        &d.s,
        Method::POST,
        &d.sandbox("/sandbox/control/callbacks"),
        Some(&json!({"mix_trade_no": mix, "count": 200, "bad_signature": true})),
        60,
    )
    .await?;
    let (genuine, forged) = (callback_forms(&signed), callback_forms(&forged));
    d.say(format!(
        "storm: {} signed repeats and {} forged notices, 64 at a time; meanwhile a new payment",
        genuine.len(),
        forged.len()
    ));
    let meanwhile = d.start_payment("DRILL-STORM-2");
    let started = Instant::now();
    let statuses = post_callbacks(&d.s, genuine.into_iter().chain(forged).collect(), 64).await;
    let (repeats, fakes) = statuses.split_at(2000.min(statuses.len()));
    let acked = repeats.iter().filter(|&&s| s == 200).count();
    let refused = fakes.iter().filter(|&&s| s == 401).count();
    let other = statuses.len() - acked - refused;
    d.say(format!("storm over in {:.1} s: {acked} acknowledged, {refused} forged refused, {other} other (429 = the callback rate limit)", started.elapsed().as_secs_f64()));
    let metrics = d.s.http.get(d.api("/metrics")).send().await?.text().await?;
    d.say(
        metrics.lines().find(|l| l.starts_with("medpay_forged_callbacks_total")).unwrap_or("no forged-callback metric"),
    );
    anyhow::ensure!(refused == 200 && acked + other == 2000 && acked > 0, "unexpected storm outcome");
    expect(d, "the payment made during the storm", meanwhile, "Paid").await
}

/// The Temporal server stops: the API refuses new payments with 503 (the HIS retries), status
/// reads still answer from the ledger; when it is back, everything in flight completes.
async fn temporal_down(d: &Drill) -> anyhow::Result<()> {
    let (_, auth) =
        call(&d.s, Method::POST, &d.sandbox("/sandbox/patient/authorize"), Some(&json!({"persona": "resident"})), 30)
            .await?;
    // The bank's notice for the payment in flight comes late, so it is at the cashier when the
    // server goes away.
    d.faults(json!({"orders": {"DRILL-TEMPORAL-1": {"callback": {"delay_secs": 8}}}})).await?;
    let in_flight = d.start_payment("DRILL-TEMPORAL-1");
    for _ in 0..100 {
        if d.payment("DRILL-TEMPORAL-1").await.is_ok_and(|v| v["state"] == "Ordered") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    d.s.stop_temporal();
    d.say("the Temporal server is down");
    let mut body = json!({"org_code": ORG, "med_org_ord": "DRILL-TEMPORAL-2", "scene": "outpatient", "auth_code": auth["authCode"], "openid": "o", "lines": [{"code": "L", "name": "n", "amount_fen": 5000}]});
    medpay_schemas::bill::sample::complete(&mut body);
    let r = d.s.http.post(d.api("/v1/payments")).json(&body).send().await?;
    let (status, err): (u16, Value) = (r.status().as_u16(), r.json().await.unwrap_or(Value::Null));
    d.say(format!("  a new payment: HTTP {status} {}", err["code"].as_str().unwrap_or("")));
    anyhow::ensure!(status == 503, "expected 503 while Temporal is down, got {status} {err}");
    let status_read = d.payment("DRILL-TEMPORAL-1").await?;
    d.say(format!("  status of the payment in flight, from the ledger: {}", status_read["state"]));
    anyhow::ensure!(status_read["state"] == "Ordered", "the payment was meant to be in flight: {status_read}");
    tokio::time::sleep(Duration::from_secs(5)).await;
    d.say("playbook: restore Temporal (same database); the worker reconnects by itself");
    d.s.start_temporal()?;
    let (status, _) = call(&d.s, Method::POST, &d.api("/v1/payments"), Some(&body), 120).await?;
    d.say(format!("  the HIS retries the refused create: HTTP {status}"));
    anyhow::ensure!(status == 200 || status == 201, "the retried create got {status}");
    expect(d, "the payment in flight while Temporal was down", in_flight, "Paid").await
}

/// A new payload key becomes the encrypting one; the old one stays to decrypt running and old
/// workflows. After a restart both payments read back through the Temporal query (decoded).
async fn key_rotation(d: &Drill) -> anyhow::Result<()> {
    expect(d, "a payment under key 'bench'", d.start_payment("DRILL-KEY-1"), "Paid").await?;
    let keys = d.s.dir.join("payload.keys");
    let old = std::fs::read_to_string(&keys)?;
    let fresh = medpay_worker::codec::Sm4GcmCodec::generate_key_file("k2")?;
    let old_lines: String = old.lines().filter(|l| !l.starts_with('#')).map(|l| format!("{l}\n")).collect();
    std::fs::write(&keys, format!("{fresh}{old_lines}"))?;
    d.say("playbook: new key 'k2' first in the key file (it encrypts), 'bench' kept below it (it decrypts); restart medpay");
    d.s.kill_medpay();
    d.s.start_medpay().await?;
    expect(d, "a payment under key 'k2'", d.start_payment("DRILL-KEY-2"), "Paid").await?;
    // The kill may land between the ledger's `Paid` and Temporal hearing that the recording
    // activity completed: the workflow then finishes that step once the activity is retried
    // (after its timeout), so its view may still say an earlier state for a while.
    let started = std::time::Instant::now();
    for ord in ["DRILL-KEY-1", "DRILL-KEY-2"] {
        loop {
            let (_, v) = call(&d.s, Method::GET, &d.api(&format!("/v1/payments/{ORG}/{ord}")), None, 30).await?;
            // No view is either a history that does not decode or a worker still replaying it
            // (the read waits 5 s for it): asked again until the deadline.
            let state = &v["workflow"]["state"];
            if state == "Paid" {
                d.say(format!("  {ord}: workflow view decoded: {state}"));
                break;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(90),
                "{ord}'s workflow view: {}: {v}",
                if state.is_string() {
                    "decodes but stays there"
                } else {
                    "none (the history does not decode, or the worker never answered)"
                }
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    d.say("retire 'bench' only after every workflow it encrypted has closed and aged out of retention");
    Ok(())
}

/// A certificate nearing or past expiry is found by `medpay certs check` (and /metrics); after
/// the renewed file is in place the check passes.
async fn certificate_renewal(d: &Drill) -> anyhow::Result<()> {
    let me = medpay_harness::medpay_bin();
    let ca = d.s.dir.join("his-ca.pem");
    std::fs::write(&ca, include_str!("../../tests/fixtures/expiring-cert.pem"))?;
    let check = |at: &str| {
        std::process::Command::new(&me)
            .args(["certs", "check", "--at", at])
            .env("MEDPAY_HIS_CA_FILE", &ca)
            .env_remove("MEDPAY_PARTIES_CA_FILE")
            .env_remove("MEDPAY_PARTIES_PARAMS_FILE")
            .output()
    };
    let out = check("2026-12-07")?;
    d.say(format!(
        "medpay certs check (as of 2026-12-07), exit {}:\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout)
    ));
    anyhow::ensure!(!out.status.success(), "an expired certificate must fail the check");
    d.say("playbook: put the renewed certificate in place (here: the sandbox's current CA), then check again and restart medpay");
    std::fs::copy(d.s.dir.join("sandbox/tls/ca.pem"), &ca)?;
    let out = check("2026-12-07")?;
    d.say(format!(
        "medpay certs check, exit {}:\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout)
    ));
    anyhow::ensure!(out.status.success(), "the renewed certificate must pass");
    Ok(())
}

/// The bank's notice is lost and its query is down: the payment waits in
/// PendingReconciliation. Recovery: the bank's notice arrives late (here replayed), or the next
/// reconciliation settles it.
async fn stuck_pending(d: &Drill) -> anyhow::Result<()> {
    d.faults(json!({"global": {"endpoints": {"bank.query": {"error_permille": 1000}}}, "orders": {"DRILL-PEND": {"callback": {"lost": true}}}})).await?;
    d.say("the bank's notice for DRILL-PEND is lost and the bank's query answers 503");
    let handle = d.start_payment("DRILL-PEND");
    let state = handle.await?;
    d.say(format!("  DRILL-PEND: {state} (the patient paid; medpay does not guess)"));
    anyhow::ensure!(state == "PendingReconciliation", "expected PendingReconciliation, got {state}");
    d.say("operator: temporal workflow list --query \"MedpayPaymentState = 'PendingReconciliation'\"");
    let mix = d.payment("DRILL-PEND").await?["mix_trade_no"].as_str().unwrap_or_default().to_string();
    let (_, signed) =
        call(&d.s, Method::POST, &d.sandbox("/sandbox/control/callbacks"), Some(&json!({"mix_trade_no": mix})), 30)
            .await?;
    let form = callback_forms(&signed).into_iter().next().unwrap_or_default();
    d.say("playbook: ask the bank to re-send its notice (or run the day's reconciliation: medpay recon run)");
    let status =
        d.s.http
            .post(d.api("/v1/bank/callback"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await?
            .status();
    d.say(format!("  the late notice: HTTP {status}"));
    let (_, v) = call(
        &d.s,
        Method::GET,
        &d.api(&format!("/v1/payments/{ORG}/DRILL-PEND?view=false&wait_while=PendingReconciliation&wait_secs=20")),
        None,
        60,
    )
    .await?;
    d.say(format!("  DRILL-PEND: {}", v["state"]));
    anyhow::ensure!(v["state"] == "Paid", "the late notice did not settle the payment: {v}");
    d.faults(json!({})).await
}
