//! Reconciliation statement lines (REQ C-6.3.1, C-6.3.2). No public layout exists for the
//! Sichuan banks or the mid-platform (docs/PROTOCOLS.md §4.4), so this is our documented default
//! layout; per-bank parsers map their columns onto these records.

use crate::ids::{BankRefundSerial, MedOrgOrd, MixTradeNo, OutTradeNo, PayOrdId};
use crate::money::Money;
use serde::{Deserialize, Serialize};

/// Whether a statement line is money in or money out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StatementDirection {
    Payment,
    Refund,
}

/// One line of the bank's next-day self-pay statement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelfPayStatementLine {
    /// yyyy-MM-dd
    pub trade_date: String,
    pub direction: StatementDirection,
    pub out_trade_no: OutTradeNo,
    #[serde(default)]
    pub mix_trade_no: Option<MixTradeNo>,
    /// The channel transaction id.
    #[serde(default)]
    pub third_trade_no: Option<String>,
    #[serde(default)]
    pub refund_serial: Option<BankRefundSerial>,
    /// Always positive; `direction` gives the sign.
    pub amount: Money,
    /// Bank fee on this line.
    #[serde(default)]
    pub fee: Money,
}

/// One line of the mid-platform's monthly insurance detail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InsuranceStatementLine {
    pub settle_date: String,
    pub direction: StatementDirection,
    pub pay_ord_id: PayOrdId,
    pub med_org_ord: MedOrgOrd,
    #[serde(default)]
    pub refund_serial: Option<String>,
    pub fund_pay: Money,
    pub psn_acct_pay: Money,
}

/// Header/trailer control totals every statement file carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementTotals {
    pub line_count: u64,
    pub payment_total: Money,
    pub refund_total: Money,
}
