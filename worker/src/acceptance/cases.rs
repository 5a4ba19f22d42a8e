//! The joint-test matrix of REQ O-5's build phase, step 2: pure insurance, pure self-pay and
//! mixed payment in registration, outpatient and pharmacy; a full and a partial refund; a
//! declined bill; a lost callback healed by the query (REQ Q-9); and today's reconciliation.
//! Each case is real workflows through the HIS API, judged on what the API reports.

use super::client::{His, Sandbox};
use serde::Serialize;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// What a payment case expects of the split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// 纯医保: nothing left to self-pay.
    Insurance,
    /// 纯自费: no insurance part.
    SelfPay,
    /// 医保自费混合: both.
    Mixed,
}

impl Split {
    pub fn label(self) -> &'static str {
        match self {
            Self::Insurance => "纯医保 pure insurance",
            Self::SelfPay => "纯自费 pure self-pay",
            Self::Mixed => "混合 mixed",
        }
    }

    /// The sandbox's roster person who pays this way.
    fn persona(self) -> &'static str {
        match self {
            Self::Insurance => "insurance-only",
            Self::SelfPay => "self-pay-only",
            Self::Mixed => "mixed",
        }
    }

    fn holds(self, fund: i64, acct: i64, own: i64) -> bool {
        match self {
            Self::Insurance => own == 0 && fund + acct > 0,
            Self::SelfPay => fund + acct == 0 && own > 0,
            Self::Mixed => own > 0 && fund + acct > 0,
        }
    }
}

/// One exchange with a party, as the payment's log shows it.
#[derive(Clone, Debug, Serialize)]
pub struct Exchange {
    pub party: String,
    pub operation: String,
    pub outcome: String,
    pub signature_ok: Option<bool>,
    pub request_sm3: Option<String>,
    pub response_sm3: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Amounts {
    pub total_fen: i64,
    pub fund_fen: i64,
    pub psn_acct_fen: i64,
    pub own_pay_fen: i64,
    pub refunded_fund_fen: i64,
    pub refunded_psn_acct_fen: i64,
    pub refunded_cash_fen: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    /// Stable id, e.g. `wechat/outpatient/mixed`.
    pub id: String,
    pub channel: String,
    pub scene: String,
    pub kind: String,
    pub inputs: Value,
    pub med_org_ord: Option<String>,
    pub workflow_ids: Vec<String>,
    pub state: String,
    pub amounts: Option<Amounts>,
    pub exchanges: Vec<Exchange>,
    pub passed: bool,
    /// Why it failed; what was seen when it passed.
    pub reason: String,
    pub millis: u64,
}

/// Who plays the patient.
pub enum Patient<'a> {
    Sandbox(&'a Sandbox),
    /// A real test person opens a link; the run prints it and waits this long.
    Person { wait: Duration },
}

pub struct Run<'a> {
    pub his: &'a His,
    pub patient: Patient<'a>,
    pub org: String,
    pub openid: String,
    /// Prefix of this run's HIS order nos.
    pub prefix: String,
}

fn fen(v: &Value, k: &str) -> i64 {
    v[k].as_i64().unwrap_or(0)
}

pub fn amounts(v: &Value) -> Amounts {
    Amounts {
        total_fen: fen(v, "total_fen"),
        fund_fen: fen(v, "fund_fen"),
        psn_acct_fen: fen(v, "psn_acct_fen"),
        own_pay_fen: fen(v, "own_pay_fen"),
        refunded_fund_fen: fen(v, "refunded_fund_fen"),
        refunded_psn_acct_fen: fen(v, "refunded_psn_acct_fen"),
        refunded_cash_fen: fen(v, "refunded_cash_fen"),
    }
}

