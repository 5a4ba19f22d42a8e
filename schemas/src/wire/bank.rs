//! Clearing bank (清算银行) business content: the `biz_content` of the self-pay (aggregate)
//! order, mixed order, mixed-order query, self-pay refund, refund-result notify and the payment
//! callback (docs/PROTOCOLS.md §4, with the WeChat med-ins vocabulary passed through). The
//! gateway envelope (app_id, msg_id, sign, ...) is in `medpay-crypto::envelope::bank_gateway`.
//! Amounts are integer fen, carried as strings.

use crate::ids::{BankOrderId, BankRefundSerial, MedOrgOrd, MixTradeNo, OutTradeNo, PayOrdId, SubMchId};
use crate::money::{Money, fen_string};
use crate::secret::Secret;
use crate::status::{MedInsPayStatus, MixPayStatus, MixPayType, SelfPayStatus};
use serde::{Deserialize, Serialize};

pub use super::bank_op::{BankOp, SELF_PAY_ORDER_API};

/// Gateway-level result every reply carries (`return_code` 0 = ok).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BankReturn {
    pub return_code: i64,
    #[serde(default)]
    pub return_msg: String,
    #[serde(default)]
    pub msg_id: String,
}

/// Self-pay (aggregate) order (REQ 6.1 step 8). Only when a self-pay part remains.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelfPayOrderRequest {
    pub mer_id: String,
    #[serde(default)]
    pub mer_prtcl_no: String,
    pub out_trade_no: OutTradeNo,
    /// 9 WeChat, 10 Alipay, 13 UnionPay.
    pub pay_mode: String,
    /// 5 APP, 7 official account, 8 Alipay life, 9 mini-program.
    pub access_type: String,
    pub shop_appid: String,
    pub open_id: String,
    #[serde(with = "fen_string")]
    pub total_fee: Money,
    /// "001" CNY.
    pub fee_type: String,
    pub spbill_create_ip: String,
    /// yyyy-MM-dd HH:mm:ss
    pub orig_date_time: String,
    pub body: String,
    /// The bank's notify URL for this order (our callback endpoint).
    pub mer_url: String,
    /// yyyy-MM-dd HH:mm:ss; the order expires after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
}

/// The channel's JSAPI prepay parameters, ready for the cashier (`package` = "prepay_id=...").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrepayPackage {
    #[serde(rename = "appId")]
    pub app_id: String,
    #[serde(rename = "timeStamp")]
    pub time_stamp: String,
    #[serde(rename = "nonceStr")]
    pub nonce_str: String,
    pub package: String,
    #[serde(rename = "signType")]
    pub sign_type: String,
    #[serde(rename = "paySign")]
    pub pay_sign: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelfPayOrderResponse {
    #[serde(flatten)]
    pub ret: BankReturn,
    #[serde(default)]
    pub out_trade_no: Option<OutTradeNo>,
    #[serde(default)]
    pub order_id: Option<BankOrderId>,
    #[serde(with = "fen_string", default)]
    pub total_amt: Money,
    #[serde(default)]
    pub wx_data_package: Option<PrepayPackage>,
    #[serde(default)]
    pub zfb_data_package: Option<serde_json::Value>,
}

