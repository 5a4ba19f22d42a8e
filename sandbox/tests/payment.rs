//! Every sandbox endpoint over HTTPS with correctly signed requests, checking the signed
//! replies: mixed, pure-insurance and pure-self-pay payments through to the callback, and the
//! documented error codes for bad signatures, expired/reused payAuthNo, bad amounts and
//! unknown orders.

mod common;
use common::*;
use medpay_activities::http::PartyError;
use medpay_crypto::envelope::mid_platform::{MidPlatformEnvelope, MidPlatformProfile};
use medpay_crypto::signer::PrivateKey;
use medpay_crypto::sm2::Sm2PrivateKey;
use medpay_schemas::status::*;
use medpay_schemas::wire::mid_platform::*;
use medpay_schemas::*;
use serde_json::json;

fn rejected_code(e: &PartyError) -> String {
    e.code().unwrap_or_else(|| panic!("expected a rejection, got {e}")).to_string()
}

#[tokio::test]
async fn mixed_payment_runs_end_to_end_with_verified_callback() {
    let env = start("mixed", |_| {}).await;
    // 300.00 yuan for persona "mixed": fund 70% = 210.00, account 50.00, self-pay 40.00.
    let o = order(&env, "mixed", "HIS-MIX-1", &[20_000, 10_000]).await.unwrap();
    assert_eq!((o.split.fund_pay.fen(), o.split.psn_acct_pay.fen(), o.split.own_pay_amt.fen()), (21_000, 5_000, 4_000));
    let before = query(&env, &o, &o.created_date).await.unwrap().state.unwrap();
    assert_eq!(before.mix_pay_status, MixPayStatus::Created);

    let (status, paid) = env.post("/sandbox/patient/pay", json!({"mix_trade_no": o.mix_trade_no})).await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(paid["mix_pay_status"], "MIX_PAY_SUCCESS");
    let got = wait_for("the callback", 10, async || env.callbacks.lock().unwrap().first().cloned()).await;
    assert!(got.verified && got.mix_trade_no == o.mix_trade_no.as_str() && got.status == "MIX_PAY_SUCCESS", "{got:?}");

    let after = query(&env, &o, &o.created_date).await.unwrap().state.unwrap();
    assert_eq!((after.self_pay_status, after.med_ins_pay_status), (SelfPayStatus::Success, MedInsPayStatus::Success));
    assert_eq!(after.total_fee.fen(), 30_000);
    assert!(after.third_trade_no.is_some());
    let p = medpay_sandbox::persons::by_persona("mixed").unwrap();
    let q: QueryOrderResponse = env
        .mid
        .call(
            MidPlatformOp::QueryOrder,
            &env.for_uploaded::<QueryOrderRequest>("mixed", &o.med_org_ord, o.pay_ord_id.clone(), o.pay_token.clone()),
        )
        .await
        .unwrap();
    assert_eq!(q.ord_stas, OrdStas::Settled);
    assert_eq!(q.setl_type.as_deref(), Some("ALL"));
    // The personal account was charged.
    let state = env.state().await;
    assert_eq!(state["balances"][p.psn_no], 0);
    // The acknowledged callback was sent once.
    let attempts = state["callbacks"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0]["acknowledged"], true);
    // Paying twice is refused.
    assert_eq!(env.post("/sandbox/patient/pay", json!({"mix_trade_no": o.mix_trade_no})).await.0, 409);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn pure_insurance_and_pure_self_pay_bills() {
    let env = start("pure", |_| {}).await;
    let ins = order(&env, "insurance-only", "HIS-INS-1", &[12_345]).await.unwrap();
    assert!(ins.split.own_pay_amt.is_zero());
    let st = env.state().await;
    assert!(st["self_pay_orders"].as_array().unwrap().is_empty(), "no self-pay order without a self-pay part");
    assert_eq!(st["mixed_orders"][0]["self_status"], "NO_SELF_PAY");
    env.post("/sandbox/patient/pay", json!({"mix_trade_no": ins.mix_trade_no})).await;

    let cash = order(&env, "self-pay-only", "HIS-CASH-1", &[999]).await.unwrap();
    assert_eq!(cash.split.own_pay_amt.fen(), 999);
    assert!(cash.split.insurance().unwrap().is_zero());
    env.post("/sandbox/patient/pay", json!({"mix_trade_no": cash.mix_trade_no})).await;
    let s = wait_for("two callbacks", 10, async || {
        let c = env.callbacks.lock().unwrap().clone();
        (c.len() == 2).then_some(c)
    })
    .await;
    assert!(s.iter().all(|r| r.verified && r.status == "MIX_PAY_SUCCESS"));
    let q = query(&env, &cash, &cash.created_date).await.unwrap().state.unwrap();
    assert_eq!(q.med_ins_pay_status, MedInsPayStatus::NoMedInsPay);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn documented_error_codes() {
    let env = start("errors", |_| {}).await;
    let h = env.hospital().clone();

    // Mid-platform: a request signed with a key that is not the hospital's -> unsigned 1001.
    let mut forged = env.mid.clone();
    forged.hospital_key = PrivateKey::Sm2(Sm2PrivateKey::generate().unwrap());
    let auth = env.authorise("mixed").await;
    let e = forged
        .call::<_, UploadFeeDetailsResponse>(
            MidPlatformOp::UploadFeeDetails,
            &env.upload_request("mixed", "HIS-E-1", &auth, &[100]),
        )
        .await
        .unwrap_err();
    assert_eq!(rejected_code(&e), "1001");
    // Wrong appSecret -> encData does not decrypt at the platform -> 1002.
    let mut wrong_secret = env.mid.clone();
    wrong_secret.envelope = MidPlatformEnvelope::new(
        MidPlatformProfile::default(),
        h.mid_platform.app_id.clone(),
        Secret::new("0000000000000000".into()),
    )
    .unwrap();
    let e = wrong_secret
        .call::<_, UploadFeeDetailsResponse>(
            MidPlatformOp::UploadFeeDetails,
            &env.upload_request("mixed", "HIS-E-1", &auth, &[100]),
        )
        .await
        .unwrap_err();
    assert_eq!(rejected_code(&e), "1002");

    // Σ(details) != total -> 2003.
    let mut bad_sum = env.upload_request("mixed", "HIS-E-2", &auth, &[100, 200]);
    bad_sum.medfee_sumamt = Money::from_fen(301);
    let e = env.mid.call::<_, UploadFeeDetailsResponse>(MidPlatformOp::UploadFeeDetails, &bad_sum).await.unwrap_err();
    assert_eq!(rejected_code(&e), "2003");

    // The skeleton upload medpay sent before the bill carried its details (no department or
    // doctor, no diagnosis, the hospital's code as the catalogue code) -> 2004, each part named;
    // a line whose quantity × price is not its amount -> 2003.
    let complete = env.upload_request("mixed", "HIS-E-2", &auth, &[100]);
    let mid = env.mid.clone();
    let refusal = |r: UploadFeeDetailsRequest| {
        let mid = mid.clone();
        async move { mid.call::<_, UploadFeeDetailsResponse>(MidPlatformOp::UploadFeeDetails, &r).await.unwrap_err() }
    };
    let mut skeleton = complete.clone();
    (skeleton.dept_code, skeleton.dept_name, skeleton.atddr_no, skeleton.dr_name) = (None, None, None, None);
    let e = refusal(skeleton).await;
    assert_eq!(rejected_code(&e), "2004");
    assert!(e.to_string().contains("deptCode"), "{e}");
    let mut no_diagnosis = complete.clone();
    no_diagnosis.diseinfo_list.clear();
    assert!(refusal(no_diagnosis).await.to_string().contains("diseinfoList"));
    let mut no_catalogue = complete.clone();
    no_catalogue.feedetail_list[0].med_list_codg.clear();
    assert!(refusal(no_catalogue).await.to_string().contains("medListCodg"));
    let mut no_biller = complete.clone();
    no_biller.feedetail_list[0].bilg_dr_codg = None;
    assert!(refusal(no_biller).await.to_string().contains("bilgDrCodg"));
    let mut bad_quantity = complete.clone();
    bad_quantity.feedetail_list[0].cnt = "2".into();
    assert_eq!(rejected_code(&refusal(bad_quantity).await), "2003");

    // The payAuthNo is single use: once bound to an order, another order is refused (2002);
    // the same upload again is idempotent (same payOrdId).
    let first: UploadFeeDetailsResponse = env
        .mid
        .call(MidPlatformOp::UploadFeeDetails, &env.upload_request("mixed", "HIS-E-3", &auth, &[100]))
        .await
        .unwrap();
    let again: UploadFeeDetailsResponse = env
        .mid
        .call(MidPlatformOp::UploadFeeDetails, &env.upload_request("mixed", "HIS-E-3", &auth, &[100]))
        .await
        .unwrap();
    assert_eq!(first.pay_ord_id, again.pay_ord_id);
    let e = env
        .mid
        .call::<_, UploadFeeDetailsResponse>(
            MidPlatformOp::UploadFeeDetails,
            &env.upload_request("mixed", "HIS-E-4", &auth, &[100]),
        )
        .await
        .unwrap_err();
    assert_eq!(rejected_code(&e), "2002");
    // Same medOrgOrd, different content -> 2007.
    let auth2 = env.authorise("mixed").await;
    let e = env
        .mid
        .call::<_, UploadFeeDetailsResponse>(
            MidPlatformOp::UploadFeeDetails,
            &env.upload_request("mixed", "HIS-E-3", &auth2, &[101]),
        )
        .await
        .unwrap_err();
    assert_eq!(rejected_code(&e), "2007");

    // Expired payAuthNo -> the core and the mid-platform refuse it (2001).
    env.put_faults(json!({"global": {"pay_auth_no_expired": true}})).await;
    let expired = env.authorise("mixed").await;
    let sign_no = env.core.sign_in().await.unwrap();
    assert_eq!(rejected_code(&env.core.person_info(&sign_no, &expired).await.unwrap_err()), "-1");
    let e = env
        .mid
        .call::<_, UploadFeeDetailsResponse>(
            MidPlatformOp::UploadFeeDetails,
            &env.upload_request("mixed", "HIS-E-5", &expired, &[100]),
        )
        .await
        .unwrap_err();
    assert_eq!(rejected_code(&e), "2001");
    env.put_faults(json!({})).await;

    // An authCode is single use at the channel (40003).
    let (_, v) = env.post("/sandbox/patient/authorize", json!({"persona": "resident"})).await;
    let code = Secret::new(v["authCode"].as_str().unwrap().to_string());
    env.wechat.user_query(&code, "o", "r1").await.unwrap();
    assert_eq!(rejected_code(&env.wechat.user_query(&code, "o", "r2").await.unwrap_err()), "40003");
    // A bad channel signature (wrong partner secret) -> 40001.
    let mut bad_channel = env.wechat.clone();
    bad_channel.partner_secret = Secret::new("wrong".into());
    let (_, v) = env.post("/sandbox/patient/authorize", json!({"persona": "resident"})).await;
    let code = Secret::new(v["authCode"].as_str().unwrap().to_string());
    assert_eq!(rejected_code(&bad_channel.user_query(&code, "o", "r3").await.unwrap_err()), "40001");

    // Unknown order at the mid-platform -> 2004.
    let e = env
        .mid
        .call::<_, QueryOrderResponse>(
            MidPlatformOp::QueryOrder,
            &env.for_uploaded::<QueryOrderRequest>(
                "mixed",
                "HIS-NOPE",
                PayOrdId::parse("ORD-NOPE").unwrap(),
                Secret::new("x".into()),
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(rejected_code(&e), "2004");

    // Bank: a forged request signature -> 4001; wrong trx_date and unknown orders -> 4004.
    let o = order(&env, "mixed", "HIS-E-6", &[5_000]).await.unwrap();
    let mut forged_bank = env.bank.clone();
    forged_bank.hospital_key = PrivateKey::Sm2(Sm2PrivateKey::generate().unwrap());
    let e = query_with(&forged_bank, &env, &o, &o.created_date).await.unwrap_err();
    assert_eq!(rejected_code(&e), "4001");
    assert_eq!(
        rejected_code(
            &query(&env, &o, &medpay_schemas::time::BeijingDate { year: 2001, month: 1, day: 1 }).await.unwrap_err()
        ),
        "4004"
    );
    let unknown = Ordered { mix_trade_no: MixTradeNo::parse("MIX-NOPE").unwrap(), ..o };
    assert_eq!(rejected_code(&query(&env, &unknown, &unknown.created_date).await.unwrap_err()), "4004");
    env.sandbox.stop().await;
}

#[tokio::test]
async fn the_legacy_rsa2_bank_profile() {
    let env = start("rsa2", |c| c.bank_legacy_rsa2 = true).await;
    assert!(matches!(env.bank.envelope.profile.sign, medpay_crypto::signer::SignatureScheme::Rsa2));
    let o = order(&env, "mixed", "HIS-RSA-1", &[10_000]).await.unwrap();
    env.post("/sandbox/patient/pay", json!({"mix_trade_no": o.mix_trade_no})).await;
    let got = wait_for("an RSA2-signed callback", 10, async || env.callbacks.lock().unwrap().first().cloned()).await;
    assert!(got.verified, "{got:?}");
    assert_eq!(query(&env, &o, &o.created_date).await.unwrap().state.unwrap().mix_pay_status, MixPayStatus::Success);
    env.sandbox.stop().await;
}