fn exchanges(v: &Value) -> Vec<Exchange> {
    let s = |e: &Value, k: &str| e[k].as_str().unwrap_or("").to_string();
    v["exchanges"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| Exchange {
                    party: s(e, "party"),
                    operation: s(e, "operation"),
                    outcome: s(e, "outcome"),
                    signature_ok: e["signature_ok"].as_bool(),
                    request_sm3: e["request_sm3"].as_str().map(str::to_string),
                    response_sm3: e["response_sm3"].as_str().map(str::to_string),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A bill of the scene, complete as the 6201 needs it.
fn bill(scene: &str, total_fen: i64) -> Value {
    let (code, name) = match scene {
        "registration" => ("REG-01", "普通门诊挂号费"),
        "pharmacy" => ("RX-01", "药品"),
        _ => ("EX-01", "检查费"),
    };
    let mut body = json!({"scene": scene, "lines": [{"code": code, "name": name, "amount_fen": total_fen}]});
    medpay_schemas::bill::sample::complete(&mut body);
    body
}

impl Run<'_> {
    fn ord(&self, channel: &str, n: usize) -> String {
        format!("{}{}{n:02}", self.prefix, if channel == "alipay" { "A" } else { "W" })
    }

    /// Creates the payment (or has the person open its link) and drives it to a final state.
    async fn pay(&self, p: &Pay<'_>) -> anyhow::Result<Value> {
        let Pay { channel, ord, scene, split, total, confirm, lose_callback } = *p;
        let mut body = bill(scene, total);
        body["org_code"] = json!(self.org);
        body["med_org_ord"] = json!(ord);
        body["channel"] = json!(channel);
        body["openid"] = json!(self.openid);
        body["use_personal_account"] = json!(split != Split::Mixed);
        match &self.patient {
            Patient::Sandbox(sb) => {
                if lose_callback {
                    sb.lose_callback(ord).await?;
                }
                body["auth_code"] = json!(sb.authorise(split.persona(), channel).await?);
                let (status, v) = self.his.post("/v1/payments", &body).await?;
                anyhow::ensure!(status == 201 || status == 200, "create: HTTP {status} {}: {}", v["code"].as_str().unwrap_or(""), v["message"].as_str().unwrap_or(&v.to_string()));
                let v = self.pre_settled(ord).await?;
                anyhow::ensure!(v["state"] == "PreSettled", "after create: {} ({})", v["state"], v["failure_reason"]);
                let (status, v) = self.his.post(&format!("/v1/payments/{}/{ord}/confirm", self.org), &json!({"confirm": confirm})).await?;
                anyhow::ensure!(status == 202, "confirm: HTTP {status} {v}");
                if confirm {
                    let v = self.his.payment_after(&self.org, ord, "PreSettled,Confirmed", Duration::from_secs(120)).await?;
                    let mix = v["mix_trade_no"].as_str().with_context_str(|| format!("no mixed order: {} ({})", v["state"], v["failure_reason"]))?;
                    sb.pay(mix).await?;
                }
            }
            Patient::Person { wait } => {
                let bill = json!({"scene": scene, "channel": channel, "openid": self.openid, "lines": body["lines"], "visit": body["visit"]});
                let (status, link) = self.his.post(&format!("/v1/payments/{}/{ord}/patient-link", self.org), &json!({"bill": bill})).await?;
                anyhow::ensure!(status == 201, "patient link: HTTP {status} {link}");
                let act = if confirm { "pay" } else { "decline the bill" };
                println!("    → a test person whose insurance makes this {}: open {} in {channel} and {act} (waiting {} min)", split.label(), link["url"].as_str().unwrap_or(""), wait.as_secs() / 60);
                self.his.poll(&format!("/v1/payments/{}/{ord}?view=false&exchanges=false", self.org), "the person's payment", *wait, |v| v["state"].is_string()).await?;
            }
        }
        self.his.payment_after(&self.org, ord, "Created,Authorised,Uploaded,PreSettled,Confirmed,Ordered", Duration::from_secs(300)).await?;
        let (_, full) = self.his.get(&format!("/v1/payments/{}/{ord}", self.org)).await?;
        Ok(full)
    }
}

impl Run<'_> {
    /// Waits for the pre-settlement. A reply that fails its signature or decryption is
    /// retried by the workflow (the fault may be passing); the acceptance run does not wait for
    /// that: it names the exchange and cancels the payment so nothing keeps retrying.
    async fn pre_settled(&self, ord: &str) -> anyhow::Result<Value> {
        let path = format!("/v1/payments/{}/{ord}?view=false", self.org);
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let (status, v) = self.his.get(&path).await?;
            anyhow::ensure!(status == 200, "reading payment {ord}: HTTP {status} {v}");
            if !["Created", "Authorised", "Uploaded"].contains(&v["state"].as_str().unwrap_or("")) {
                return Ok(v);
            }
            let refused = v["exchanges"].as_array().into_iter().flatten().find(|e| e["signature_ok"] == false || e["outcome"] == "integrity");
            let last = v["exchanges"].as_array().and_then(|a| a.last()).cloned();
            let stuck = match (refused, Instant::now() >= deadline) {
                (Some(e), _) => Some(e.clone()),
                (None, true) => Some(last.unwrap_or(Value::Null)),
                (None, false) => None,
            };
            if let Some(e) = stuck {
                let _ = self.his.post(&format!("/v1/payments/{}/{ord}/cancel", self.org), &json!({})).await;
                anyhow::bail!(
                    "stuck in {}: {} {} answered {} ({}); the payment was cancelled",
                    v["state"].as_str().unwrap_or("?"),
                    e["party"].as_str().unwrap_or("?"),
                    e["operation"].as_str().unwrap_or("?"),
                    e["outcome"].as_str().unwrap_or("nothing"),
                    e["detail"].as_str().unwrap_or("no exchange logged")
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// One payment of the matrix: `confirm` false declines the bill; `lose_callback` plants a lost
/// bank callback for the order first (sandbox only).
#[derive(Clone, Copy)]
struct Pay<'a> {
    channel: &'a str,
    ord: &'a str,
    scene: &'a str,
    split: Split,
    total: i64,
    confirm: bool,
    lose_callback: bool,
}

/// `Option` → `Result` with a lazily built message (anyhow's `Context` formats eagerly).
trait OrFail<T> {
    fn with_context_str(self, f: impl FnOnce() -> String) -> anyhow::Result<T>;
}

impl<T> OrFail<T> for Option<T> {
    fn with_context_str(self, f: impl FnOnce() -> String) -> anyhow::Result<T> {
        self.ok_or_else(|| anyhow::anyhow!(f()))
    }
}

fn result(id: String, channel: &str, scene: &str, kind: &str, inputs: Value, ord: Option<String>, started: Instant) -> CaseResult {
    CaseResult {
        id,
        channel: channel.into(),
        scene: scene.into(),
        kind: kind.into(),
        inputs,
        med_org_ord: ord,
        workflow_ids: Vec::new(),
        state: String::new(),
        amounts: None,
        exchanges: Vec::new(),
        passed: false,
        reason: String::new(),
        millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

/// Fills a case from the payment's final view and judges it.
fn judge_payment(mut c: CaseResult, v: &Value, expect_state: &str, check: impl FnOnce(&Value, &Amounts) -> Result<String, String>) -> CaseResult {
    c.state = v["state"].as_str().unwrap_or("").to_string();
    c.workflow_ids = v["workflow_id"].as_str().map(|w| vec![w.to_string()]).unwrap_or_default();
    let a = amounts(v);
    c.exchanges = exchanges(v);
    let bad_signature = c.exchanges.iter().find(|e| e.signature_ok == Some(false)).map(|e| format!("{} {}", e.party, e.operation));
    let verdict = if c.state != expect_state {
        let why = v["failure"]["message"].as_str().or(v["failure_reason"].as_str()).unwrap_or("no reason given");
        Err(format!("ended {} instead of {expect_state}: {why}", c.state))
    } else if let Some(e) = bad_signature {
        Err(format!("a reply's signature was refused: {e}"))
    } else if a.fund_fen + a.psn_acct_fen + a.own_pay_fen != a.total_fen && expect_state == "Paid" {
        Err(format!("the parts {} + {} + {} do not add up to the total {}", a.fund_fen, a.psn_acct_fen, a.own_pay_fen, a.total_fen))
    } else {
        check(v, &a)
    };
    c.amounts = Some(a);
    (c.passed, c.reason) = match verdict {
        Ok(seen) => (true, seen),
        Err(why) => (false, why),
    };
    c
}

fn failed(mut c: CaseResult, e: &anyhow::Error) -> CaseResult {
    c.passed = false;
    c.reason = format!("{e:#}");
    c
}

/// The nine payments of a channel (three scenes × three splits), the declined bill and the lost
/// callback; returns them with the HIS order nos. the refunds use (mixed outpatient, pharmacy).
pub async fn payments(run: &Run<'_>, channel: &str, progress: &dyn Fn(&CaseResult)) -> Vec<CaseResult> {
    let mut out = Vec::new();
    let mut n = 0;
    let sandbox = matches!(run.patient, Patient::Sandbox(_));
    for scene in ["registration", "outpatient", "pharmacy"] {
        for split in [Split::Insurance, Split::SelfPay, Split::Mixed] {
            n += 1;
            let total = match scene {
                "registration" => 1_200 + i64::try_from(n).unwrap_or(0),
                "pharmacy" => 8_650,
                _ => 30_000,
            };
            let ord = run.ord(channel, n);
            let started = Instant::now();
            let c = result(format!("{channel}/{scene}/{split:?}").to_lowercase(), channel, scene, split.label(), json!({"total_fen": total, "lines": 1, "person": masked(split, sandbox)}), Some(ord.clone()), started);
            let c = match run.pay(&Pay { channel, ord: &ord, scene, split, total, confirm: true, lose_callback: false }).await {
                Ok(v) => judge_payment(c, &v, "Paid", |v, a| {
                    if !split.holds(a.fund_fen, a.psn_acct_fen, a.own_pay_fen) {
                        return Err(format!("split fund {} / account {} / self-pay {} is not {}", a.fund_fen, a.psn_acct_fen, a.own_pay_fen, split.label()));
                    }
                    Ok(format!("Paid by {}: fund {} + account {} + self-pay {} = {} fen", v["workflow"]["settled_by"].as_str().unwrap_or("an unreported source"), a.fund_fen, a.psn_acct_fen, a.own_pay_fen, a.total_fen))
                }),
                Err(e) => failed(c, &e),
            };
            let mut c = c;
            c.millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            progress(&c);
            out.push(c);
        }
    }
    // The patient declines the pre-settled bill: nothing is charged, the upload is revoked.
    n += 1;
    let ord = run.ord(channel, n);
    let started = Instant::now();
    let c = result(format!("{channel}/outpatient/declined"), channel, "outpatient", "拒绝账单 declined bill", json!({"total_fen": 4_321, "person": masked(Split::Mixed, sandbox)}), Some(ord.clone()), started);
    let mut c = match run.pay(&Pay { channel, ord: &ord, scene: "outpatient", split: Split::Mixed, total: 4_321, confirm: false, lose_callback: false }).await {
        Ok(v) => judge_payment(c, &v, "Cancelled", |_, _| Ok("Cancelled at the patient's word: no bank order, nothing charged".into())),
        Err(e) => failed(c, &e),
    };
    c.millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    progress(&c);
    out.push(c);
    // The bank's callback is lost: the compensating query (REQ Q-9) settles the payment.
    n += 1;
    let ord = run.ord(channel, n);
    let started = Instant::now();
    let mut c = result(format!("{channel}/outpatient/lost-callback"), channel, "outpatient", "回调丢失 lost callback → query", json!({"total_fen": 5_555, "person": masked(Split::Mixed, sandbox)}), Some(ord.clone()), started);
    if sandbox {
        c = match run.pay(&Pay { channel, ord: &ord, scene: "outpatient", split: Split::Mixed, total: 5_555, confirm: true, lose_callback: true }).await {
            Ok(v) => judge_payment(c, &v, "Paid", |v, _| match v["workflow"]["settled_by"].as_str() {
                Some("query") => Ok("no callback came; Paid by the compensating query".into()),
                other => Err(format!("settled by {other:?}, not by the query: the callback was not lost")),
            }),
            Err(e) => failed(c, &e),
        };
    } else {
        c.passed = true;
        c.state = "not run".into();
        c.reason = "a lost callback cannot be planted at the real bank: the query path is proven against the sandbox".into();
    }
    c.millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    progress(&c);
    out.push(c);
    out
}

/// How the report names the person: the sandbox's roster role, never a name or number.
fn masked(split: Split, sandbox: bool) -> String {
    if sandbox { format!("sandbox roster: {}", split.persona()) } else { format!("test person ({})", split.label()) }
}

/// A full refund of the channel's mixed outpatient payment and a partial one (1.00 yuan of
/// each part) of its mixed pharmacy payment.
pub async fn refunds(run: &Run<'_>, channel: &str, paid: &[CaseResult], progress: &dyn Fn(&CaseResult)) -> Vec<CaseResult> {
    let mut out = Vec::new();
    for (n, (scene, partial)) in [("outpatient", false), ("pharmacy", true)].into_iter().enumerate() {
        let started = Instant::now();
        let of = paid.iter().find(|c| c.scene == scene && c.kind == Split::Mixed.label() && c.passed);
        let refund_no = format!("{}R{n}", run.ord(channel, 0));
        let kind = if partial { "部分退费 partial refund" } else { "全额退费 full refund" };
        let mut c = result(format!("{channel}/{scene}/refund-{}", if partial { "partial" } else { "full" }), channel, scene, kind, json!({"refund_no": refund_no}), of.and_then(|p| p.med_org_ord.clone()), started);
        let Some(of) = of else {
            c.reason = format!("not run: the {scene} mixed payment it refunds did not pass");
            progress(&c);
            out.push(c);
            continue;
        };
        let ord = of.med_org_ord.clone().unwrap_or_default();
        let mut body = json!({"org_code": run.org, "med_org_ord": ord, "refund_no": refund_no, "reason": "acceptance run"});
        if partial {
            body["fund_fen"] = json!(100);
            body["cash_fen"] = json!(100);
        }
        c.inputs = body.clone();
        let outcome = async {
            let (status, v) = run.his.post("/v1/refunds", &body).await?;
            anyhow::ensure!(status == 201 || status == 200, "refund: HTTP {status} {v}");
            let done = |v: &Value| ["Refunded", "NeedsAttention", "Abandoned", "SettledOffline"].contains(&v["state"].as_str().unwrap_or(""));
            let r = run.his.poll(&format!("/v1/refunds/{}/{refund_no}", run.org), "the refund's outcome", Duration::from_secs(180), done).await?;
            let (_, p) = run.his.get(&format!("/v1/payments/{}/{ord}", run.org)).await?;
            Ok::<_, anyhow::Error>((r, p))
        }
        .await;
        c = match outcome {
            Ok((r, p)) => {
                let paid_amounts = of.amounts.clone().unwrap_or_default();
                let mut c = judge_payment(c, &p, "Paid", |_, a| {
                    let (fund, acct, cash) = (fen(&r, "fund_fen"), fen(&r, "psn_acct_fen"), fen(&r, "cash_fen"));
                    let want = if partial { (100, 0, 100) } else { (paid_amounts.fund_fen, paid_amounts.psn_acct_fen, paid_amounts.own_pay_fen) };
                    if r["state"] != "Refunded" {
                        return Err(format!("refund ended {}: {}", r["state"], r["failure_reason"]));
                    }
                    if (fund, acct, cash) != want || (a.refunded_fund_fen, a.refunded_psn_acct_fen, a.refunded_cash_fen) != want {
                        return Err(format!("refunded fund {fund} / account {acct} / cash {cash}, the payment shows {}/{}/{}; expected {want:?}", a.refunded_fund_fen, a.refunded_psn_acct_fen, a.refunded_cash_fen));
                    }
                    Ok(format!("Refunded fund {fund} + account {acct} + cash {cash} fen; the payment records the same"))
                });
                c.state = format!("refund {}", r["state"].as_str().unwrap_or(""));
                c.workflow_ids.extend(r["workflow_id"].as_str().map(str::to_string));
                c
            }
            Err(e) => failed(c, &e),
        };
        c.millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        progress(&c);
        out.push(c);
    }
    out
}

/// Today's self-pay reconciliation (REQ C-6.3.2): reported, and none of this run's orders
/// among its exceptions.
pub async fn reconciliation(run: &Run<'_>, day: &str, channels: &str, progress: &dyn Fn(&CaseResult)) -> CaseResult {
    let started = Instant::now();
    let mut c = result("reconciliation/selfpay/today".into(), channels, "-", "当日对账 today's reconciliation", json!({"kind": "selfpay", "period": day}), None, started);
    let outcome = async {
        match &run.patient {
            Patient::Sandbox(sb) => sb.publish_statement("selfpay", day).await?,
            Patient::Person { .. } => anyhow::bail!("the bank publishes {day}'s statement tomorrow: run `medpay recon run --kind selfpay --org {} --period {day}` then", run.org),
        }
        let (status, started) = run.his.post("/v1/reconciliations", &json!({"kind": "selfpay", "org_code": run.org, "period": day})).await?;
        anyhow::ensure!(status < 300, "start: HTTP {status} {started}");
        let v = run.his.poll(&format!("/v1/reconciliations/selfpay/{}/{day}", run.org), "the reconciliation report", Duration::from_secs(300), |v| v["state"] == "Reported").await?;
        Ok::<_, anyhow::Error>((started, v))
    }
    .await;
    match outcome {
        Ok((started, v)) => {
            c.state = "Reported".into();
            c.workflow_ids.extend(started["workflow_id"].as_str().map(str::to_string));
            let ours: Vec<String> = v["exceptions"].as_array().into_iter().flatten().filter(|e| e.to_string().contains(&run.prefix)).map(|e| format!("{} {}", e["class"].as_str().unwrap_or("?"), e["item"].as_str().unwrap_or("?"))).collect();
            let lines = v["summary"]["loaded"]["lines"].as_u64().unwrap_or(0);
            (c.passed, c.reason) = if ours.is_empty() { (true, format!("{lines} statement lines; none of this run's orders is an exception")) } else { (false, format!("this run's orders among the exceptions: {}", ours.join("; "))) };
        }
        Err(e) => c = failed(c, &e),
    }
    c.millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    progress(&c);
    c
}