/// Mixed (insurance + self-pay) order (REQ 6.1 step 9). Insurance fields come from 6201/6202.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MixedOrderRequest {
    /// Bank-assigned hospital id.
    pub hospital_id: String,
    pub sub_mchid: SubMchId,
    pub mix_pay_type: MixPayType,
    /// REG_PAY, DIAG_PAY, PHARMACY_PAY, ...
    pub order_type: String,
    pub appid: String,
    #[serde(default)]
    pub sub_appid: String,
    pub openid: String,
    /// Payer's name and the MD5 digest of the upper-cased ID number; the bank encrypts them
    /// towards the channel.
    pub payer_name: Secret<String>,
    pub payer_id_digest: Secret<String>,
    #[serde(default)]
    pub payer_card_type: String,
    #[serde(default)]
    pub pay_for_relatives: bool,
    /// Institution order no.: the self-pay out_trade_no, or generated when ownPay is 0.
    pub out_trade_no: OutTradeNo,
    /// Must equal 6201 `medOrgOrd`.
    pub serial_no: MedOrgOrd,
    /// = 6202 `payOrdId`.
    pub pay_order_id: PayOrdId,
    pub pay_auth_no: Secret<String>,
    #[serde(default)]
    pub geo_location: String,
    #[serde(default)]
    pub city_id: String,
    pub med_inst_name: String,
    pub med_inst_no: String,
    /// RFC 3339 with +08:00.
    pub med_ins_order_create_time: String,
    #[serde(with = "fen_string")]
    pub total_fee: Money,
    /// Fund part (≈ fundPay).
    #[serde(with = "fen_string")]
    pub med_ins_gov_fee: Money,
    /// Personal-account part (≈ psnAcctPay).
    #[serde(with = "fen_string")]
    pub med_ins_self_fee: Money,
    #[serde(with = "fen_string")]
    pub med_ins_other_fee: Money,
    /// Cash part as the insurance sees it (≈ ownPayAmt).
    #[serde(with = "fen_string")]
    pub med_ins_cash_fee: Money,
    /// Cash part paid through the channel.
    #[serde(with = "fen_string")]
    pub wechat_pay_cash_fee: Money,
    pub callback_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepay_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passthrough_request_content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    /// Must be false in production (a known money-loss bug when left true).
    #[serde(default)]
    pub med_ins_test_env: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MixedOrderRuleError {
    #[error("total_fee {total} != gov {gov} + self {own_acct} + other {other} + cash {cash}")]
    TotalMismatch { total: Money, gov: Money, own_acct: Money, other: Money, cash: Money },
    #[error("{0:?} must not carry {1}")]
    FieldNotAllowed(MixPayType, &'static str),
    #[error("{0:?} needs {1}")]
    FieldMissing(MixPayType, &'static str),
}

impl MixedOrderRequest {
    /// The channel's amount and exclusivity rules (docs/PROTOCOLS.md §1.3), checked before sending
    /// so a bad split is our error with a clear message, not an opaque channel code.
    pub fn check_rules(&self) -> Result<(), MixedOrderRuleError> {
        let insurance = [self.med_ins_gov_fee, self.med_ins_self_fee, self.med_ins_other_fee];
        let sum = Money::checked_sum(insurance.into_iter().chain([self.wechat_pay_cash_fee]));
        if sum != Ok(self.total_fee) || self.wechat_pay_cash_fee != self.med_ins_cash_fee {
            return Err(MixedOrderRuleError::TotalMismatch {
                total: self.total_fee,
                gov: self.med_ins_gov_fee,
                own_acct: self.med_ins_self_fee,
                other: self.med_ins_other_fee,
                cash: self.wechat_pay_cash_fee,
            });
        }
        let has_insurance = insurance.iter().any(|m| !m.is_zero());
        let has_cash = !self.wechat_pay_cash_fee.is_zero();
        match &self.mix_pay_type {
            t @ MixPayType::CashOnly if has_insurance => {
                Err(MixedOrderRuleError::FieldNotAllowed(t.clone(), "insurance fees"))
            }
            t @ MixPayType::InsuranceOnly if has_cash => {
                Err(MixedOrderRuleError::FieldNotAllowed(t.clone(), "wechat_pay_cash_fee"))
            }
            t @ MixPayType::InsuranceOnly if self.prepay_id.is_some() => {
                Err(MixedOrderRuleError::FieldNotAllowed(t.clone(), "prepay_id"))
            }
            t @ (MixPayType::CashOnly | MixPayType::CashAndInsurance) if self.prepay_id.is_none() => {
                Err(MixedOrderRuleError::FieldMissing(t.clone(), "prepay_id"))
            }
            _ => Ok(()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MixedOrderResponse {
    #[serde(flatten)]
    pub ret: BankReturn,
    #[serde(default)]
    pub mix_trade_no: Option<MixTradeNo>,
    #[serde(default)]
    pub mix_pay_status: Option<MixPayStatus>,
}

/// Mixed-order query (REQ Q-9). `trx_date` must be the order date: a wrong date is "not found".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MixedOrderQueryRequest {
    /// MIX_TRADE_NO | OUT_TRADE_NO
    pub query_type: String,
    pub hospital_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mix_trade_no: Option<MixTradeNo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<OutTradeNo>,
    pub sub_mchid: SubMchId,
    /// yyyy-MM-dd
    pub trx_date: String,
}

/// The mixed order's state, as the query and the callback both carry it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MixedOrderState {
    pub mix_trade_no: MixTradeNo,
    pub sub_mchid: SubMchId,
    pub out_trade_no: OutTradeNo,
    pub serial_no: MedOrgOrd,
    pub mix_pay_status: MixPayStatus,
    pub self_pay_status: SelfPayStatus,
    pub med_ins_pay_status: MedInsPayStatus,
    #[serde(with = "fen_string")]
    pub total_fee: Money,
    #[serde(with = "fen_string", default)]
    pub med_ins_gov_fee: Money,
    #[serde(with = "fen_string", default)]
    pub med_ins_self_fee: Money,
    #[serde(with = "fen_string", default)]
    pub med_ins_other_fee: Money,
    #[serde(with = "fen_string", default)]
    pub wechat_pay_cash_fee: Money,
    #[serde(default)]
    pub paid_time: Option<String>,
    /// Present only when MED_INS_PAY_FAIL.
    #[serde(default)]
    pub med_ins_fail_reason: Option<String>,
    /// The channel's transaction id of the self-pay part, when the bank knows it.
    #[serde(default)]
    pub third_trade_no: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MixedOrderQueryResponse {
    #[serde(flatten)]
    pub ret: BankReturn,
    #[serde(flatten, default)]
    pub state: Option<MixedOrderState>,
}

/// The bank's payment result callback body (`biz_content` of the form POST). Sent on success;
/// may repeat; verified before trust (REQ S-4.1d).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaymentCallback {
    #[serde(default)]
    pub event_type: String,
    #[serde(flatten)]
    pub state: MixedOrderState,
}

/// The bank's notice of a self-pay (aggregate) order's payment (docs/PROTOCOLS.md §4.2 notify
/// fields), sent to the order's `mer_url` when the bank notifies self-pay results. Under
/// interlink the mixed order's callback and query are the truth (REQ SR-7b): this notice is
/// recorded and checked, never acted on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelfPayNotice {
    pub out_trade_no: OutTradeNo,
    /// The bank's order no.
    pub order_id: String,
    #[serde(with = "fen_string")]
    pub total_amt: Money,
    #[serde(with = "fen_string", default)]
    pub payment_amt: Money,
    #[serde(default)]
    pub pay_time: String,
    /// The channel's transaction id.
    #[serde(default)]
    pub third_trade_no: String,
    #[serde(default)]
    pub pay_type: String,
    #[serde(default)]
    pub access_type: String,
}

/// A verified notice from the bank: the mixed order's result, or a self-pay order's.
#[derive(Clone, Debug, PartialEq)]
pub enum BankNotice {
    Mixed(PaymentCallback),
    SelfPay(SelfPayNotice),
}

/// Self-pay refund (REQ 6.2 step 5). `outtrx_serial_no` is our refund serial (idempotency key).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelfPayRefundRequest {
    pub mer_id: String,
    pub out_trade_no: OutTradeNo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<BankOrderId>,
    pub outtrx_serial_no: String,
    #[serde(with = "fen_string")]
    pub ret_total_amt: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelfPayRefundResponse {
    #[serde(flatten)]
    pub ret: BankReturn,
    #[serde(default)]
    pub intrx_serial_no: Option<BankRefundSerial>,
    #[serde(with = "fen_string", default)]
    pub real_reject_amt: Money,
    /// 0 success, 1 failed, 2 processing.
    #[serde(default)]
    pub refund_status: Option<String>,
}

/// Refund-result notify (REQ 6.2 step 6): hospital -> bank -> channel. Latest wins; retries OK.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefundNotifyRequest {
    pub hospital_id: String,
    pub sub_mchid: SubMchId,
    /// MED_REFUND | SELF_REFUND | MIX_REFUND
    pub refund_type: String,
    pub mix_trade_no: MixTradeNo,
    /// The bank refund serial of the cash part (required with a cash part; the same serial as
    /// the self-pay refund).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intrx_serial_no: Option<BankRefundSerial>,
    #[serde(with = "fen_string")]
    pub cash_refund_fee: Money,
    #[serde(with = "fen_string")]
    pub med_refund_total_fee: Money,
    #[serde(with = "fen_string")]
    pub med_refund_gov_fee: Money,
    #[serde(with = "fen_string")]
    pub med_refund_self_fee: Money,
    #[serde(with = "fen_string")]
    pub med_refund_other_fee: Money,
    /// RFC 3339
    pub refund_time: String,
    pub out_refund_no: crate::RefundNo,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefundNotifyResponse {
    #[serde(flatten)]
    pub ret: BankReturn,
}

pub use super::codes::bank as codes;

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> MixedOrderRequest {
        serde_json::from_value(serde_json::json!({
            "hospital_id": "HOSP1", "sub_mchid": "1900000109", "mix_pay_type": "CASH_AND_INSURANCE",
            "order_type": "DIAG_PAY", "appid": "wx1", "openid": "o1", "payer_name": "张三",
            "payer_id_digest": "09eb26e839ff3a2e3980352ae45ef09e", "out_trade_no": "SP1",
            "serial_no": "HIS1", "pay_order_id": "ORD1", "pay_auth_no": "AUTH1",
            "med_inst_name": "医院", "med_inst_no": "H51010500001",
            "med_ins_order_create_time": "2026-11-26T10:00:00+08:00",
            "total_fee": "10000", "med_ins_gov_fee": "5000", "med_ins_self_fee": "2000",
            "med_ins_other_fee": "0", "med_ins_cash_fee": "3000", "wechat_pay_cash_fee": 3000,
            "callback_url": "https://127.0.0.1/cb", "prepay_id": "wx26prepay"
        }))
        .unwrap()
    }

    #[test]
    fn mixed_order_rules() {
        let ok = order();
        ok.check_rules().unwrap();
        let bad_total = MixedOrderRequest { total_fee: Money::from_fen(9999), ..order() };
        assert!(matches!(bad_total.check_rules(), Err(MixedOrderRuleError::TotalMismatch { .. })));
        let no_prepay = MixedOrderRequest { prepay_id: None, ..order() };
        assert!(matches!(no_prepay.check_rules(), Err(MixedOrderRuleError::FieldMissing(..))));
        let ins_only_with_cash = MixedOrderRequest { mix_pay_type: MixPayType::InsuranceOnly, ..order() };
        assert!(matches!(ins_only_with_cash.check_rules(), Err(MixedOrderRuleError::FieldNotAllowed(..))));
    }

    #[test]
    fn query_response_keeps_unknown_statuses() {
        let r: MixedOrderQueryResponse = serde_json::from_value(serde_json::json!({
            "return_code": 0, "return_msg": "ok", "msg_id": "m1",
            "mix_trade_no": "MIX1", "sub_mchid": "1900000109", "out_trade_no": "SP1", "serial_no": "HIS1",
            "mix_pay_status": "MIX_PAY_BRAND_NEW", "self_pay_status": "SELF_PAY_SUCCESS",
            "med_ins_pay_status": "MED_INS_PAY_FAIL", "total_fee": "10000",
            "med_ins_fail_reason": "settlement timeout"
        }))
        .unwrap();
        let st = r.state.unwrap();
        assert!(!st.mix_pay_status.is_final());
        assert_eq!(st.self_pay_status, SelfPayStatus::Success);
        assert_eq!(st.med_ins_pay_status, MedInsPayStatus::Fail);
    }
}
