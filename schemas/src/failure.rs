//! Why a payment did not end `Paid`, as the HIS needs it: a stable machine code, the party and
//! the party's own code when a party refused, a message for people, and what to do next. The
//! workflow records it (as JSON in the ledger's `failure_reason` column); the API and the HIS
//! notice answer it as `failure`. The codes and their next actions are the table in the
//! README's "Failure codes" section: change both together.

use crate::payment::PaymentState;
use serde::{Deserialize, Serialize};

/// The stable codes. New codes may be added; existing ones never change meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FailureCode {
    /// The channel or the insurance core refused the patient's authorisation (authCode or
    /// payAuthNo expired, used, or not the patient's).
    AuthorisationRefused,
    /// The mid-platform refused the bill (6201): codes, amounts, duplicate order.
    BillRefused,
    /// The mid-platform refused the pre-settlement (6202).
    PreSettlementRefused,
    /// The bank refused the self-pay or mixed order.
    BankOrderRefused,
    /// A step could not be completed for another reason (see the message).
    StepFailed,
    /// The patient declined the pre-settled split, or the HIS cancelled the payment.
    Declined,
    /// The patient did not confirm before the deadline.
    NotConfirmedInTime,
    /// The bank reports the payment failed or closed; nothing was collected.
    BankPaymentFailed,
    /// Insurance failed after the self-pay part was collected; that part is refunded
    /// automatically (REQ X-8a).
    InsuranceFailedAfterSelfPay,
    /// The parties' figures or numbers contradict each other (REQ SR-7a/b, a bank order no.
    /// issued twice): nothing is assumed, an operator investigates.
    IntegrityAlarm,
    /// No final result from the bank yet (REQ Q-9): a late callback or the reconciliation
    /// settles it.
    AwaitingBankResult,
    /// The reconciliation found no payment for this order on the statement.
    NotPaidPerStatement,
    /// A reason recorded before failure codes existed, kept as its text.
    Unclassified,
}

impl FailureCode {
    pub const ALL: [FailureCode; 13] = [
        Self::AuthorisationRefused,
        Self::BillRefused,
        Self::PreSettlementRefused,
        Self::BankOrderRefused,
        Self::StepFailed,
        Self::Declined,
        Self::NotConfirmedInTime,
        Self::BankPaymentFailed,
        Self::InsuranceFailedAfterSelfPay,
        Self::IntegrityAlarm,
        Self::AwaitingBankResult,
        Self::NotPaidPerStatement,
        Self::Unclassified,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorisationRefused => "AUTHORISATION_REFUSED",
            Self::BillRefused => "BILL_REFUSED",
            Self::PreSettlementRefused => "PRE_SETTLEMENT_REFUSED",
            Self::BankOrderRefused => "BANK_ORDER_REFUSED",
            Self::StepFailed => "STEP_FAILED",
            Self::Declined => "DECLINED",
            Self::NotConfirmedInTime => "NOT_CONFIRMED_IN_TIME",
            Self::BankPaymentFailed => "BANK_PAYMENT_FAILED",
            Self::InsuranceFailedAfterSelfPay => "INSURANCE_FAILED_AFTER_SELF_PAY",
            Self::IntegrityAlarm => "INTEGRITY_ALARM",
            Self::AwaitingBankResult => "AWAITING_BANK_RESULT",
            Self::NotPaidPerStatement => "NOT_PAID_PER_STATEMENT",
            Self::Unclassified => "UNCLASSIFIED",
        }
    }

    /// What the HIS (or the cashier at the counter) does next.
    pub fn next_action(self) -> &'static str {
        match self {
            Self::AuthorisationRefused => "retry_with_new_auth_code",
            Self::BillRefused => "correct_bill_and_resend",
            Self::PreSettlementRefused | Self::BankOrderRefused | Self::StepFailed | Self::BankPaymentFailed => {
                "send_patient_to_counter"
            }
            Self::Declined | Self::NotConfirmedInTime => "none",
            Self::InsuranceFailedAfterSelfPay => "collect_at_counter",
            Self::IntegrityAlarm => "wait_for_operator",
            Self::AwaitingBankResult => "wait_do_not_charge_again",
            Self::NotPaidPerStatement => "collect_at_counter",
            Self::Unclassified => "read_message",
        }
    }
}

/// The step of the payment flow a failure happened in (before the bank's result).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailedStep {
    Identification,
    Upload,
    PreSettlement,
    BankOrder,
}

impl FailedStep {
    fn refused(self) -> FailureCode {
        match self {
            Self::Identification => FailureCode::AuthorisationRefused,
            Self::Upload => FailureCode::BillRefused,
            Self::PreSettlement => FailureCode::PreSettlementRefused,
            Self::BankOrder => FailureCode::BankOrderRefused,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Identification => "identification",
            Self::Upload => "6201 upload",
            Self::PreSettlement => "6202 pre-settlement",
            Self::BankOrder => "bank order",
        }
    }
}

/// The parties whose refusals are recognised in an activity's failure message
/// (`"<party> refused (<code>): <message>"`, `PartyError::Rejected`'s form).
const PARTIES: [&str; 4] = ["channel", "core", "mid-platform", "bank"];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentFailure {
    pub code: FailureCode,
    /// The party that refused, when one did: `channel`, `core`, `mid-platform`, `bank`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party: Option<String>,
    /// The party's own code for its refusal (e.g. the core's `infcode`, the bank's `return_code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party_code: Option<String>,
    pub message: String,
}

/// `PaymentFailure` as the API and the HIS notice show it: with its next action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureView {
    #[serde(flatten)]
    pub failure: PaymentFailure,
    pub next_action: String,
}

