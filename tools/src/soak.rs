//! `medpay-tools soak`: payments and refunds through the HIS API
//! against the sandbox while things go wrong - every party endpoint fails a share of calls with
//! 503 or a hang, callbacks are lost, duplicated or forged for a share of orders, the worker is
//! SIGKILLed and restarted every few seconds, the Temporal server is restarted once - and then
//! an audit of medpay's ledger against the sandbox's own books: payments and refunds counted,
//! lost, doubled, stuck (with reasons), and the money difference to the fen. The HIS side
//! retries like a real HIS (idempotent creates, connection errors and 5xx retried).

#![allow(clippy::float_arithmetic, clippy::cast_precision_loss)]

use crate::procs::ProcStack;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use medpay_harness::SANDBOX_ORG as ORG;
const NOT_YET_ORDERED: &str = "Created,Authorised,Uploaded,PreSettled,Confirmed";

#[derive(Clone, Debug, clap::Args)]
pub struct SoakOptions {
    /// Payments to make.
    #[arg(long, default_value_t = 200)]
    pub payments: usize,
    /// Of them, how many are refunded once paid.
    #[arg(long, default_value_t = 50)]
    pub refunds: usize,
    /// Payments at a time.
    #[arg(long, default_value_t = 10)]
    pub concurrency: usize,
    /// The worker is SIGKILLed and started again this often.
    #[arg(long, default_value_t = 5)]
    pub kill_every_secs: u64,
    /// The Temporal server is restarted once, in the third kill's place.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub restart_temporal: bool,
    /// Share of calls to each party endpoint that fail (503) and, half as many, hang (timeout).
    #[arg(long, default_value_t = 50)]
    pub fault_permille: u32,
    /// Share of orders whose callback is lost / duplicated / forged, each.
    #[arg(long, default_value_t = 5)]
    pub callback_fault_percent: u32,
}

