//! The acceptance run's vocabulary: what a case is (`CaseResult`), the splits the joint test
//! covers, who plays the patient, and how a payment's final view is judged.

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
    pub(super) fn persona(self) -> &'static str {
        match self {
            Self::Insurance => "insurance-only",
            Self::SelfPay => "self-pay-only",
            Self::Mixed => "mixed",
        }
    }

    pub(super) fn holds(self, fund: i64, acct: i64, own: i64) -> bool {
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
    Person {
        wait: Duration,
    },
}

pub struct Run<'a> {
    pub his: &'a His,
    pub patient: Patient<'a>,
    pub org: medpay_schemas::OrgCode,
    pub openid: String,
    /// Prefix of this run's HIS order nos.
    pub prefix: String,
}

pub(super) fn fen(v: &Value, k: &str) -> i64 {
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

pub(super) fn exchanges(v: &Value) -> Vec<Exchange> {
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
pub(super) fn bill(scene: &str, total_fen: i64) -> Value {
    let (code, name) = match scene {
        "registration" => ("REG-01", "普通门诊挂号费"),
        "pharmacy" => ("RX-01", "药品"),
        _ => ("EX-01", "检查费"),
    };
    let mut body = json!({"scene": scene, "lines": [{"code": code, "name": name, "amount_fen": total_fen}]});
    medpay_schemas::bill::sample::complete(&mut body);
    body
}

pub(super) fn result(
    id: String,
    channel: &str,
    scene: &str,
    kind: &str,
    inputs: Value,
    ord: Option<String>,
    started: Instant,
) -> CaseResult {
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
pub(super) fn judge_payment(
    mut c: CaseResult,
    v: &Value,
    expect_state: &str,
    check: impl FnOnce(&Value, &Amounts) -> Result<String, String>,
) -> CaseResult {
    c.state = v["state"].as_str().unwrap_or("").to_string();
    c.workflow_ids = v["workflow_id"].as_str().map(|w| vec![w.to_string()]).unwrap_or_default();
    let a = amounts(v);
    c.exchanges = exchanges(v);
    let bad_signature =
        c.exchanges.iter().find(|e| e.signature_ok == Some(false)).map(|e| format!("{} {}", e.party, e.operation));
    let verdict = if c.state != expect_state {
        let why = v["failure"]["message"].as_str().or(v["failure_reason"].as_str()).unwrap_or("no reason given");
        Err(format!("ended {} instead of {expect_state}: {why}", c.state))
    } else if let Some(e) = bad_signature {
        Err(format!("a reply's signature was refused: {e}"))
    } else if a.fund_fen + a.psn_acct_fen + a.own_pay_fen != a.total_fen && expect_state == "Paid" {
        Err(format!(
            "the parts {} + {} + {} do not add up to the total {}",
            a.fund_fen, a.psn_acct_fen, a.own_pay_fen, a.total_fen
        ))
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

pub(super) fn failed(mut c: CaseResult, e: &anyhow::Error) -> CaseResult {
    c.passed = false;
    c.reason = format!("{e:#}");
    c
}

/// How the report names the person: the sandbox's roster role, never a name or number.
pub(super) fn masked(split: Split, sandbox: bool) -> String {
    if sandbox { format!("sandbox roster: {}", split.persona()) } else { format!("test person ({})", split.label()) }
}

/// Stamps the case's duration and shows it on the terminal.
pub(super) fn done(mut c: CaseResult, started: Instant, progress: &dyn Fn(&CaseResult)) -> CaseResult {
    c.millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    progress(&c);
    c
}
