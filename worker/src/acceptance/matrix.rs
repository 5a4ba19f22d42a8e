//! The joint-test matrix of REQ O-5's build phase, step 2: pure insurance, pure self-pay and
//! mixed payment in registration, outpatient and pharmacy; a full and a partial refund; a
//! declined bill; a lost callback healed by the query (REQ Q-9); and today's reconciliation.
//! Each case is real workflows through the HIS API, judged on what the API reports.

use super::cases::{CaseResult, Patient, Run, Split, done, failed, fen, judge_payment, masked, result};
use super::drive::Pay;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The nine payments of a channel (three scenes × three splits), the declined bill and the lost
/// callback; returns them with the HIS order nos. the refunds use (mixed outpatient, pharmacy).
pub async fn payments(run: &Run<'_>, channel: &str, progress: &dyn Fn(&CaseResult)) -> Vec<CaseResult> {
    let mut out = Vec::new();
    let mut n = 0;
    for scene in ["registration", "outpatient", "pharmacy"] {
        for split in [Split::Insurance, Split::SelfPay, Split::Mixed] {
            n += 1;
            out.push(split_payment(run, channel, scene, split, n, progress).await);
        }
    }
    out.push(declined_bill(run, channel, n + 1, progress).await);
    out.push(lost_callback(run, channel, n + 2, progress).await);
    out
}

/// One of the nine: a bill of `scene` paid as `split`; the parts must add up as the split says.
async fn split_payment(
    run: &Run<'_>,
    channel: &str,
    scene: &str,
    split: Split,
    n: usize,
    progress: &dyn Fn(&CaseResult),
) -> CaseResult {
    let sandbox = matches!(run.patient, Patient::Sandbox(_));
    let total = match scene {
        "registration" => 1_200 + i64::try_from(n).unwrap_or(0),
        "pharmacy" => 8_650,
        _ => 30_000,
    };
    let ord = run.ord(channel, n);
    let started = Instant::now();
    let c = result(
        format!("{channel}/{scene}/{split:?}").to_lowercase(),
        channel,
        scene,
        split.label(),
        json!({"total_fen": total, "lines": 1, "person": masked(split, sandbox)}),
        Some(ord.clone()),
        started,
    );
    let c = match run.pay(&Pay { channel, ord: &ord, scene, split, total, confirm: true, lose_callback: false }).await {
        Ok(v) => judge_payment(c, &v, "Paid", |v, a| {
            if !split.holds(a.fund_fen, a.psn_acct_fen, a.own_pay_fen) {
                return Err(format!(
                    "split fund {} / account {} / self-pay {} is not {}",
                    a.fund_fen,
                    a.psn_acct_fen,
                    a.own_pay_fen,
                    split.label()
                ));
            }
            Ok(format!(
                "Paid by {}: fund {} + account {} + self-pay {} = {} fen",
                v["workflow"]["settled_by"].as_str().unwrap_or("an unreported source"),
                a.fund_fen,
                a.psn_acct_fen,
                a.own_pay_fen,
                a.total_fen
            ))
        }),
        Err(e) => failed(c, &e),
    };
    done(c, started, progress)
}

/// The patient declines the pre-settled bill: nothing is charged, the upload is revoked.
async fn declined_bill(run: &Run<'_>, channel: &str, n: usize, progress: &dyn Fn(&CaseResult)) -> CaseResult {
    let sandbox = matches!(run.patient, Patient::Sandbox(_));
    let ord = run.ord(channel, n);
    let started = Instant::now();
    let c = result(
        format!("{channel}/outpatient/declined"),
        channel,
        "outpatient",
        "拒绝账单 declined bill",
        json!({"total_fen": 4_321, "person": masked(Split::Mixed, sandbox)}),
        Some(ord.clone()),
        started,
    );
    let c = match run
        .pay(&Pay {
            channel,
            ord: &ord,
            scene: "outpatient",
            split: Split::Mixed,
            total: 4_321,
            confirm: false,
            lose_callback: false,
        })
        .await
    {
        Ok(v) => judge_payment(c, &v, "Cancelled", |_, _| {
            Ok("Cancelled at the patient's word: no bank order, nothing charged".into())
        }),
        Err(e) => failed(c, &e),
    };
    done(c, started, progress)
}

/// The bank's callback is lost: the compensating query (REQ Q-9) settles the payment. Only
/// against the sandbox, where the loss can be planted.
async fn lost_callback(run: &Run<'_>, channel: &str, n: usize, progress: &dyn Fn(&CaseResult)) -> CaseResult {
    let sandbox = matches!(run.patient, Patient::Sandbox(_));
    let ord = run.ord(channel, n);
    let started = Instant::now();
    let mut c = result(
        format!("{channel}/outpatient/lost-callback"),
        channel,
        "outpatient",
        "回调丢失 lost callback → query",
        json!({"total_fen": 5_555, "person": masked(Split::Mixed, sandbox)}),
        Some(ord.clone()),
        started,
    );
    if sandbox {
        c = match run
            .pay(&Pay {
                channel,
                ord: &ord,
                scene: "outpatient",
                split: Split::Mixed,
                total: 5_555,
                confirm: true,
                lose_callback: true,
            })
            .await
        {
            Ok(v) => judge_payment(c, &v, "Paid", |v, _| match v["workflow"]["settled_by"].as_str() {
                Some("query") => Ok("no callback came; Paid by the compensating query".into()),
                other => Err(format!("settled by {other:?}, not by the query: the callback was not lost")),
            }),
            Err(e) => failed(c, &e),
        };
    } else {
        c.passed = true;
        c.state = "not run".into();
        c.reason =
            "a lost callback cannot be planted at the real bank: the query path is proven against the sandbox".into();
    }
    done(c, started, progress)
}

