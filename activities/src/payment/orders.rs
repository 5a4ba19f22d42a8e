//! Steps 8-9 of REQ 6.1: the bank's self-pay order (only when a self-pay part remains) and the
//! mixed order, keyed by the HIS order no. so a retry replays the same orders.

use super::{PaymentActivities, PreSettled};
use crate::bank::transformers::{BankOrders, Merchant};
use crate::exchange_log::ExchangeLog;
use crate::failure::{bad, fail};
use crate::ledger::{BankOrder, PaymentMove};
use crate::parties::HospitalParties;
use medpay_schemas::payment_flow::*;
use medpay_schemas::wire::bank::*;
use temporalio_sdk::activities::ActivityError;

impl PaymentActivities {
    pub(super) async fn orders(&self, s: PreSettled) -> Result<Cashier, ActivityError> {
        let h = self.hospital(&s.request.org_code)?;
        let r = &s.request;
        let orders = BankOrders {
            merchant: self.merchant(h, r.channel)?,
            request: r,
            identity: &s.identity,
            uploaded: &s.uploaded,
            split: &s.split,
            created_at_ms: s.created_at_ms,
        };
        let (own, out) = (s.split.own_pay_amt, orders.out_trade_no());
        let mut prepay = None;
        let mut prepay_id = None;
        if orders.has_self_pay() {
            let sp_req = orders.self_pay();
            let sp = h
                .bank
                .call_logged::<_, SelfPayOrderResponse>(
                    &ExchangeLog::of(&self.ledger, &r.org_code, &r.med_org_ord),
                    BankOp::SelfPayOrder,
                    &format!("sp-{out}"),
                    &sp_req,
                )
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
        let req = orders.mixed(prepay_id).map_err(|e| bad(format!("the mixed order of {}: {e}", r.med_org_ord)))?;
        req.check_rules().map_err(|e| bad(format!("mixed order would break the channel's rules: {e}")))?;
        let mixed = h
            .bank
            .call_logged::<_, MixedOrderResponse>(
                &ExchangeLog::of(&self.ledger, &r.org_code, &r.med_org_ord),
                BankOp::MixedOrder,
                &format!("mix-{out}"),
                &req,
            )
            .await;
        let mixed = mixed.map_err(fail)?;
        let mix = mixed.mix_trade_no.ok_or_else(|| bad("the bank returned no mix_trade_no".into()))?;
        let order = BankOrder { sub_mchid: req.sub_mchid, mix_trade_no: mix.clone() };
        self.record(r, PaymentMove::Ordered { out_trade_no: out.clone(), order }).await?;
        Ok(Cashier { mix_trade_no: mix, out_trade_no: out, prepay })
    }

    /// The hospital's merchant at the bank, ordering in the app the patient pays in: the
    /// hospital's WeChat app, or its Alipay app.
    fn merchant<'a>(&'a self, h: &'a HospitalParties, channel: Channel) -> Result<Merchant<'a>, ActivityError> {
        let app_id = match channel {
            Channel::Wechat => &h.params.bank.shop_appid,
            Channel::Alipay => h
                .params
                .channel
                .alipay_app_id
                .as_ref()
                .ok_or_else(|| bad(format!("hospital {} has no Alipay app id", h.params.org_code)))?,
        };
        Ok(Merchant {
            mer_id: &h.params.bank.mer_id,
            hospital_id: &h.params.bank.hospital_id,
            sub_mchid: &h.params.bank.sub_mchid,
            org_code: &h.params.org_code,
            org_name: &h.params.org_name,
            app_id,
            callback_url: &self.parties.callback_url,
            id_digest: h.config.bank_orders.id_digest,
            joint_test: h.config.stage == crate::parties::onboarding::Stage::JointTest,
        })
    }
}
