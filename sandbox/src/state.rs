//! What the sandbox parties remember: authorisations, mid-platform orders and refunds, bank
//! orders, refunds, notifies and callback attempts. Everything lives in memory behind one
//! mutex (short critical sections, never held across an await): a sandbox restart is a fresh
//! province.

use medpay_schemas::Money;
use medpay_schemas::status::{MedInsPayStatus, MixPayStatus, OrdStas, RefundStatus, SelfPayStatus};
use medpay_schemas::wire::mid_platform::SettlementSplit;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Serialize)]
pub struct AuthCode {
    pub persona: String,
    pub channel: String,
    pub for_relative: bool,
    pub used: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct PayAuth {
    pub psn_no: String,
    pub expires_ms: i64,
    /// The first order that used it; any other order is refused (single use).
    pub bound_order: Option<String>,
    pub for_relative: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct MidOrder {
    pub org_code: String,
    pub pay_ord_id: String,
    pub med_org_ord: String,
    #[serde(skip)]
    pub pay_token: String,
    pub psn_no: String,
    /// Canonical JSON of the 6201 data, to tell a replay from a conflicting re-upload.
    #[serde(skip)]
    pub upload_fingerprint: String,
    pub total: Money,
    pub use_account: bool,
    pub split: Option<SettlementSplit>,
    pub ord_stas: OrdStas,
    pub settled_ms: Option<i64>,
    pub refunded_fund: Money,
    pub refunded_acct: Money,
    pub refunded_cash: Money,
}

#[derive(Clone, Debug, Serialize)]
pub struct MidRefund {
    pub app_refd_sn: String,
    pub pay_ord_id: String,
    pub refd_sn: String,
    #[serde(skip)]
    pub fingerprint: String,
    pub status: RefundStatus,
    /// What an EXP refund turns into when asked again.
    pub resolves_to: RefundStatus,
    pub fund: Money,
    pub acct: Money,
    pub cash: Money,
    pub at_ms: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct SelfPayOrder {
    pub org_code: String,
    pub out_trade_no: String,
    pub order_id: String,
    pub total: Money,
    pub status: SelfPayStatus,
    pub created_ms: i64,
    pub paid_ms: Option<i64>,
    pub third_trade_no: Option<String>,
    pub refunded: Money,
}

#[derive(Clone, Debug, Serialize)]
pub struct MixedOrder {
    pub org_code: String,
    pub mix_trade_no: String,
    pub out_trade_no: String,
    pub serial_no: String,
    pub pay_order_id: String,
    pub sub_mchid: String,
    #[serde(skip)]
    pub fingerprint: String,
    pub callback_url: String,
    pub total: Money,
    pub gov: Money,
    pub own_acct: Money,
    pub other: Money,
    pub cash: Money,
    pub mix_status: MixPayStatus,
    pub self_status: SelfPayStatus,
    pub med_status: MedInsPayStatus,
    pub created_ms: i64,
    pub paid_ms: Option<i64>,
    pub med_ins_fail_reason: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct BankRefund {
    pub outtrx_serial_no: String,
    pub intrx_serial_no: String,
    pub out_trade_no: String,
    pub amount: Money,
    pub at_ms: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct RefundNotice {
    pub mix_trade_no: String,
    pub out_refund_no: String,
    pub refund_type: String,
    pub cash_refund_fee: Money,
    pub med_refund_total_fee: Money,
    pub at_ms: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct CallbackAttempt {
    pub mix_trade_no: String,
    pub msg_id: String,
    pub at_ms: i64,
    /// HTTP status, or 0 when the connection failed.
    pub http_status: u16,
    /// The hospital's answer verified as the documented acknowledgement.
    pub acknowledged: bool,
    pub bad_signature: bool,
    pub detail: String,
}

#[derive(Debug, Default)]
pub struct State {
    pub seq: u64,
    pub auth_codes: BTreeMap<String, AuthCode>,
    pub pay_auths: BTreeMap<String, PayAuth>,
    pub sign_nos: BTreeMap<String, String>,
    pub mid_orders: BTreeMap<String, MidOrder>,
    /// (org code, medOrgOrd) -> payOrdId of the live (not revoked) order.
    pub mid_by_med_org_ord: BTreeMap<(String, String), String>,
    pub mid_refunds: BTreeMap<String, MidRefund>,
    pub self_pay_orders: BTreeMap<String, SelfPayOrder>,
    pub mixed_orders: BTreeMap<String, MixedOrder>,
    pub mixed_by_out_trade_no: BTreeMap<String, String>,
    pub bank_refunds: BTreeMap<String, BankRefund>,
    pub refund_notices: Vec<RefundNotice>,
    pub callbacks: Vec<CallbackAttempt>,
    /// Personal-account balances, by psn_no, after the payments made so far.
    pub balances: BTreeMap<String, Money>,
    /// Per-endpoint call counters for deterministic fault shares.
    pub calls: BTreeMap<String, u64>,
}

impl State {
    /// A fresh id with a prefix: "ORD", "MIX", "AUTH", ... (unique within this sandbox run).
    pub fn next_id(&mut self, prefix: &str, now_ms: i64) -> String {
        self.seq += 1;
        format!("{prefix}{}{:06}", crate::clock::compact_date(now_ms), self.seq)
    }
}
