//! The payment workflow's decisions, as pure functions of what the parties said: which state a
//! bank result means, what in it contradicts the order, which states operators search for.
//! No context, so each is unit-tested without a server.

use medpay_activities::payment::Ordered;
use medpay_schemas::Money;
use medpay_schemas::failure::{FailureCode, PaymentFailure};
use medpay_schemas::payment::PaymentState;
use medpay_schemas::status::{MedInsPayStatus, MixPayStatus, SelfPayStatus};
use medpay_schemas::wire::bank::MixedOrderState;

/// REQ SR-7b: what in the bank's result contradicts the order placed (its numbers, each amount
/// component), in words; `None` when nothing does.
pub(crate) fn contradiction(st: &MixedOrderState, ordered: &Ordered) -> Option<String> {
    let mut wrong = Vec::new();
    let mut differs = |what: &str, got: &str, ordered: &str| {
        if got != ordered {
            wrong.push(format!("{what} {got} (ordered {ordered})"));
        }
    };
    let (c, split) = (&ordered.cashier, &ordered.split);
    differs("serial_no", st.serial_no.as_str(), &ordered.request.med_org_ord);
    differs("mix_trade_no", st.mix_trade_no.as_str(), &c.mix_trade_no);
    differs("out_trade_no", st.out_trade_no.as_str(), &c.out_trade_no);
    let fen = |m: Money| m.fen().to_string();
    differs("total_fee", &fen(st.total_fee), &fen(split.fee_sumamt));
    differs("wechat_pay_cash_fee", &fen(st.wechat_pay_cash_fee), &fen(split.own_pay_amt));
    differs("med_ins_gov_fee", &fen(st.med_ins_gov_fee), &fen(split.fund_pay));
    differs("med_ins_self_fee", &fen(st.med_ins_self_fee), &fen(split.psn_acct_pay));
    differs("med_ins_other_fee", &fen(st.med_ins_other_fee), "0");
    (!wrong.is_empty()).then(|| wrong.join("; "))
}

/// What a bank's final status means: the payment's state, why it did not end paid, and whether
/// the self-pay part collected goes back at once (REQ X-8a). Decided in one place, so the refund
/// is started exactly for the outcome that says so.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BankOutcome {
    pub state: PaymentState,
    pub failure: Option<PaymentFailure>,
    pub refund_self_pay: bool,
}

impl BankOutcome {
    fn ended(state: PaymentState, failure: Option<PaymentFailure>) -> Self {
        Self { state, failure, refund_self_pay: false }
    }
}

/// What the bank's final status means for the payment. A success that contradicts the order is
/// never `Paid` (REQ SR-7b): an integrity alarm, left to an operator and the reconciliation.
pub(crate) fn outcome_of(st: &MixedOrderState, ordered: &Ordered) -> BankOutcome {
    match (&st.mix_pay_status, &st.self_pay_status, &st.med_ins_pay_status) {
        (MixPayStatus::Success, _, _) => match contradiction(st, ordered) {
            None => BankOutcome::ended(PaymentState::Paid, None),
            Some(what) => BankOutcome::ended(
                PaymentState::PendingReconciliation,
                Some(PaymentFailure::new(
                    FailureCode::IntegrityAlarm,
                    format!(
                        "integrity alarm: the bank reports success for other figures than ordered (REQ SR-7b): {what}"
                    ),
                )),
            ),
        },
        (_, SelfPayStatus::Success, MedInsPayStatus::Fail) => BankOutcome {
            state: PaymentState::Failed,
            failure: Some(PaymentFailure::new(
                FailureCode::InsuranceFailedAfterSelfPay,
                "insurance failed after self-pay: the self-pay part is refunded (REQ X-8a)",
            )),
            refund_self_pay: true,
        },
        (_, SelfPayStatus::Fail, MedInsPayStatus::Success) => BankOutcome::ended(
            PaymentState::PendingReconciliation,
            Some(PaymentFailure::new(
                FailureCode::IntegrityAlarm,
                "integrity alarm: self-pay failed but insurance succeeded (REQ SR-7a)",
            )),
        ),
        (status, _, _) => BankOutcome::ended(
            PaymentState::Failed,
            Some(PaymentFailure {
                party: Some("bank".into()),
                party_code: Some(status.to_string()),
                ..PaymentFailure::new(FailureCode::BankPaymentFailed, format!("bank status {status}"))
            }),
        ),
    }
}

