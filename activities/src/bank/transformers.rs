//! The bank's requests built from the payment's and the refund's domain values (REQ 6.1 steps
//! 8-9 and 12, REQ 6.2 steps 5-6): what each field of the self-pay order, the mixed order, the
//! query, the self-pay refund and the refund notice is filled with, the party's codes by name
//! (`wire::bank::codes`). The activities send them; the simulator's tests send the same ones.

use medpay_crypto::id_digest::IdDigest;
use medpay_schemas::payment_flow::{Identity, PaymentRequest, Uploaded};
use medpay_schemas::refund::{RefundAmounts, RefundInput};
use medpay_schemas::status::MixPayType;
use medpay_schemas::time::{BeijingDate, BeijingTime};
use medpay_schemas::wire::bank::codes;
use medpay_schemas::wire::bank::{
    MixedOrderQueryRequest, MixedOrderRequest, RefundNotifyRequest, SelfPayOrderRequest, SelfPayRefundRequest,
};
use medpay_schemas::wire::mid_platform::SettlementSplit;
use medpay_schemas::{
    BankRefundSerial, MixTradeNo, Money, MoneyError, OrgCode, OutTradeNo, RefundNo, Secret, SubMchId,
};

/// The hospital's merchant at the bank, and how its orders are made.
pub struct Merchant<'a> {
    pub mer_id: &'a str,
    pub hospital_id: &'a str,
    pub sub_mchid: &'a SubMchId,
    pub org_code: &'a OrgCode,
    pub org_name: &'a str,
    /// The app the patient pays in: the hospital's WeChat app, or its Alipay app.
    pub app_id: &'a str,
    /// Where the bank sends the payment's callbacks.
    pub callback_url: &'a str,
    /// How the payer's ID number is digested (`payer_id_digest`), as the bank agreed.
    pub id_digest: IdDigest,
    /// True only during the joint test (left true in production it is a money-loss bug).
    pub joint_test: bool,
}

/// Steps 8-9: the orders of a pre-settled payment.
pub struct BankOrders<'a> {
    pub merchant: Merchant<'a>,
    pub request: &'a PaymentRequest,
    pub identity: &'a Identity,
    pub uploaded: &'a Uploaded,
    pub split: &'a SettlementSplit,
    /// The payment's creation, which the orders are stamped with (the bank is idempotent on
    /// identical content, so a retry must send the same time).
    pub created_at_ms: i64,
}

impl BankOrders<'_> {
    /// Whether a self-pay part remains (then there is a self-pay order before the mixed one).
    pub fn has_self_pay(&self) -> bool {
        !self.split.own_pay_amt.is_zero()
    }

    /// The institution's order no.: the self-pay order's, or the mixed order's own.
    pub fn out_trade_no(&self) -> OutTradeNo {
        medpay_schemas::workflow_ids::out_trade_no(&self.request.med_org_ord, self.has_self_pay())
    }

    /// Step 8: the self-pay (aggregate) order for the self-pay part.
    pub fn self_pay(&self) -> SelfPayOrderRequest {
        let (m, r) = (&self.merchant, self.request);
        SelfPayOrderRequest {
            mer_id: m.mer_id.into(),
            mer_prtcl_no: String::new(),
            out_trade_no: self.out_trade_no(),
            pay_mode: r.channel.pay_mode().into(),
            access_type: r.channel.access_type(r.access).into(),
            shop_appid: m.app_id.into(),
            open_id: r.openid.clone(),
            total_fee: self.split.own_pay_amt,
            fee_type: codes::FEE_TYPE.into(),
            spbill_create_ip: "127.0.0.1".into(),
            orig_date_time: BeijingTime::of(self.created_at_ms).dashed(),
            body: format!("{} {}", m.org_name, r.scene.order_type()),
            mer_url: m.callback_url.into(),
            expire_time: None,
            attach: None,
        }
    }

    /// Step 9: the mixed order, with the self-pay order's prepay id when there is one.
    pub fn mixed(&self, prepay_id: Option<String>) -> Result<MixedOrderRequest, MoneyError> {
        let (m, r, id, split) = (&self.merchant, self.request, self.identity, self.split);
        let own = split.own_pay_amt;
        let mix_pay_type = match (own.is_zero(), split.insurance()?.is_zero()) {
            (true, _) => MixPayType::InsuranceOnly,
            (false, true) => MixPayType::CashOnly,
            _ => MixPayType::CashAndInsurance,
        };
        Ok(MixedOrderRequest {
            hospital_id: m.hospital_id.into(),
            sub_mchid: m.sub_mchid.clone(),
            mix_pay_type,
            order_type: r.scene.order_type().into(),
            appid: m.app_id.into(),
            sub_appid: String::new(),
            openid: r.openid.clone(),
            payer_name: id.name.clone(),
            payer_id_digest: Secret::new(m.id_digest.of(id.id_no.expose())),
            payer_card_type: codes::PAYER_ID_CARD.into(),
            pay_for_relatives: id.for_relative,
            out_trade_no: self.out_trade_no(),
            serial_no: r.med_org_ord.clone(),
            pay_order_id: self.uploaded.pay_ord_id.clone(),
            pay_auth_no: id.pay_auth_no.clone(),
            geo_location: String::new(),
            city_id: id.insu_code.clone(),
            med_inst_name: m.org_name.into(),
            med_inst_no: m.org_code.to_string(),
            med_ins_order_create_time: BeijingTime::of(self.created_at_ms).rfc3339(),
            total_fee: split.fee_sumamt,
            med_ins_gov_fee: split.fund_pay,
            med_ins_self_fee: split.psn_acct_pay,
            med_ins_other_fee: Money::ZERO,
            med_ins_cash_fee: own,
            wechat_pay_cash_fee: own,
            callback_url: m.callback_url.into(),
            prepay_id,
            passthrough_request_content: None,
            attach: None,
            med_ins_test_env: m.joint_test,
        })
    }
}

