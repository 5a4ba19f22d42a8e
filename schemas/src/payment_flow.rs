//! Inputs and outputs of the payment workflow and its activities. Personal data (payAuthNo,
//! names, ID numbers) travels only inside `Secret`s in these payloads, which the SM4-GCM
//! payload codec encrypts before they reach the Temporal server.

use crate::Money;
use crate::Secret;
use crate::payment::PaymentState;
use crate::refund::RefundState;
use crate::wire::bank::MixedOrderState;
use crate::wire::mid_platform::SettlementSplit;
use serde::{Deserialize, Serialize};

/// Where the patient is served (REQ O-5 joint-test scenes); decides the channel order type and
/// the insurance medical type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scene {
    Registration,
    Outpatient,
    Pharmacy,
}

impl Scene {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registration => "registration",
            Self::Outpatient => "outpatient",
            Self::Pharmacy => "pharmacy",
        }
    }

    pub fn order_type(self) -> &'static str {
        match self {
            Self::Registration => "REG_PAY",
            Self::Outpatient => "DIAG_PAY",
            Self::Pharmacy => "PHARMACY_PAY",
        }
    }

    /// 医疗类别: 12 registration, 11 general outpatient, 41 pharmacy purchase.
    pub fn med_type(self) -> &'static str {
        match self {
            Self::Registration => "12",
            Self::Outpatient => "11",
            Self::Pharmacy => "41",
        }
    }
}

pub use crate::bill::{BillLine, Diagnosis, Visit};
pub use crate::channel::{Access, Channel};

/// What the HIS asks for (the create-payment API body).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentRequest {
    pub org_code: crate::OrgCode,
    /// The HIS order no. (medOrgOrd): one payment per HIS order.
    pub med_org_ord: crate::MedOrgOrd,
    pub scene: Scene,
    /// Where the patient authorised; WeChat when absent. Left out of the serialized request when
    /// WeChat, so requests made before the field existed keep their fingerprint.
    #[serde(default, skip_serializing_if = "Channel::is_wechat")]
    pub channel: Channel,
    /// The patient's entry in the channel (the bank's `access_type`); the channel's usual one
    /// when absent (left out when absent, so older requests keep their fingerprint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<Access>,
    /// From the channel's authorisation page.
    pub auth_code: Secret<String>,
    /// The patient's openid in the hospital's app.
    pub openid: String,
    pub lines: Vec<BillLine>,
    /// The visit (department, doctor, diagnoses) for the 6201 upload; required by the API,
    /// optional in the type so histories recorded before it existed replay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit: Option<Visit>,
    /// Use the personal account ("acctUsedFlag" = 1). Defaults to true.
    #[serde(default = "yes")]
    pub use_personal_account: bool,
}

fn yes() -> bool {
    true
}

impl PaymentRequest {
    pub fn total(&self) -> Result<Money, crate::MoneyError> {
        Money::checked_sum(self.lines.iter().map(|l| Money::from_fen(l.amount_fen)))
    }
}

/// The insured person, as the activities learnt it (encrypted in history).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub pay_auth_no: Secret<String>,
    pub psn_no: crate::PsnNo,
    pub insutype: String,
    pub insu_code: String,
    pub id_no: Secret<String>,
    pub name: Secret<String>,
    /// The payer pays for a relative (the channel's authorisation says so): the bank's
    /// `pay_for_relatives`. Absent in histories recorded before it existed.
    #[serde(default)]
    pub for_relative: bool,
}

/// The mid-platform order after 6201.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Uploaded {
    pub pay_ord_id: crate::PayOrdId,
    pub pay_token: Secret<String>,
}

/// What the HIS front-end needs to open the mixed cashier (REQ 6.1 step 10).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cashier {
    pub mix_trade_no: crate::MixTradeNo,
    pub out_trade_no: crate::OutTradeNo,
    /// The self-pay prepay package (JSON), when there is a self-pay part.
    pub prepay: Option<serde_json::Value>,
}