impl PaymentFailure {
    pub fn new(code: FailureCode, message: impl Into<String>) -> Self {
        Self { code, party: None, party_code: None, message: message.into() }
    }

    /// A step that failed before the bank's result, from the activity's failure message. A
    /// party's refusal names the party and its code; an integrity alarm is one whatever the
    /// step; anything else is the step's failure with the message as it came.
    pub fn at_step(step: FailedStep, detail: &str) -> Self {
        if detail.contains("integrity alarm") {
            return Self::new(FailureCode::IntegrityAlarm, format!("{}: {detail}", step.label()));
        }
        match party_refusal(detail) {
            Some((party, code, message)) => Self {
                code: step.refused(),
                party: Some(party.to_string()),
                party_code: Some(code.to_string()),
                message: format!("{}: {party} refused ({code}): {message}", step.label()),
            },
            None => Self::new(FailureCode::StepFailed, format!("{}: {detail}", step.label())),
        }
    }

    /// As stored in the ledger's `failure_reason` and carried in the workflow's outcome.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| self.message.clone())
    }

    /// Reads a stored reason: JSON written by `encode`, or a plain text from before failure
    /// codes (kept as `Unclassified`, its text the message).
    pub fn decode(stored: &str) -> Self {
        serde_json::from_str(stored).unwrap_or_else(|_| Self::new(FailureCode::Unclassified, stored))
    }

    /// The failure of a payment in `state` with the stored reason, as the HIS sees it; `None`
    /// for a payment that is paid or still on its way.
    pub fn view_of(state: PaymentState, stored: Option<&str>) -> Option<FailureView> {
        if !matches!(state, PaymentState::Failed | PaymentState::Cancelled | PaymentState::PendingReconciliation) {
            return None;
        }
        let f = stored
            .map(Self::decode)
            .unwrap_or_else(|| Self::new(FailureCode::Unclassified, format!("the payment is {}", state.as_str())));
        Some(FailureView { next_action: f.code.next_action().to_string(), failure: f })
    }
}

/// Finds `"<party> refused (<code>): <message>"` in an activity's failure text; the message
/// ends where the SDK's own wrapping starts (`": Failure("`).
fn party_refusal(detail: &str) -> Option<(&'static str, &str, &str)> {
    PARTIES.iter().find_map(|party| {
        let start = detail.find(&format!("{party} refused ("))?;
        let rest = &detail[start + party.len() + " refused (".len()..];
        let (code, rest) = rest.split_once("): ")?;
        let message = rest.split(": Failure(").next().unwrap_or(rest).trim();
        Some((*party, code, message))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_party_refusal_names_the_party_its_code_and_the_next_action_without_sdk_wrapping() {
        // The text a refused identification produced before failure codes (REQ 6.1 step 4).
        let sdk = "Activity failed: core refused (-1): payAuthNo expired: authorise again: Failure(core refused (-1): payAuthNo expired: authorise again, Application Failure: )";
        let f = PaymentFailure::at_step(FailedStep::Identification, sdk);
        assert_eq!(
            (f.code, f.party.as_deref(), f.party_code.as_deref()),
            (FailureCode::AuthorisationRefused, Some("core"), Some("-1"))
        );
        assert_eq!(f.message, "identification: core refused (-1): payAuthNo expired: authorise again");
        assert_eq!(f.code.next_action(), "retry_with_new_auth_code");
        let f = PaymentFailure::at_step(
            FailedStep::Upload,
            "Activity failed: mid-platform refused (2003): medOrgOrd used: Failure(x)",
        );
        assert_eq!(
            (f.code, f.party.as_deref(), f.party_code.as_deref()),
            (FailureCode::BillRefused, Some("mid-platform"), Some("2003"))
        );
    }

    #[test]
    fn integrity_alarms_win_over_the_step_and_other_failures_keep_their_text() {
        let f = PaymentFailure::at_step(
            FailedStep::BankOrder,
            "Activity failed: integrity alarm: the bank's order X already belongs to payment Y",
        );
        assert_eq!((f.code, f.code.next_action()), (FailureCode::IntegrityAlarm, "wait_for_operator"));
        let f = PaymentFailure::at_step(FailedStep::PreSettlement, "timed out");
        assert_eq!((f.code, f.message.as_str()), (FailureCode::StepFailed, "6202 pre-settlement: timed out"));
    }

    #[test]
    fn stored_reasons_round_trip_and_old_texts_stay_readable() {
        let f = PaymentFailure::new(FailureCode::Declined, "declined by the patient");
        assert_eq!(PaymentFailure::decode(&f.encode()), f);
        let old = PaymentFailure::decode("bank status MIX_PAY_CLOSED");
        assert_eq!((old.code, old.message.as_str()), (FailureCode::Unclassified, "bank status MIX_PAY_CLOSED"));
        assert_eq!(
            PaymentFailure::view_of(PaymentState::Paid, Some(&f.encode())),
            None,
            "a paid payment has no failure"
        );
        let v = PaymentFailure::view_of(PaymentState::Cancelled, Some(&f.encode())).unwrap();
        assert_eq!((v.failure.code, v.next_action.as_str()), (FailureCode::Declined, "none"));
        let wire = serde_json::to_value(&v).unwrap();
        assert_eq!(
            (wire["code"].as_str(), wire["next_action"].as_str(), wire.get("party")),
            (Some("DECLINED"), Some("none"), None),
            "flat on the wire: {wire}"
        );
    }

    #[test]
    fn every_code_has_a_distinct_name_and_a_next_action() {
        let names: std::collections::BTreeSet<_> = FailureCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), FailureCode::ALL.len());
        for c in FailureCode::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str(), "serde and as_str agree");
            assert!(!c.next_action().is_empty());
        }
    }
}
