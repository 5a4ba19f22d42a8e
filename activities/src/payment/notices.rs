//! The payment's activities beside the main flow, each its own type so its name reads well in
//! the Web UI: telling the HIS how a payment ended (`PaymentNotification`) or what happened after
//! (`HisEventNotification`), and revoking the 6201 upload (`PaymentRevocation`).

use super::{BillUploaded, Outcome, PaymentActivities};
use crate::exchange_log::ExchangeLog;
use crate::failure::fail;
use crate::mid_platform::transformers::UploadedOrder;
use medpay_schemas::wire::mid_platform::*;
use std::sync::Arc;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

#[activities]
impl PaymentNotification {
    /// Tells the HIS how the payment ended (signed POST), with the ledger's figures; retried by
    /// Temporal until the HIS answers 2xx. A no-op when no endpoint is configured.
    #[activity]
    pub async fn notify_his(self: Arc<Self>, _ctx: ActivityContext, o: Outcome) -> Result<(), ActivityError> {
        let acts = &self.0;
        let Some(his) = &acts.his else { return Ok(()) };
        let p = acts.ledger.get(&o.org_code, &o.med_org_ord).await.map_err(|e| std::io::Error::other(e.to_string()))?;
        let notice = crate::his::PaymentNotice {
            event: "payment.completed".into(),
            org_code: o.org_code.clone(),
            med_org_ord: o.med_org_ord.clone(),
            state: o.state.as_str().into(),
            total_fen: p.as_ref().map(|p| p.total_fen),
            fund_fen: p.as_ref().and_then(|p| p.fund_fen),
            psn_acct_fen: p.as_ref().and_then(|p| p.psn_acct_fen),
            own_pay_fen: p.as_ref().and_then(|p| p.own_pay_fen),
            mix_trade_no: p.as_ref().and_then(|p| p.mix_trade_no.clone()),
            reason: o.reason.as_deref().map(|r| medpay_schemas::failure::PaymentFailure::decode(r).message),
            failure: medpay_schemas::failure::PaymentFailure::view_of(o.state, o.reason.as_deref()),
            notice_id: None,
            owed_fen: None,
        };
        let sent = his.send(&notice).await;
        ExchangeLog::of(&acts.ledger, &o.org_code, &o.med_org_ord)
            .record("his", "payment notice", &notice, sent.as_ref().map(|()| &"delivered"))
            .await;
        sent.map_err(|e| std::io::Error::other(e.to_string()).into())
    }
}

#[activities]
impl HisEventNotification {
    /// Tells the HIS of a payment event after its workflow ended (a late settlement, a
    /// reconciliation's verdict, an under-collection), with the ledger's figures. A no-op when
    /// no endpoint is configured.
    #[activity]
    pub async fn notify_event(
        self: Arc<Self>,
        _ctx: ActivityContext,
        e: crate::his::HisEvent,
    ) -> Result<(), ActivityError> {
        let acts = &self.0;
        let Some(his) = &acts.his else { return Ok(()) };
        let p =
            acts.ledger.get(&e.org_code, &e.med_org_ord).await.map_err(|err| std::io::Error::other(err.to_string()))?;
        let notice = crate::his::PaymentNotice {
            event: e.event.clone(),
            org_code: e.org_code.clone(),
            med_org_ord: e.med_org_ord.clone(),
            state: p.as_ref().map(|p| p.state.as_str().to_string()).unwrap_or_default(),
            total_fen: p.as_ref().map(|p| p.total_fen),
            fund_fen: p.as_ref().and_then(|p| p.fund_fen),
            psn_acct_fen: p.as_ref().and_then(|p| p.psn_acct_fen),
            own_pay_fen: p.as_ref().and_then(|p| p.own_pay_fen),
            mix_trade_no: p.as_ref().and_then(|p| p.mix_trade_no.clone()),
            reason: Some(e.message.clone()),
            failure: None,
            notice_id: Some(e.id()),
            owed_fen: e.owed_fen,
        };
        let sent = his.send(&notice).await;
        ExchangeLog::of(&acts.ledger, &e.org_code, &e.med_org_ord)
            .record("his", "payment event notice", &notice, sent.as_ref().map(|()| &"delivered"))
            .await;
        sent.map_err(|err| std::io::Error::other(err.to_string()).into())
    }
}

/// The late-event notification activity (`HisNoticeWorkflow`).
pub struct HisEventNotification(pub Arc<PaymentActivities>);

/// The HIS notification activity, separate so its type name reads well in the Web UI.
pub struct PaymentNotification(pub Arc<PaymentActivities>);

#[activities]
impl PaymentRevocation {
    /// Revokes the 6201 upload when the patient never confirms or the HIS cancels (6401).
    #[activity]
    pub async fn revoke(self: Arc<Self>, _ctx: ActivityContext, s: BillUploaded) -> Result<(), ActivityError> {
        let acts = &self.0;
        let h = acts.hospital(&s.request.org_code)?;
        let uploaded = UploadedOrder { request: &s.request, identity: &s.identity, uploaded: &s.uploaded };
        let req = RevokeUploadRequest::from(uploaded);
        let resp = h
            .mid
            .call_logged::<_, RevokeUploadResponse>(
                &ExchangeLog::of(&acts.ledger, &s.request.org_code, &s.request.med_org_ord),
                MidPlatformOp::RevokeUpload,
                &req,
            )
            .await;
        resp.map_err(fail)?;
        Ok(())
    }
}

/// The revocation activity, separate so its type name reads well in the Web UI.
pub struct PaymentRevocation(pub Arc<PaymentActivities>);
