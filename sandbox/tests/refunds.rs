//! Refund endpoints: 6203 (idempotent on appRefdSn, components never above what was paid, EXP
//! resolved on a later ask), the bank's self-pay refund (idempotent on outtrx_serial_no), the
//! refund notify, 6401 revoke and the patient abandoning the cashier.

mod common;
use common::*;
use medpay_activities::bank::transformers::{RefundNotice, self_pay_refund};
use medpay_activities::http::PartyError;
use medpay_activities::mid_platform::transformers::InsuranceRefund;
use medpay_schemas::refund::RefundAmounts;
use medpay_schemas::status::*;
use medpay_schemas::wire::bank::*;
use medpay_schemas::wire::mid_platform::*;
use medpay_schemas::*;
use serde_json::json;

fn code(e: PartyError) -> String {
    e.code().unwrap_or_else(|| panic!("expected a rejection, got {e}")).to_string()
}

/// One 6203, built as the refund's `refund_insurance` builds it.
fn refund_req(
    o: &Ordered,
    sn: &str,
    auth: &Secret<String>,
    fund: i64,
    acct: i64,
    cash: i64,
    kind: RefundType,
) -> RefundRequest {
    let amounts =
        RefundAmounts { fund: Money::from_fen(fund), psn_acct: Money::from_fen(acct), cash: Money::from_fen(cash) };
    let call = InsuranceRefund {
        pay_ord_id: &o.pay_ord_id,
        sn: AppRefdSn::parse(sn).unwrap(),
        refd_type: kind,
        amounts,
        pay_auth_no: auth.clone(),
        at_ms: medpay_schemas::time::now_ms(),
    };
    RefundRequest::try_from(call).unwrap()
}

async fn paid(env: &Env, his: &str) -> Ordered {
    let o = order(env, "mixed", his, &[30_000]).await.unwrap();
    env.post("/sandbox/patient/pay", json!({"mix_trade_no": o.mix_trade_no})).await;
    o
}