/// The HIS's retrying call (`medpay_worker::acceptance::client::call`) on the stack's client.
pub(crate) async fn call(
    s: &ProcStack,
    method: reqwest::Method,
    url: &str,
    body: Option<&Value>,
    secs: u64,
) -> anyhow::Result<(u16, Value)> {
    medpay_worker::acceptance::client::call(&s.http, None, method, url, body, secs).await
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Paid {
    pub ord: String,
    pub created: bool,
    pub state: String,
    pub error: Option<String>,
}

pub(crate) async fn one_payment(s: &ProcStack, ord: String) -> Paid {
    let mut out = Paid { ord: ord.clone(), ..Default::default() };
    let result: anyhow::Result<()> = async {
        let sandbox = |p: &str| format!("https://{}{p}", s.sandbox);
        let (_, auth) = call(s, reqwest::Method::POST, &sandbox("/sandbox/patient/authorize"), Some(&json!({"persona": "resident"})), 60).await?;
        let mut body = json!({"org_code": ORG, "med_org_ord": ord, "scene": "outpatient", "auth_code": auth["authCode"], "openid": "o-soak", "lines": [{"code": "L1", "name": "n", "amount_fen": 8000}, {"code": "L2", "name": "n", "amount_fen": 1234}]});
        medpay_schemas::bill::sample::complete(&mut body);
        let (status, created) = call(s, reqwest::Method::POST, &format!("http://{}/v1/payments", s.api), Some(&body), 180).await?;
        anyhow::ensure!(status == 200 || status == 201, "create: {status} {created}");
        out.created = true;
        let path = format!("http://{}/v1/payments/{ORG}/{ord}", s.api);
        let (status, c) = call(s, reqwest::Method::POST, &format!("{path}/confirm"), Some(&json!({"confirm": true})), 180).await?;
        anyhow::ensure!(status == 202, "confirm: {status} {c}");
        let deadline = Instant::now() + Duration::from_secs(600);
        let mut paid_at_cashier = false;
        loop {
            let wait = if paid_at_cashier { "Ordered".to_string() } else { NOT_YET_ORDERED.to_string() };
            let (_, v) = call(s, reqwest::Method::GET, &format!("{path}?view=false&exchanges=false&wait_secs=20&wait_while={wait}"), None, 180).await?;
            out.state = v["state"].as_str().unwrap_or("").to_string();
            match (out.state.as_str(), v["mix_trade_no"].as_str()) {
                ("Ordered", Some(mix)) if !paid_at_cashier => {
                    call(s, reqwest::Method::POST, &sandbox("/sandbox/patient/pay"), Some(&json!({"mix_trade_no": mix})), 60).await?;
                    paid_at_cashier = true;
                }
                ("Paid" | "Failed" | "Cancelled" | "PendingReconciliation", _) => return Ok(()),
                _ => anyhow::ensure!(Instant::now() < deadline, "still {} after 10 min", out.state),
            }
        }
    }
    .await;
    out.error = result.err().map(|e| e.to_string());
    out
}

#[derive(Clone, Debug, Default)]
struct Refunded {
    ord: String,
    refund_no: String,
    accepted: bool,
    state: String,
    view: Value,
    error: Option<String>,
}

async fn one_refund(s: &ProcStack, ord: String, refund_no: String) -> Refunded {
    let mut out = Refunded { ord: ord.clone(), refund_no: refund_no.clone(), ..Default::default() };
    let result: anyhow::Result<()> = async {
        let (_, auth) = call(s, reqwest::Method::POST, &format!("https://{}/sandbox/patient/authorize", s.sandbox), Some(&json!({"persona": "resident"})), 60).await?;
        let body = json!({"org_code": ORG, "med_org_ord": ord, "refund_no": refund_no, "auth_code": auth["authCode"], "openid": "o-soak", "reason": "soak"});
        let (status, v) = call(s, reqwest::Method::POST, &format!("http://{}/v1/refunds", s.api), Some(&body), 180).await?;
        anyhow::ensure!(status == 200 || status == 201, "refund: {status} {v}");
        out.accepted = true;
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let (_, v) = call(s, reqwest::Method::GET, &format!("http://{}/v1/refunds/{ORG}/{refund_no}", s.api), None, 180).await?;
            out.state = v["state"].as_str().unwrap_or("").to_string();
            out.view = v;
            if ["Refunded", "NeedsAttention", "Abandoned", "DoneOffline"].contains(&out.state.as_str()) || Instant::now() > deadline {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    .await;
    out.error = result.err().map(|e| e.to_string());
    out
}

fn faults(o: &SoakOptions) -> Value {
    let mut endpoints = serde_json::Map::new();
    for e in [
        "channel.wechat",
        "core",
        "mid.6201",
        "mid.6202",
        "mid.6203",
        "bank.self_pay_order",
        "bank.mixed_order",
        "bank.query",
        "bank.self_pay_refund",
        "bank.refund_notify",
    ] {
        endpoints.insert(
            e.into(),
            json!({"error_permille": o.fault_permille, "timeout_permille": o.fault_permille / 2, "hang_secs": 2}),
        );
    }
    // Callback faults for a deterministic share of orders: every k-th order, by kind.
    let mut orders = serde_json::Map::new();
    let every = (100 / o.callback_fault_percent.max(1)).max(3) as usize;
    for i in 0..o.payments {
        let fault = match i % every {
            0 => json!({"lost": true}),
            1 => json!({"duplicate": true}),
            2 => json!({"bad_signature": true}),
            _ => continue,
        };
        orders.insert(format!("SOAK-{i}"), json!({"callback": fault}));
    }
    json!({"global": {"endpoints": endpoints}, "orders": orders})
}

#[derive(Default, Debug)]
struct Audit {
    payments: usize,
    paid: usize,
    refunds: usize,
    refunded: usize,
    lost: Vec<String>,
    doubled: Vec<String>,
    stuck: Vec<String>,
    money_diff_fen: i64,
    money_checked_fen: i64,
}

fn fen(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

/// Each accepted refund against the bank's and the platform's books: one refund each at most,
/// and, once `Refunded`, the same money to the fen.
fn audit_refunds(a: &mut Audit, refunds: &[Refunded], bank_refunds: &[Value], mid_refunds: &[Value]) {
    for r in refunds {
        if !r.accepted {
            a.stuck.push(format!("refund {}: not accepted: {}", r.refund_no, r.error.clone().unwrap_or_default()));
            continue;
        }
        a.refunds += 1;
        let bank: Vec<&Value> =
            bank_refunds.iter().filter(|b| b["outtrx_serial_no"] == format!("RB{}", r.refund_no).as_str()).collect();
        let mid: Vec<&Value> =
            mid_refunds.iter().filter(|m| m["app_refd_sn"] == format!("RS{}", r.refund_no).as_str()).collect();
        if bank.len() > 1 || mid.len() > 1 {
            a.doubled.push(format!(
                "refund {}: {} bank refunds, {} insurance refunds",
                r.refund_no,
                bank.len(),
                mid.len()
            ));
        }
        let theirs_cash: i64 = bank.iter().map(|b| fen(&b["amount"])).sum();
        let theirs_ins: i64 =
            mid.iter().filter(|m| m["status"] == "SUCC").map(|m| fen(&m["fund"]) + fen(&m["acct"])).sum();
        if r.state == "Refunded" {
            a.refunded += 1;
            a.money_diff_fen += (fen(&r.view["cash_fen"]) - theirs_cash).abs()
                + (fen(&r.view["fund_fen"]) + fen(&r.view["psn_acct_fen"]) - theirs_ins).abs();
            a.money_checked_fen += theirs_cash + theirs_ins;
        } else {
            a.stuck.push(format!(
                "refund {} of {}: {} {}",
                r.refund_no,
                r.ord,
                r.state,
                r.view["attention"].as_str().unwrap_or("")
            ));
        }
    }
}

async fn audit(s: &ProcStack, paid: &[Paid], refunds: &[Refunded]) -> anyhow::Result<Audit> {
    let (_, books) =
        call(s, reqwest::Method::GET, &format!("https://{}/sandbox/control/state", s.sandbox), None, 60).await?;
    let list = |k: &str| books[k].as_array().cloned().unwrap_or_default();
    let (mids, mixed, bank_refunds, mid_refunds) =
        (list("mid_orders"), list("mixed_orders"), list("bank_refunds"), list("mid_refunds"));
    let mut a = Audit::default();
    for p in paid {
        if !p.created {
            a.stuck.push(format!("{}: never created: {}", p.ord, p.error.clone().unwrap_or_default()));
            continue;
        }
        a.payments += 1;
        let (status, ledger) = call(
            s,
            reqwest::Method::GET,
            &format!("http://{}/v1/payments/{ORG}/{}?view=false", s.api, p.ord),
            None,
            120,
        )
        .await?;
        if status != 200 {
            a.lost.push(format!("{}: the HIS's create was accepted but the ledger has no payment ({status})", p.ord));
            continue;
        }
        let state = ledger["state"].as_str().unwrap_or("");
        let its_mids: Vec<&Value> = mids.iter().filter(|m| m["med_org_ord"] == p.ord.as_str()).collect();
        let ids: Vec<&str> = its_mids.iter().filter_map(|m| m["pay_ord_id"].as_str()).collect();
        let its_mixed: Vec<&Value> =
            mixed.iter().filter(|m| m["pay_order_id"].as_str().is_some_and(|id| ids.contains(&id))).collect();
        if its_mixed.len() > 1 {
            a.doubled.push(format!("{}: {} mixed orders at the bank", p.ord, its_mixed.len()));
        }
        // Settled at some point: paid (4-6) or refunded since (7-9).
        let settled_mids =
            its_mids.iter().filter(|m| m["ord_stas"].as_str().is_some_and(|c| ("4"..="9").contains(&c))).count();
        if settled_mids > 1 {
            a.doubled.push(format!("{}: {settled_mids} settled insurance orders", p.ord));
        }
        // Paid, or paid and refunded since (the refund is audited below).
        let paid_at_bank =
            its_mixed.iter().find(|m| m["mix_status"] == "MIX_PAY_SUCCESS" || m["mix_status"] == "MIX_PAY_REFUND");
        match (state, paid_at_bank) {
            ("Paid", Some(m)) => {
                a.paid += 1;
                let pairs = [
                    (fen(&ledger["total_fen"]), fen(&m["total"])),
                    (fen(&ledger["own_pay_fen"]), fen(&m["cash"])),
                    (fen(&ledger["fund_fen"]), fen(&m["gov"])),
                    (fen(&ledger["psn_acct_fen"]), fen(&m["own_acct"])),
                ];
                for (ours, theirs) in pairs {
                    a.money_diff_fen += (ours - theirs).abs();
                }
                a.money_checked_fen += fen(&m["total"]);
            }
            ("Paid", None) => a.lost.push(format!("{}: Paid in the ledger, not paid at the bank", p.ord)),
            ("PendingReconciliation", _) => a.stuck.push(format!(
                "{}: PendingReconciliation (settled by the next reconciliation){}",
                p.ord,
                if paid_at_bank.is_some() { "; paid at the bank" } else { "" }
            )),
            (_, Some(_)) => a.lost.push(format!("{}: paid at the bank, ledger says {state}", p.ord)),
            ("Failed" | "Cancelled", None) => {
                a.stuck.push(format!("{}: {state}: {}", p.ord, ledger["failure_reason"].as_str().unwrap_or("")))
            }
            (other, None) => a.stuck.push(format!("{}: still {other}: {}", p.ord, p.error.clone().unwrap_or_default())),
        }
    }
    audit_refunds(&mut a, refunds, &bank_refunds, &mid_refunds);
    Ok(a)
}

/// The soak's bad day: every `kill_every_secs` the worker is SIGKILLed and started again (the
/// third time, the Temporal server is restarted instead) until `done`.
async fn chaos(
    s: Arc<ProcStack>,
    o: SoakOptions,
    done: Arc<AtomicBool>,
    kills: Arc<AtomicUsize>,
    restarts: Arc<AtomicUsize>,
) {
    let mut round = 0u64;
    while !done.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_secs(o.kill_every_secs)).await;
        if done.load(Ordering::Relaxed) {
            break;
        }
        round += 1;
        if o.restart_temporal && round == 3 {
            println!("soak: restarting the Temporal server");
            if let Err(e) = s.restart_temporal() {
                eprintln!("soak: Temporal restart failed: {e}");
            }
            restarts.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        s.kill_medpay();
        kills.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(300)).await;
        if let Err(e) = s.start_medpay().await {
            eprintln!("soak: medpay did not restart: {e}");
        }
    }
}

/// The audit as the operator reads it: stuck payments by reason, anything lost or doubled, the
/// counts and the money difference.
fn print_audit(a: &Audit, elapsed: f64, kills: usize, restarts: usize) {
    let mut by_reason: BTreeMap<String, usize> = BTreeMap::new();
    for s in &a.stuck {
        *by_reason
            .entry(s.split_once(": ").map(|(_, r)| r.chars().take(90).collect()).unwrap_or_default())
            .or_default() += 1;
    }
    println!("soak audit after {elapsed:.0} s ({} worker kills, {} Temporal restarts):", kills, restarts);
    for (reason, n) in &by_reason {
        println!("  not completed: {n} x {reason}");
    }
    for l in a.lost.iter().chain(&a.doubled) {
        println!("  ! {l}");
    }
    for l in a.stuck.iter().take(20) {
        println!("  - {l}");
    }
    println!(
        "payments {}  paid {}  refunds {}  refunded {}  lost {}  doubled {}  stuck {}  money difference {} fen (over {} fen checked)",
        a.payments,
        a.paid,
        a.refunds,
        a.refunded,
        a.lost.len(),
        a.doubled.len(),
        a.stuck.len(),
        a.money_diff_fen,
        a.money_checked_fen
    );
}

/// Runs the soak; `Ok(true)` when nothing was lost or doubled and the money agrees to the fen.
pub async fn run(o: SoakOptions) -> anyhow::Result<bool> {
    let dir = std::env::temp_dir().join(format!("medpay-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    // The standard's deadlines shortened so lost callbacks are queried within seconds.
    let timings = [
        ("MEDPAY_PAYMENT_CALLBACK_WAIT_SECS", "4"),
        ("MEDPAY_PAYMENT_QUERY_EVERY_SECS", "1"),
        ("MEDPAY_PAYMENT_QUERY_FOR_SECS", "30"),
        ("MEDPAY_REFUND_ATTENTION_AFTER_SECS", "300"),
    ];
    let s = Arc::new(ProcStack::start(&dir, &timings).await?);
    let started = Instant::now();
    let (status, _) =
        call(&s, reqwest::Method::PUT, &format!("https://{}/sandbox/control/faults", s.sandbox), Some(&faults(&o)), 30)
            .await?;
    anyhow::ensure!(status == 200, "the sandbox refused the fault configuration ({status})");
    println!(
        "soak: {} payments, {} refunds, {} at a time; faults {}‰ errors + {}‰ hangs on every party endpoint, callbacks lost/duplicated/forged for {}% of orders each; worker SIGKILLed every {} s{}",
        o.payments,
        o.refunds,
        o.concurrency,
        o.fault_permille,
        o.fault_permille / 2,
        o.callback_fault_percent,
        o.kill_every_secs,
        if o.restart_temporal { "; the Temporal server restarted once" } else { "" }
    );

    let done = Arc::new(AtomicBool::new(false));
    let (kills, restarts) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let chaos = tokio::spawn(chaos(s.clone(), o.clone(), done.clone(), kills.clone(), restarts.clone()));

    let sem = Arc::new(tokio::sync::Semaphore::new(o.concurrency));
    let refund_slots = Arc::new(AtomicUsize::new(o.refunds));
    let mut tasks = vec![];
    for i in 0..o.payments {
        let (s, sem, refund_slots) = (s.clone(), sem.clone(), refund_slots.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire_owned().await;
            let p = one_payment(&s, format!("SOAK-{i}")).await;
            let wants_refund = p.state == "Paid"
                && refund_slots.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok();
            let r = if wants_refund { Some(one_refund(&s, p.ord.clone(), format!("SR{i}")).await) } else { None };
            (p, r)
        }));
    }
    let (mut paid, mut refunds) = (vec![], vec![]);
    for t in tasks {
        let (p, r) = t.await?;
        if let Some(e) = &p.error {
            eprintln!("soak: {}: {e}", p.ord);
        }
        paid.push(p);
        refunds.extend(r);
    }
    done.store(true, Ordering::Relaxed);
    let _ = chaos.await;
    // The audit reads a calm system: no faults, the worker up.
    let _ =
        call(&s, reqwest::Method::PUT, &format!("https://{}/sandbox/control/faults", s.sandbox), Some(&json!({})), 30)
            .await;
    if s.medpay_pid() == 0 {
        s.start_medpay().await?;
    }
    let a = audit(&s, &paid, &refunds).await?;
    let elapsed = started.elapsed().as_secs_f64();
    drop(s);
    // A failed audit keeps its evidence (ledger, Temporal's database, the sandbox's books).
    if a.lost.is_empty() && a.doubled.is_empty() && a.money_diff_fen == 0 {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        println!("soak: the stack's files are kept for inspection in {}", dir.display());
    }
    print_audit(&a, elapsed, kills.load(Ordering::Relaxed), restarts.load(Ordering::Relaxed));
    Ok(a.lost.is_empty() && a.doubled.is_empty() && a.money_diff_fen == 0)
}