/// The workflow's view for the HIS and operators (the `status` query).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PaymentView {
    pub state: Option<PaymentState>,
    pub split: Option<SettlementSplit>,
    pub cashier: Option<Cashier>,
    pub bank: Option<MixedOrderState>,
    pub failure: Option<String>,
    /// The self-pay refund started when insurance failed after self-pay (REQ X-8a).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly_refund: Option<AnomalyRefundView>,
    /// Which source gave the bank's final result; `None` until settled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_by: Option<SettledBy>,
}

/// Which source settled a payment (REQ Q-9, SR-7b: the bank's word, never a guess).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettledBy {
    /// The bank's verified callback.
    Callback,
    /// The compensating query, when no callback came in time.
    Query,
    /// A callback after the payment became `PendingReconciliation`.
    LateCallback,
    /// The day's reconciliation (the bank's statement, or the platform's order status).
    Reconciliation,
}

/// Reconciliation's verdict on a `PendingReconciliation` payment (the payment workflow's
/// `reconciled` signal).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconciliationVerdict {
    pub paid: bool,
    /// The reconciliation run that decided, for the record.
    pub run: String,
    pub source: VerdictSource,
}

/// What a reconciliation verdict rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictSource {
    /// The bank's self-pay statement lists the order (paid) or does not (not paid).
    Statement,
    /// A pure-insurance payment, never on the bank's statement: the platform's order status
    /// (6301).
    Platform,
}

impl ReconciliationVerdict {
    /// The reason the ledger and the HIS are given.
    pub fn message(&self) -> String {
        let run = &self.run;
        match (self.source, self.paid) {
            (VerdictSource::Statement, true) => format!("settled by reconciliation {run}: the statement shows it paid"),
            (VerdictSource::Statement, false) => {
                format!("settled by reconciliation {run}: the statement does not show it")
            }
            (VerdictSource::Platform, true) => format!(
                "settled by reconciliation {run} by the platform's order status (6301): the platform settled it"
            ),
            (VerdictSource::Platform, false) => format!(
                "settled by reconciliation {run} by the platform's order status (6301): the platform shows it unpaid, failed or cancelled"
            ),
        }
    }
}

/// The payment workflow's deadlines. The defaults are the standard's (REQ Q-9: callback 20 s,
/// query every 5 s up to 60 s); hospitals may lengthen them, and tests shorten them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentTimings {
    pub callback_wait_secs: u64,
    pub query_every_secs: u64,
    pub query_for_secs: u64,
    /// How long a `PendingReconciliation` payment still listens for a late callback.
    pub late_callback_secs: u64,
    /// How long the patient has to confirm the pre-settlement before the upload is revoked.
    pub confirm_deadline_secs: u64,
}

impl Default for PaymentTimings {
    fn default() -> Self {
        Self {
            callback_wait_secs: 20,
            query_every_secs: 5,
            query_for_secs: 60,
            late_callback_secs: 48 * 3600,
            confirm_deadline_secs: 15 * 60,
        }
    }
}

impl PaymentTimings {
    /// Zero intervals would spin; a query window shorter than one interval would never query.
    pub fn check(&self) -> Result<(), String> {
        if self.query_every_secs == 0 || self.callback_wait_secs == 0 || self.confirm_deadline_secs == 0 {
            return Err(
                "payment timings: callback_wait_secs, query_every_secs and confirm_deadline_secs must be positive"
                    .into(),
            );
        }
        if self.query_for_secs < self.query_every_secs {
            return Err(format!(
                "payment timings: query_for_secs {} is shorter than query_every_secs {}",
                self.query_for_secs, self.query_every_secs
            ));
        }
        Ok(())
    }
}

/// The payment workflow's input: the HIS's request and the deadlines in force when it started
/// (kept in history so a changed configuration never alters a running payment's replay).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaymentInput {
    pub request: PaymentRequest,
    #[serde(default)]
    pub timings: PaymentTimings,
    /// The ledger row's creation time, which fee details and orders are stamped with (the
    /// parties are idempotent on identical content only).
    pub created_at_ms: i64,
}

/// The anomaly refund the payment started (REQ X-8a), as the payment's view shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnomalyRefundView {
    pub workflow_id: String,
    pub refund_no: crate::RefundNo,
    pub amount_fen: i64,
    /// The refund's end state; `None` while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<RefundState>,
    /// Why the refund's workflow itself failed (it never does by design: an operator decides
    /// a refund that keeps failing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