/// Step 12: the compensating query of a mixed order, on the (Beijing) day it was created: a
/// wrong date is "not found".
pub fn mixed_order_query(
    hospital_id: &str,
    sub_mchid: &SubMchId,
    mix_trade_no: &MixTradeNo,
    created_on: BeijingDate,
) -> MixedOrderQueryRequest {
    MixedOrderQueryRequest {
        query_type: codes::QUERY_BY_MIX_TRADE_NO.into(),
        hospital_id: hospital_id.into(),
        mix_trade_no: Some(mix_trade_no.clone()),
        out_trade_no: None,
        sub_mchid: sub_mchid.clone(),
        trx_date: created_on.to_string(),
    }
}

/// REQ 6.2 step 5: the self-pay part back through the bank, keyed by our serial.
pub fn self_pay_refund(
    mer_id: &str,
    out_trade_no: &OutTradeNo,
    bank_serial: &str,
    refund: &RefundInput,
) -> SelfPayRefundRequest {
    SelfPayRefundRequest {
        mer_id: mer_id.into(),
        out_trade_no: out_trade_no.clone(),
        order_id: None,
        outtrx_serial_no: bank_serial.into(),
        ret_total_amt: refund.amounts.cash,
        reason: refund.reason.clone(),
    }
}

/// REQ 6.2 step 6: what was refunded, told to the channel through the bank.
pub struct RefundNotice<'a> {
    pub hospital_id: &'a str,
    pub sub_mchid: &'a SubMchId,
    pub mix_trade_no: &'a MixTradeNo,
    /// The bank's serial of the cash part's refund, when there was one.
    pub bank_refund_serial: Option<BankRefundSerial>,
    pub refund_no: &'a RefundNo,
    pub amounts: RefundAmounts,
    pub at_ms: i64,
}

impl TryFrom<RefundNotice<'_>> for RefundNotifyRequest {
    type Error = MoneyError;

    fn try_from(n: RefundNotice<'_>) -> Result<Self, MoneyError> {
        let a = n.amounts;
        let insurance = a.insurance()?;
        let refund_type = match (insurance.is_zero(), a.cash.is_zero()) {
            (false, true) => codes::REFUND_INSURANCE,
            (true, false) => codes::REFUND_SELF_PAY,
            _ => codes::REFUND_MIXED,
        };
        Ok(RefundNotifyRequest {
            hospital_id: n.hospital_id.into(),
            sub_mchid: n.sub_mchid.clone(),
            refund_type: refund_type.into(),
            mix_trade_no: n.mix_trade_no.clone(),
            intrx_serial_no: n.bank_refund_serial,
            cash_refund_fee: a.cash,
            med_refund_total_fee: insurance,
            med_refund_gov_fee: a.fund,
            med_refund_self_fee: a.psn_acct,
            med_refund_other_fee: Money::ZERO,
            refund_time: BeijingTime::of(n.at_ms).rfc3339(),
            out_refund_no: n.refund_no.clone(),
        })
    }
}
