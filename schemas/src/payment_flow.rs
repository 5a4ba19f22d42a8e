//! Inputs and outputs of the payment workflow and its activities. Personal data (payAuthNo,
//! names, ID numbers) travels only inside `Secret`s in these payloads, which the SM4-GCM
//! payload codec encrypts before they reach the Temporal server.

use crate::Money;
use crate::Secret;
use crate::payment::PaymentState;
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

/// The channel in which the patient authorised (the HIS knows it: the app the patient used).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// WeChat medical-insurance authorisation (user query with the partner's HMAC).
    #[default]
    Wechat,
    /// Alipay's `alipay.commerce.medical.authinfo.auth.query` (signed open-platform form).
    Alipay,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wechat => "wechat",
            Self::Alipay => "alipay",
        }
    }

    pub fn is_wechat(&self) -> bool {
        *self == Self::Wechat
    }

    /// The bank's `pay_mode` (docs/PROTOCOLS.md §4.2): 9 WeChat, 10 Alipay.
    pub fn pay_mode(self) -> &'static str {
        match self {
            Self::Wechat => "9",
            Self::Alipay => "10",
        }
    }

    /// The bank's `access_type` (docs/PROTOCOLS.md §4.2: 5 app, 7 WeChat official account,
    /// 8 Alipay life account, 9 mini-program) for the patient's entry; absent, the channel's
    /// usual one: WeChat's mini-program, Alipay's life account.
    pub fn access_type(self, access: Option<Access>) -> &'static str {
        match (self, access) {
            (_, Some(Access::App)) => "5",
            (_, Some(Access::MiniProgram)) | (Self::Wechat, None) => "9",
            (Self::Wechat, Some(Access::OfficialAccount)) => "7",
            (Self::Alipay, Some(Access::OfficialAccount) | None) => "8",
        }
    }
}

/// Where in the channel the patient opened the hospital's service (REQ §5 names WeChat's
/// official account 公众号 and Alipay's life account 生活号, its Alipay counterpart).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// 小程序, in WeChat or Alipay.
    MiniProgram,
    /// 公众号 in WeChat, 生活号 (life account) in Alipay.
    OfficialAccount,
    /// The hospital's own app.
    App,
}

pub use crate::bill::{BillLine, Diagnosis, Visit};

/// What the HIS asks for (the create-payment API body).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentRequest {
    pub org_code: String,
    /// The HIS order no. (medOrgOrd): one payment per HIS order.
    pub med_org_ord: String,
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
    pub psn_no: String,
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
    pub pay_ord_id: String,
    pub pay_token: Secret<String>,
}

/// What the HIS front-end needs to open the mixed cashier (REQ 6.1 step 10).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cashier {
    pub mix_trade_no: String,
    pub out_trade_no: String,
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
    /// Which source gave the bank's final result: `callback` (the verified notice),
    /// `query` (the compensating query, REQ Q-9), `late_callback` (after the payment became
    /// PendingReconciliation) or `reconciliation` (the statement). `None` until settled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_by: Option<String>,
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
    /// Which version of the payment flow the payment was started on ([`PAYMENT_FLOW`] for new
    /// ones; 0 in payments started before the field existed). The workflow branches on it
    /// instead of on `patched()` markers, which cost every payment a history event and a
    /// visibility write on the Temporal server each.
    #[serde(default)]
    pub flow: u32,
    /// The ledger row's creation time, which fee details and orders are stamped with (the
    /// parties are idempotent on identical content only). Carried here so the activities need
    /// not read it back; `None` in payments started before the field existed, whose activities
    /// read the ledger.
    #[serde(default)]
    pub created_at_ms: Option<i64>,
}

/// The payment flow new payments start on. 2: no patch markers; the state is searchable once
/// the payment needs an operator (`PendingReconciliation`) or has ended. 3: as 2, and the quick
/// steps (identify, upload, pre-settle, bank order, outcome) run local first: one attempt as a
/// local activity in the worker, then as a regular activity if it failed retryably.
pub const PAYMENT_FLOW: u32 = 3;

/// The anomaly refund the payment started (REQ X-8a), as the payment's view shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnomalyRefundView {
    pub workflow_id: String,
    pub refund_no: String,
    pub amount_fen: i64,
    /// The refund's state when the payment last heard of it.
    pub state: String,
}