/// A full refund of the channel's mixed outpatient payment and a partial one (1.00 yuan of
/// each part) of its mixed pharmacy payment.
pub async fn refunds(
    run: &Run<'_>,
    channel: &str,
    paid: &[CaseResult],
    progress: &dyn Fn(&CaseResult),
) -> Vec<CaseResult> {
    let mut out = Vec::new();
    for (n, (scene, partial)) in [("outpatient", false), ("pharmacy", true)].into_iter().enumerate() {
        let started = Instant::now();
        let of = paid.iter().find(|c| c.scene == scene && c.kind == Split::Mixed.label() && c.passed);
        let refund_no = format!("{}R{n}", run.ord(channel, 0));
        let kind = if partial { "部分退费 partial refund" } else { "全额退费 full refund" };
        let mut c = result(
            format!("{channel}/{scene}/refund-{}", if partial { "partial" } else { "full" }),
            channel,
            scene,
            kind,
            json!({"refund_no": refund_no}),
            of.and_then(|p| p.med_org_ord.clone()),
            started,
        );
        let Some(of) = of else {
            c.reason = format!("not run: the {scene} mixed payment it refunds did not pass");
            out.push(done(c, started, progress));
            continue;
        };
        let ord = of.med_org_ord.clone().unwrap_or_default();
        let mut body =
            json!({"org_code": run.org, "med_org_ord": ord, "refund_no": refund_no, "reason": "acceptance run"});
        if partial {
            body["fund_fen"] = json!(100);
            body["cash_fen"] = json!(100);
        }
        c.inputs = body.clone();
        let outcome = async {
            let (status, v) = run.his.post("/v1/refunds", &body).await?;
            anyhow::ensure!(status == 201 || status == 200, "refund: HTTP {status} {v}");
            let ended = |v: &Value| {
                ["Refunded", "NeedsAttention", "Abandoned", "SettledOffline"]
                    .contains(&v["state"].as_str().unwrap_or(""))
            };
            let r = run
                .his
                .poll(
                    &format!("/v1/refunds/{}/{refund_no}", run.org),
                    "the refund's outcome",
                    Duration::from_secs(180),
                    ended,
                )
                .await?;
            let (_, p) = run.his.get(&format!("/v1/payments/{}/{ord}", run.org)).await?;
            Ok::<_, anyhow::Error>((r, p))
        }
        .await;
        c = match outcome {
            Ok((r, p)) => {
                let paid_amounts = of.amounts.clone().unwrap_or_default();
                let mut c = judge_payment(c, &p, "Paid", |_, a| {
                    let (fund, acct, cash) = (fen(&r, "fund_fen"), fen(&r, "psn_acct_fen"), fen(&r, "cash_fen"));
                    let want = if partial {
                        (100, 0, 100)
                    } else {
                        (paid_amounts.fund_fen, paid_amounts.psn_acct_fen, paid_amounts.own_pay_fen)
                    };
                    if r["state"] != "Refunded" {
                        return Err(format!("refund ended {}: {}", r["state"], r["failure_reason"]));
                    }
                    if (fund, acct, cash) != want
                        || (a.refunded_fund_fen, a.refunded_psn_acct_fen, a.refunded_cash_fen) != want
                    {
                        return Err(format!(
                            "refunded fund {fund} / account {acct} / cash {cash}, the payment shows {}/{}/{}; expected {want:?}",
                            a.refunded_fund_fen, a.refunded_psn_acct_fen, a.refunded_cash_fen
                        ));
                    }
                    Ok(format!("Refunded fund {fund} + account {acct} + cash {cash} fen; the payment records the same"))
                });
                c.state = format!("refund {}", r["state"].as_str().unwrap_or(""));
                c.workflow_ids.extend(r["workflow_id"].as_str().map(str::to_string));
                c
            }
            Err(e) => failed(c, &e),
        };
        out.push(done(c, started, progress));
    }
    out
}

/// Today's self-pay reconciliation (REQ C-6.3.2): reported, and none of this run's orders
/// among its exceptions.
pub async fn reconciliation(run: &Run<'_>, day: &str, channels: &str, progress: &dyn Fn(&CaseResult)) -> CaseResult {
    let started = Instant::now();
    let mut c = result(
        "reconciliation/selfpay/today".into(),
        channels,
        "-",
        "当日对账 today's reconciliation",
        json!({"kind": "selfpay", "period": day}),
        None,
        started,
    );
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
            let ours: Vec<String> = v["exceptions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|e| e.to_string().contains(&run.prefix))
                .map(|e| format!("{} {}", e["class"].as_str().unwrap_or("?"), e["item"].as_str().unwrap_or("?")))
                .collect();
            let lines = v["summary"]["loaded"]["lines"].as_u64().unwrap_or(0);
            (c.passed, c.reason) = if ours.is_empty() {
                (true, format!("{lines} statement lines; none of this run's orders is an exception"))
            } else {
                (false, format!("this run's orders among the exceptions: {}", ours.join("; ")))
            };
        }
        Err(e) => c = failed(c, &e),
    }
    done(c, started, progress)
}
