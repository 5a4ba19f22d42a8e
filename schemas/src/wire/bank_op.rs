//! The bank operations medpay calls: their names in a hospital's `[bank.paths]`, in the
//! exchange log and the metrics, and their ICBC-style default paths.

use serde::{Deserialize, Serialize};

/// The self-pay order API, which is also the `api` of its payment notices.
pub const SELF_PAY_ORDER_API: &str = "/api/cardbusiness/aggregatepay/b2c/online/consumepurchase/V1";

/// The bank operations we call, with the ICBC-style default paths (configuration overrides them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BankOp {
    SelfPayOrder,
    MixedOrder,
    MixedOrderQuery,
    SelfPayRefund,
    RefundNotify,
}

impl BankOp {
    pub const ALL: [BankOp; 5] =
        [Self::SelfPayOrder, Self::MixedOrder, Self::MixedOrderQuery, Self::SelfPayRefund, Self::RefundNotify];

    /// The operation's name in a hospital's `[bank.paths]` table.
    pub fn key(self) -> &'static str {
        match self {
            Self::SelfPayOrder => "self_pay_order",
            Self::MixedOrder => "mixed_order",
            Self::MixedOrderQuery => "mixed_order_query",
            Self::SelfPayRefund => "self_pay_refund",
            Self::RefundNotify => "refund_notify",
        }
    }

    /// The operation as the exchange log and the metrics name it.
    pub fn label(self) -> &'static str {
        match self {
            Self::SelfPayOrder => "self-pay order",
            Self::MixedOrder => "mixed order",
            Self::MixedOrderQuery => "mixed order query",
            Self::SelfPayRefund => "self-pay refund",
            Self::RefundNotify => "refund notify",
        }
    }

    pub fn default_path(self) -> &'static str {
        match self {
            Self::SelfPayOrder => SELF_PAY_ORDER_API,
            Self::MixedOrder => "/api/mimp/mixorder/V1",
            Self::MixedOrderQuery => "/api/mimp/orderstatusquery/V1",
            Self::SelfPayRefund => "/api/cardbusiness/aggregatepay/b2c/online/merrefund/V1",
            Self::RefundNotify => "/api/mimp/mixrefundnotify/V1",
        }
    }
}