#[tokio::test]
async fn full_refund_of_a_mixed_payment() {
    let env = start("refund", |_| {}).await;
    let o = paid(&env, "HIS-R-1").await;
    let (fund, acct, cash) = (o.split.fund_pay.fen(), o.split.psn_acct_pay.fen(), o.split.own_pay_amt.fen());
    // A fresh authorisation for the refund (REQ 6.2 step 3).
    let auth = env.authorise("mixed").await;
    // More than was paid -> 2006; the wrong refund type for the components -> 2000.
    assert_eq!(
        code(
            env.mid
                .call::<_, RefundResponse>(
                    MidPlatformOp::Refund,
                    &refund_req(&o, "RF-1", &auth, fund + 1, acct, cash, RefundType::All)
                )
                .await
                .unwrap_err()
        ),
        "2006"
    );
    assert_eq!(
        code(
            env.mid
                .call::<_, RefundResponse>(
                    MidPlatformOp::Refund,
                    &refund_req(&o, "RF-1", &auth, fund, acct, 0, RefundType::All)
                )
                .await
                .unwrap_err()
        ),
        "2000"
    );
    let r: RefundResponse = env
        .mid
        .call(MidPlatformOp::Refund, &refund_req(&o, "RF-1", &auth, fund, acct, cash, RefundType::All))
        .await
        .unwrap();
    assert_eq!(r.ref_status, RefundStatus::Succeeded);
    assert!(r.hi_fefd_sn.is_some());
    // Idempotent on appRefdSn; a different refund under the same serial -> 2009.
    let again: RefundResponse = env
        .mid
        .call(MidPlatformOp::Refund, &refund_req(&o, "RF-1", &auth, fund, acct, cash, RefundType::All))
        .await
        .unwrap();
    assert_eq!(again.refd_sn, r.refd_sn);
    assert_eq!(
        code(
            env.mid
                .call::<_, RefundResponse>(
                    MidPlatformOp::Refund,
                    &refund_req(&o, "RF-1", &auth, 1, 0, 0, RefundType::Insurance)
                )
                .await
                .unwrap_err()
        ),
        "2009"
    );
    // Nothing is left to refund.
    let auth2 = env.authorise("mixed").await;
    assert_eq!(
        code(
            env.mid
                .call::<_, RefundResponse>(
                    MidPlatformOp::Refund,
                    &refund_req(&o, "RF-2", &auth2, 1, 0, 0, RefundType::Insurance)
                )
                .await
                .unwrap_err()
        ),
        "2006"
    );

    // The bank refunds the cash part once, whatever the retries.
    let h = env.hospital().clone();
    let refund = patient_refund(&o, &h.org_code, "RF-1", cash);
    let req = self_pay_refund(&h.bank.mer_id, &o.out_trade_no, "RF-1", &refund);
    let a: SelfPayRefundResponse = env.bank.call(BankOp::SelfPayRefund, "m-rf-1", &req).await.unwrap();
    let b: SelfPayRefundResponse = env.bank.call(BankOp::SelfPayRefund, "m-rf-2", &req).await.unwrap();
    assert_eq!(a.intrx_serial_no, b.intrx_serial_no);
    let more =
        SelfPayRefundRequest { outtrx_serial_no: "RF-9".into(), ret_total_amt: Money::from_fen(1), ..req.clone() };
    assert_eq!(
        code(env.bank.call::<_, SelfPayRefundResponse>(BankOp::SelfPayRefund, "m-rf-3", &more).await.unwrap_err()),
        "4007"
    );

    // The channel is told, with the same serial as the cash refund.
    let sub_mchid: SubMchId = h.bank.sub_mchid.parse().unwrap();
    let refund_no = RefundNo::parse("RF-1").unwrap();
    let notify = RefundNotifyRequest::try_from(RefundNotice {
        hospital_id: &h.bank.hospital_id,
        sub_mchid: &sub_mchid,
        mix_trade_no: &o.mix_trade_no,
        bank_refund_serial: a.intrx_serial_no.clone(),
        refund_no: &refund_no,
        amounts: RefundAmounts {
            fund: Money::from_fen(fund),
            psn_acct: Money::from_fen(acct),
            cash: Money::from_fen(cash),
        },
        at_ms: medpay_schemas::time::now_ms(),
    })
    .unwrap();
    let _: RefundNotifyResponse = env.bank.call(BankOp::RefundNotify, "m-n-1", &notify).await.unwrap();
    let wrong_serial =
        RefundNotifyRequest { intrx_serial_no: Some(BankRefundSerial::parse("RF-NOPE").unwrap()), ..notify };
    assert_eq!(
        code(env.bank.call::<_, RefundNotifyResponse>(BankOp::RefundNotify, "m-n-2", &wrong_serial).await.unwrap_err()),
        "4004"
    );

    let st = env.state().await;
    assert_eq!(st["refund_notices"].as_array().unwrap().len(), 1);
    assert_eq!(st["mid_orders"][0]["ord_stas"], "7");
    assert_eq!(st["bank_refunds"].as_array().unwrap().len(), 1);
    // The personal account got its 50.00 back.
    assert_eq!(st["balances"][medpay_sandbox::persons::by_persona("mixed").unwrap().psn_no], 5_000);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn refund_exp_is_resolved_when_asked_again() {
    let env = start("refund-exp", |_| {}).await;
    let o = paid(&env, "HIS-X-1").await;
    env.put_faults(json!({"orders": {"HIS-X-1": {"refund_exp": true}}})).await;
    let auth = env.authorise("mixed").await;
    let (fund, acct) = (o.split.fund_pay.fen(), o.split.psn_acct_pay.fen());
    let first: RefundResponse = env
        .mid
        .call(MidPlatformOp::Refund, &refund_req(&o, "RX-1", &auth, fund, acct, 0, RefundType::Insurance))
        .await
        .unwrap();
    assert_eq!(first.ref_status, RefundStatus::Exception);
    assert_eq!(env.state().await["mid_orders"][0]["refunded_fund"], 0, "an EXP refund has not moved money yet");
    let resolved: RefundResponse = env
        .mid
        .call(MidPlatformOp::Refund, &refund_req(&o, "RX-1", &auth, fund, acct, 0, RefundType::Insurance))
        .await
        .unwrap();
    assert_eq!(resolved.ref_status, RefundStatus::Succeeded);
    assert_eq!(env.state().await["mid_orders"][0]["refunded_fund"], fund);
    env.sandbox.stop().await;
}

#[tokio::test]
async fn revoke_and_abandon() {
    let env = start("revoke", |_| {}).await;
    let o = order(&env, "resident", "HIS-V-1", &[8_000]).await.unwrap();
    let (status, v) = env.post("/sandbox/patient/abandon", json!({"mix_trade_no": o.mix_trade_no})).await;
    assert_eq!((status, v["mix_pay_status"].as_str()), (200, Some("MIX_PAY_FAIL")));
    let req: RevokeUploadRequest = env.for_uploaded("resident", "HIS-V-1", o.pay_ord_id.clone(), o.pay_token.clone());
    let _: RevokeUploadResponse = env.mid.call(MidPlatformOp::RevokeUpload, &req).await.unwrap();
    assert_eq!(env.state().await["mid_orders"][0]["ord_stas"], "12");
    // Once revoked, the HIS order can be uploaded again (a new payOrdId) with a new payAuthNo.
    let auth = env.authorise("resident").await;
    let again: UploadFeeDetailsResponse = env
        .mid
        .call(MidPlatformOp::UploadFeeDetails, &env.upload_request("resident", "HIS-V-1", &auth, &[8_000]))
        .await
        .unwrap();
    assert_ne!(again.pay_ord_id, o.pay_ord_id);

    // A settled order cannot be revoked (2005).
    let paid_order = paid(&env, "HIS-V-2").await;
    let revoke_paid: RevokeUploadRequest =
        env.for_uploaded("mixed", "HIS-V-2", paid_order.pay_ord_id.clone(), paid_order.pay_token.clone());
    assert_eq!(
        code(env.mid.call::<_, RevokeUploadResponse>(MidPlatformOp::RevokeUpload, &revoke_paid).await.unwrap_err()),
        "2005"
    );
    env.sandbox.stop().await;
}

/// The class of defect "a number derived from an id outgrows its type": the longest HIS order
/// no. the API accepts (64 characters) is paid (CB…, SP… derived from it) and refunded under the
/// longest refund no. medpay derives (X8B + SP + the order no.), with the serials derived from
/// that, at the mid-platform and at the bank. Before, "CB" + a 64-character order no. was refused
/// by our own typed id at the upload.
#[tokio::test]
async fn the_longest_ids_and_their_derived_numbers_go_through_every_party() {
    use medpay_schemas::workflow_ids::{
        bank_refund_serial, cash_part_serial, insurance_refund_serial, over_collection_refund_no,
    };
    let env = start("longest", |_| {}).await;
    let ord = "9".repeat(MedOrgOrd::MAX_LEN);
    let o = paid(&env, &ord).await;
    let refund_no = over_collection_refund_no(&o.out_trade_no, false);
    let sn = insurance_refund_serial(&refund_no);
    let (fund, acct, cash) = (o.split.fund_pay.fen(), o.split.psn_acct_pay.fen(), o.split.own_pay_amt.fen());
    // A partial refund of both parts: the insurance parts, then the cash part under "<sn>C".
    let auth = env.authorise("mixed").await;
    let hi = refund_req(&o, &sn, &auth, fund, acct, 0, RefundType::Insurance);
    let r: RefundResponse = env.mid.call(MidPlatformOp::Refund, &hi).await.unwrap();
    assert_eq!(r.ref_status, RefundStatus::Succeeded);
    let auth2 = env.authorise("mixed").await;
    let cash_part = refund_req(&o, &cash_part_serial(&sn), &auth2, 0, 0, 1, RefundType::Cash);
    let _: RefundResponse = env.mid.call(MidPlatformOp::Refund, &cash_part).await.unwrap();
    let h = env.hospital().clone();
    let bank_serial = bank_refund_serial(&refund_no);
    let mut refund = patient_refund(&o, &h.org_code, "X", cash);
    refund.refund_no = refund_no.clone();
    let req = self_pay_refund(&h.bank.mer_id, &o.out_trade_no, &bank_serial, &refund);
    let back: SelfPayRefundResponse = env.bank.call(BankOp::SelfPayRefund, "m-rf-longest", &req).await.unwrap();
    assert_eq!(back.real_reject_amt.fen(), cash);
    env.sandbox.stop().await;
}
