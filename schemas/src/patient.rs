//! The patient's page (REQ E-4.4): what the HIS sends to get a per-bill link, and what the page
//! is shown. The page sees one bill through its link and nothing else: no other bill, no person's
//! name or ID number, no payAuthNo.

use crate::payment_flow::{BillLine, Channel, Scene};
use serde::{Deserialize, Serialize};

/// A bill the patient has not yet authorised: the create-payment body without the parts that
/// only the channel's authorisation gives (`auth_code`). The HIS knows the patient's openid
/// from its own app's login.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatientBill {
    pub scene: Scene,
    /// The channel whose authorisation page the patient is sent to (WeChat when absent).
    #[serde(default, skip_serializing_if = "Channel::is_wechat")]
    pub channel: Channel,
    /// The patient's entry in the channel (see `PaymentRequest::access`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<crate::payment_flow::Access>,
    pub openid: String,
    pub lines: Vec<BillLine>,
    /// The visit (see `PaymentRequest::visit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit: Option<crate::bill::Visit>,
    #[serde(default = "yes")]
    pub use_personal_account: bool,
}

fn yes() -> bool {
    true
}

/// `POST /v1/payments/{org}/{ord}/patient-link`. Without `bill` the link is to a payment the HIS
/// has already created; with it, the payment starts when the patient comes back from the
/// channel's authorisation page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatientLinkRequest {
    #[serde(default, deserialize_with = "present")]
    pub bill: Option<PatientBill>,
    /// How long the link works; the deployment's `patient.link_ttl_secs` when absent.
    #[serde(default, deserialize_with = "present")]
    pub ttl_secs: Option<u64>,
}

/// An optional field that, when sent, must hold a value: `null` is refused like any other
/// value of the wrong type (the API document says what each field is; absent is the default).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// The shortest and longest life of a patient link: long enough to walk to the cashier, short
/// enough that a forwarded link soon stops working.
pub const LINK_TTL_MIN_SECS: u64 = 60;
pub const LINK_TTL_MAX_SECS: u64 = 24 * 3600;

/// One line as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientLine {
    pub name: String,
    pub amount_fen: i64,
}

/// Where the patient is in the payment, in the page's own words (the payment's states folded
/// into the screens the patient sees).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatientStep {
    /// The bill, not yet authorised: "pay with medical insurance".
    Bill,
    /// Authorised; the insurance split is being worked out.
    Working,
    /// The split is known: confirm or decline.
    Split,
    /// Confirmed; the order is being placed.
    Ordering,
    /// The cashier is open: pay the self-pay part (or the whole bill).
    Cashier,
    /// Paid in full.
    Paid,
    /// Paid at the cashier but the bank's answer is not in yet (REQ Q-9).
    Confirming,
    /// Not paid; `next` says what to do.
    Failed,
    /// Declined by the patient or cancelled by the hospital.
    Cancelled,
}

/// The bill's insurance split, in fen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientSplit {
    pub fund_fen: i64,
    pub psn_acct_fen: i64,
    pub own_pay_fen: i64,
}

/// Refunds of a paid bill, summed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientRefunds {
    pub refunded_fen: i64,
    /// Refunds asked for and not yet back on the patient's account or card.
    pub pending: bool,
}

/// What the page is shown (`GET /patient/api/bill`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientView {
    pub org_code: crate::OrgCode,
    pub med_org_ord: crate::MedOrgOrd,
    pub scene: Scene,
    pub lines: Vec<PatientLine>,
    pub total_fen: i64,
    pub step: PatientStep,
    pub split: Option<PatientSplit>,
    /// Where "pay with medical insurance" goes (the channel's authorisation page); `None` when
    /// the hospital has not configured one or the bill is past it.
    pub authorise_url: Option<String>,
    /// Where "pay" goes at the cashier step.
    pub cashier_url: Option<String>,
    /// A stable failure code (`PaymentFailure`) and who can act on it.
    pub failure_code: Option<String>,
    pub refunds: Option<PatientRefunds>,
    /// When the link stops working, and when an unconfirmed split is withdrawn.
    pub link_expires_at_ms: i64,
    pub confirm_by_ms: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_fields_are_absent_or_valued_never_null() {
        let absent: PatientLinkRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(absent, PatientLinkRequest::default());
        let valued: PatientLinkRequest = serde_json::from_str(r#"{"ttl_secs": 600}"#).unwrap();
        assert_eq!(valued.ttl_secs, Some(600));
        for body in [r#"{"ttl_secs": null}"#, r#"{"bill": null}"#, r#"{"ttl": 600}"#] {
            assert!(serde_json::from_str::<PatientLinkRequest>(body).is_err(), "{body} is refused");
        }
    }
}
