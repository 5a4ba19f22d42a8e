//! Steps 8-9 of REQ 6.1: the bank's self-pay order (only when a self-pay part remains) and the
//! mixed order, keyed by the HIS order no. so a retry replays the same orders.

use super::{PaymentActivities, PreSettled};
use crate::exchange_log::ExchangeLog;
use crate::failure::{bad, fail};
use crate::ledger::{BankOrder, PaymentMove};
use medpay_schemas::payment_flow::*;
use medpay_schemas::status::MixPayType;
use medpay_schemas::wire::bank::*;
use medpay_schemas::*;
use temporalio_sdk::activities::ActivityError;

impl PaymentActivities {
    pub(super) async fn orders(&self, s: PreSettled) -> Result<Cashier, ActivityError> {
        let h = self.hospital(&s.request.org_code)?;
        let (id, up, split, r) = (s.identity.clone(), s.uploaded.clone(), s.split, &s.request);
        let own = split.own_pay_amt;
        let out = medpay_schemas::workflow_ids::out_trade_no(&r.med_org_ord, !own.is_zero());
        let created_at = s.created_at_ms;
        let mut prepay = None;
        let mut prepay_id = None;
        // The app the patient pays in: the hospital's WeChat app, or its Alipay app.
        let shop_appid = match r.channel {
            Channel::Wechat => h.params.bank.shop_appid.clone(),
            Channel::Alipay => h
                .params
                .channel
                .alipay_app_id
                .clone()
                .ok_or_else(|| bad(format!("hospital {} has no Alipay app id", r.org_code)))?,
        };
        if !own.is_zero() {
            let sp_req = SelfPayOrderRequest {
                mer_id: h.params.bank.mer_id.clone(),
                mer_prtcl_no: String::new(),
                out_trade_no: out.clone(),
                pay_mode: r.channel.pay_mode().into(),
                access_type: r.channel.access_type(r.access).into(),
                shop_appid: shop_appid.clone(),
                open_id: r.openid.clone(),
                total_fee: own,
                fee_type: medpay_schemas::wire::bank::codes::FEE_TYPE.into(),
                spbill_create_ip: "127.0.0.1".into(),
                orig_date_time: medpay_crypto::envelope::time::TimestampFormat::Dashed.render(created_at),
                body: format!("{} {}", h.params.org_name, r.scene.order_type()),
                mer_url: self.parties.callback_url.clone(),
                expire_time: None,
                attach: None,
            };
            let sp = h.bank.call::<_, SelfPayOrderResponse>(BankOp::SelfPayOrder, &format!("sp-{out}"), &sp_req).await;
            ExchangeLog::of(&self.ledger, &r.org_code, &r.med_org_ord)
                .record("bank", "self-pay order", &sp_req, sp.as_ref())
                .await;
            let sp = sp.map_err(fail)?;
            if sp.total_amt != own {
                return Err(bad(format!(
                    "integrity alarm: self-pay order total {} != ownPay {}",
                    sp.total_amt.fen(),
                    own.fen()
                )));
            }
            if let Some(p) = sp.wx_data_package {
                prepay_id = Some(p.package.trim_start_matches("prepay_id=").to_string());
                prepay = serde_json::to_value(&p).ok();
            } else if let Some(p) = sp.zfb_data_package {
                // Alipay's cashier parameters (its trade no.) for the front-end.
                prepay_id = p["trade_no"].as_str().map(str::to_string);
                prepay = Some(p);
            }
        }
        let insurance = split.insurance().map_err(|e| bad(e.to_string()))?;
        let mix_pay_type = match (own.is_zero(), insurance.is_zero()) {
            (true, _) => MixPayType::InsuranceOnly,
            (false, true) => MixPayType::CashOnly,
            _ => MixPayType::CashAndInsurance,
        };
        let id_digest = Secret::new(h.config.bank_orders.id_digest.of(id.id_no.expose()));
        let req = MixedOrderRequest {
            hospital_id: h.params.bank.hospital_id.clone(),
            sub_mchid: h.params.bank.sub_mchid.clone(),
            mix_pay_type,
            order_type: r.scene.order_type().into(),
            appid: shop_appid.clone(),
            sub_appid: String::new(),
            openid: r.openid.clone(),
            payer_name: id.name.clone(),
            payer_id_digest: id_digest,
            payer_card_type: medpay_schemas::wire::bank::codes::PAYER_ID_CARD.into(),
            pay_for_relatives: id.for_relative,
            out_trade_no: out.clone(),
            serial_no: r.med_org_ord.clone(),
            pay_order_id: up.pay_ord_id.clone(),
            pay_auth_no: id.pay_auth_no.clone(),
            geo_location: String::new(),
            city_id: id.insu_code.clone(),
            med_inst_name: h.params.org_name.clone(),
            med_inst_no: h.params.org_code.to_string(),
            med_ins_order_create_time: medpay_schemas::time::BeijingTime::of(created_at).rfc3339(),
            total_fee: split.fee_sumamt,
            med_ins_gov_fee: split.fund_pay,
            med_ins_self_fee: split.psn_acct_pay,
            med_ins_other_fee: Money::ZERO,
            med_ins_cash_fee: own,
            wechat_pay_cash_fee: own,
            callback_url: self.parties.callback_url.clone(),
            prepay_id,
            passthrough_request_content: None,
            attach: None,
            // True only during the joint test (left true in production it is a money-loss bug).
            med_ins_test_env: h.config.stage == crate::parties::onboarding::Stage::JointTest,
        };
        req.check_rules().map_err(|e| bad(format!("mixed order would break the channel's rules: {e}")))?;
        let mixed = h.bank.call::<_, MixedOrderResponse>(BankOp::MixedOrder, &format!("mix-{out}"), &req).await;
        ExchangeLog::of(&self.ledger, &r.org_code, &r.med_org_ord)
            .record("bank", "mixed order", &req, mixed.as_ref())
            .await;
        let mixed = mixed.map_err(fail)?;
        let mix = mixed.mix_trade_no.ok_or_else(|| bad("the bank returned no mix_trade_no".into()))?;
        let order = BankOrder { sub_mchid: req.sub_mchid.clone(), mix_trade_no: mix.clone() };
        self.record(r, PaymentMove::Ordered { out_trade_no: out.clone(), order }).await?;
        Ok(Cashier { mix_trade_no: mix, out_trade_no: out, prepay })
    }
}
