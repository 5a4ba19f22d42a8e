//! Each fault happens as configured: callback lost / delayed / duplicated / badly signed,
//! insurance failing after self-pay, 5xx and timeouts on a share of calls. (payAuthNo expiry is
//! in payment.rs, 6203 EXP in refunds.rs, statement faults in statements.rs.)

mod common;
use common::*;
use medpay_activities::http::PartyError;
use medpay_schemas::status::*;
use serde_json::json;
use std::time::Duration;

async fn pay(env: &Env, his: &str) -> Ordered {
    let o = order(env, "mixed", his, &[30_000]).await.unwrap();
    let (status, _) = env.post("/sandbox/patient/pay", json!({"mix_trade_no": o.mix_trade_no})).await;
    assert_eq!(status, 200);
    o
}

fn attempts(st: &serde_json::Value) -> Vec<serde_json::Value> {
    st["callbacks"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn callback_lost_delayed_duplicated() {
    let env = start("cb", |_| {}).await;
    env.put_faults(json!({"orders": {
        "HIS-LOST": {"callback": {"lost": true}},
        "HIS-LATE": {"callback": {"delay_secs": 2}},
        "HIS-TWICE": {"callback": {"duplicate": true}}
    }}))
    .await;
    let lost = pay(&env, "HIS-LOST").await;
    let late = pay(&env, "HIS-LATE").await;
    let twice = pay(&env, "HIS-TWICE").await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let received = |m: &str| env.callbacks.lock().unwrap().iter().filter(|r| r.mix_trade_no == m).count();
    assert_eq!(received(late.mix_trade_no.as_str()), 0, "delayed callback arrived early");
    assert_eq!(received(twice.mix_trade_no.as_str()), 2, "duplicate callback not sent twice");
    wait_for("the delayed callback", 5, async || (received(late.mix_trade_no.as_str()) == 1).then_some(())).await;
    assert_eq!(received(lost.mix_trade_no.as_str()), 0, "a lost callback arrived");
    // The lost order is still paid: the hospital finds it by querying (REQ Q-9).
    assert_eq!(
        query(&env, &lost, &lost.created_date).await.unwrap().state.unwrap().mix_pay_status,
        MixPayStatus::Success
    );
    env.sandbox.stop().await;
}

#[tokio::test]
async fn badly_signed_callbacks_are_rejected_and_retried() {
    let env = start("cb-bad", |c| c.callback_retry = vec![Duration::from_millis(200); 2]).await;
    env.put_faults(json!({"global": {"callback": {"bad_signature": true}}})).await;
    let o = pay(&env, "HIS-FORGED").await;
    let st = wait_for("three attempts", 10, async || {
        let st = env.state().await;
        (attempts(&st).len() == 3).then_some(st)
    })
    .await;
    assert!(
        attempts(&st)
            .iter()
            .all(|a| a["acknowledged"] == false && a["bad_signature"] == true && a["http_status"] == 400)
    );
    let seen = env.callbacks.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|r| !r.verified), "a forged callback verified: {seen:?}");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(attempts(&env.state().await).len(), 3, "retries must stop when the schedule runs out");
    assert_eq!(query(&env, &o, &o.created_date).await.unwrap().state.unwrap().mix_pay_status, MixPayStatus::Success);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn insurance_fails_after_self_pay() {
    let env = start("ins-fail", |_| {}).await;
    env.put_faults(json!({"orders": {"HIS-X8A": {"insurance_fails_after_self_pay": true}}})).await;
    let o = pay(&env, "HIS-X8A").await;
    let s = query(&env, &o, &o.created_date).await.unwrap().state.unwrap();
    assert_eq!(
        (s.mix_pay_status, s.self_pay_status, s.med_ins_pay_status),
        (MixPayStatus::Fail, SelfPayStatus::Success, MedInsPayStatus::Fail)
    );
    assert!(s.med_ins_fail_reason.is_some());
    let st = env.state().await;
    assert_eq!(st["mid_orders"][0]["ord_stas"], "15");
    assert_eq!(
        st["self_pay_orders"][0]["status"], "SELF_PAY_SUCCESS",
        "the patient's cash is held: the hospital must refund it (X-8a)"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(attempts(&env.state().await).is_empty(), "no success callback for a failed payment");
    env.sandbox.stop().await;
}

#[tokio::test]
async fn errors_and_timeouts_on_a_share_of_calls() {
    let env = start("shares", |_| {}).await;
    let o = order(&env, "mixed", "HIS-SHARE", &[1_000]).await.unwrap();
    env.put_faults(json!({"global": {"endpoints": {"bank.query": {"error_permille": 500}}}})).await;
    let mut outcomes = vec![];
    for _ in 0..4 {
        outcomes.push(match query(&env, &o, &o.created_date).await {
            Ok(_) => "ok",
            Err(PartyError::Unavailable { .. }) => "503",
            Err(e) => panic!("unexpected {e}"),
        });
    }
    assert_eq!(outcomes, ["ok", "503", "ok", "503"]);
    // A hanging endpoint: the client's 3 s timeout turns it into "outcome unknown".
    env.put_faults(json!({"global": {"endpoints": {"bank.query": {"timeout_permille": 1000, "hang_secs": 5}}}})).await;
    let started = std::time::Instant::now();
    let e = query(&env, &o, &o.created_date).await.unwrap_err();
    assert!(matches!(e, PartyError::Unknown { .. }), "{e}");
    assert!(e.needs_query());
    assert!(started.elapsed() >= Duration::from_secs(3) && started.elapsed() < Duration::from_secs(5));
    env.sandbox.stop().await;
}