/// The states upserted as `MedpayPaymentState`: the one an operator acts on and the end. Each
/// upsert is a history event and a visibility write on the Temporal server; a running
/// payment's live step is in the ledger and the view.
pub(crate) fn searched(state: PaymentState) -> bool {
    state == PaymentState::PendingReconciliation || state.is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;
    use medpay_schemas::payment_flow::{Cashier, PaymentRequest};
    use medpay_schemas::wire::mid_platform::SettlementSplit;
    use serde_json::json;

    /// A 100.00 yuan bill: 30.00 self-pay, 20.00 personal account, 50.00 fund, ordered as
    /// MIX1 / SP-HIS1.
    fn ordered() -> Ordered {
        let request: PaymentRequest = serde_json::from_value(json!({
            "org_code": "H1", "med_org_ord": "HIS1", "scene": "outpatient", "auth_code": "A",
            "openid": "o1", "lines": [{"code": "C1", "name": "visit", "amount_fen": 10000}]
        }))
        .unwrap();
        let fen = Money::from_fen;
        Ordered {
            request,
            created_at_ms: 0,
            identity: serde_json::from_value(json!({
                "pay_auth_no": "P", "psn_no": "N", "insutype": "310", "insu_code": "510100", "id_no": "I", "name": "X"
            }))
            .unwrap(),
            uploaded: serde_json::from_value(json!({"pay_ord_id": "ORD1", "pay_token": "T"})).unwrap(),
            split: SettlementSplit {
                fee_sumamt: fen(10000),
                own_pay_amt: fen(3000),
                psn_acct_pay: fen(2000),
                fund_pay: fen(5000),
            },
            cashier: Cashier {
                mix_trade_no: "MIX1".parse().unwrap(),
                out_trade_no: "SPHIS1".parse().unwrap(),
                prepay: None,
            },
        }
    }

    /// The bank's result for `ordered()`, as its query answers it, with the given statuses.
    fn bank(mix: &str, own: &str, ins: &str) -> MixedOrderState {
        serde_json::from_value(json!({
            "mix_trade_no": "MIX1", "sub_mchid": "1900000109", "out_trade_no": "SPHIS1", "serial_no": "HIS1",
            "mix_pay_status": mix, "self_pay_status": own, "med_ins_pay_status": ins,
            "total_fee": "10000", "wechat_pay_cash_fee": "3000", "med_ins_gov_fee": "5000",
            "med_ins_self_fee": "2000"
        }))
        .unwrap()
    }

    fn code(o: &BankOutcome) -> (PaymentState, Option<FailureCode>) {
        (o.state, o.failure.as_ref().map(|f| f.code))
    }

    #[test]
    fn a_success_matching_the_order_is_paid() {
        let st = bank("MIX_PAY_SUCCESS", "SELF_PAY_SUCCESS", "MED_INS_PAY_SUCCESS");
        assert_eq!(contradiction(&st, &ordered()), None);
        assert_eq!(code(&outcome_of(&st, &ordered())), (PaymentState::Paid, None));
        assert!(!outcome_of(&st, &ordered()).refund_self_pay);
    }

    /// REQ SR-7b: every figure and number of the order is checked, and each one that differs
    /// is named.
    #[test]
    fn a_success_for_other_figures_is_an_integrity_alarm_naming_each() {
        let mut st = bank("MIX_PAY_SUCCESS", "SELF_PAY_SUCCESS", "MED_INS_PAY_SUCCESS");
        st.wechat_pay_cash_fee = Money::from_fen(2999);
        st.med_ins_other_fee = Money::from_fen(1);
        st.out_trade_no = "SPOTHER".parse().unwrap();
        let what = contradiction(&st, &ordered()).unwrap();
        for named in
            ["wechat_pay_cash_fee 2999 (ordered 3000)", "med_ins_other_fee 1 (ordered 0)", "out_trade_no SPOTHER"]
        {
            assert!(what.contains(named), "{what}");
        }
        let outcome = outcome_of(&st, &ordered());
        assert_eq!(code(&outcome), (PaymentState::PendingReconciliation, Some(FailureCode::IntegrityAlarm)));
    }

    /// REQ X-8a: self-pay collected, insurance failed: Failed, and the self-pay part goes back.
    #[test]
    fn insurance_failing_after_self_pay_fails_and_refunds() {
        let st = bank("MIX_PAY_FAIL", "SELF_PAY_SUCCESS", "MED_INS_PAY_FAIL");
        assert_eq!(
            code(&outcome_of(&st, &ordered())),
            (PaymentState::Failed, Some(FailureCode::InsuranceFailedAfterSelfPay))
        );
        assert!(outcome_of(&st, &ordered()).refund_self_pay);
    }

    /// The refund follows the outcome, not the statuses read a second time: a bank that says
    /// "mixed order paid" while naming insurance failed is believed paid (REQ SR-7b: the mixed
    /// order's result is the truth, and its figures match), and nothing is refunded behind the
    /// ledger's back.
    #[test]
    fn the_x8a_refund_goes_with_the_failed_outcome_only() {
        let st = bank("MIX_PAY_SUCCESS", "SELF_PAY_SUCCESS", "MED_INS_PAY_FAIL");
        let o = outcome_of(&st, &ordered());
        assert_eq!((o.state, o.refund_self_pay), (PaymentState::Paid, false));
    }

    /// REQ SR-7a: insurance cannot succeed when self-pay failed; never guessed, left to an
    /// operator.
    #[test]
    fn insurance_success_after_self_pay_failure_is_an_alarm() {
        let st = bank("MIX_PAY_FAIL", "SELF_PAY_FAIL", "MED_INS_PAY_SUCCESS");
        assert_eq!(
            code(&outcome_of(&st, &ordered())),
            (PaymentState::PendingReconciliation, Some(FailureCode::IntegrityAlarm))
        );
        assert!(!outcome_of(&st, &ordered()).refund_self_pay);
    }

    #[test]
    fn any_other_final_status_fails_naming_the_banks_code() {
        let BankOutcome { state, failure, .. } =
            outcome_of(&bank("MIX_PAY_REVERSED", "SELF_PAY_FAIL", "MED_INS_PAY_FAIL"), &ordered());
        let failure = failure.unwrap();
        assert_eq!((state, failure.code), (PaymentState::Failed, FailureCode::BankPaymentFailed));
        assert_eq!((failure.party.as_deref(), failure.party_code.as_deref()), (Some("bank"), Some("MIX_PAY_REVERSED")));
    }

    #[test]
    fn operators_search_only_the_pending_and_ended_states() {
        let upserted: Vec<_> = PaymentState::ALL.into_iter().filter(|s| searched(*s)).collect();
        assert!(upserted.contains(&PaymentState::PendingReconciliation));
        assert!(upserted.iter().all(|s| *s == PaymentState::PendingReconciliation || s.is_terminal()));
        assert!(PaymentState::ALL.into_iter().filter(|s| s.is_terminal()).all(searched));
        assert!(!searched(PaymentState::Ordered));
    }
}
