//! The outbound notices to the hospital's HIS: a payment's end (paid, failed, cancelled) and a
//! refund's money movements (requested, refunded, needing attention, closed by an operator):
//! a signed JSON POST (see `medpay_crypto::envelope::his`), retried by Temporal until the HIS
//! answers 2xx, so the HIS learns the outcome even if it stopped polling. Off unless
//! `his.notify_url` is configured.

use crate::http::{LocalStage, PartyError, now_ms, send};
use medpay_crypto::envelope::his::{HEADER_SIGNATURE, HEADER_TIMESTAMP, his_signature};
use medpay_schemas::Secret;
use serde::{Deserialize, Serialize};

/// What the HIS is told: ids, state and amounts in fen. No personal data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentNotice {
    pub event: String,
    pub org_code: medpay_schemas::OrgCode,
    pub med_org_ord: medpay_schemas::MedOrgOrd,
    pub state: String,
    pub total_fen: Option<i64>,
    pub fund_fen: Option<i64>,
    pub psn_acct_fen: Option<i64>,
    pub own_pay_fen: Option<i64>,
    pub mix_trade_no: Option<medpay_schemas::MixTradeNo>,
    /// The failure's message (as `failure.message`), for HIS versions that read only this.
    pub reason: Option<String>,
    /// Why the payment did not end paid: code, party and its code, message, next action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<medpay_schemas::failure::FailureView>,
    /// The same on every retry of one notice, for the HIS to drop repeats (events after the
    /// payment's end: `payment.settled_late`, `payment.settled_by_reconciliation`,
    /// `payment.under_collected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_id: Option<String>,
    /// What the patient still owes (REQ X-8c: served but not paid; collect at the counter or
    /// send a new bill).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owed_fen: Option<i64>,
}

/// A payment event after its workflow ended, for the HIS (sent by `HisNoticeWorkflow`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HisEvent {
    pub org_code: medpay_schemas::OrgCode,
    pub med_org_ord: medpay_schemas::MedOrgOrd,
    pub event: String,
    pub message: String,
    #[serde(default)]
    pub owed_fen: Option<i64>,
}

impl HisEvent {
    /// The notice's workflow id and `notice_id`: one notice per payment and event.
    pub fn id(&self) -> String {
        medpay_schemas::workflow_ids::his_notice(&self.org_code, &self.med_org_ord, &self.event)
    }
}

/// What the HIS is told of a refund's money movement (REQ 6.2; X-8a and X-8b refunds the product
/// starts itself): `event` is `refund.requested`, `refund.refunded`, `refund.needs_attention`,
/// `refund.settled_offline` or `refund.abandoned`; `notice_id` (refund no. + event + episode) is
/// the same on every retry, for the HIS to drop repeats. Ids and fen only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundNotice {
    pub event: String,
    pub notice_id: String,
    pub org_code: medpay_schemas::OrgCode,
    pub med_org_ord: medpay_schemas::MedOrgOrd,
    pub refund_no: medpay_schemas::RefundNo,
    /// patient (the HIS asked), anomaly (X-8a), over_collection (X-8b).
    pub kind: String,
    pub state: String,
    pub fund_fen: i64,
    pub psn_acct_fen: i64,
    pub cash_fen: i64,
    /// Why it needs attention, or how an operator closed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention: Option<String>,
}

#[derive(Clone)]
pub struct HisNotifier {
    pub http: reqwest::Client,
    pub url: String,
    pub key: Secret<Vec<u8>>,
}

impl HisNotifier {
    pub async fn send<N: Serialize>(&self, notice: &N) -> Result<(), PartyError> {
        let body = serde_json::to_vec(notice).map_err(|e| PartyError::Local {
            party: "his",
            stage: LocalStage::Encode,
            detail: e.to_string(),
        })?;
        let ts = now_ms().to_string();
        let sig = his_signature(self.key.expose(), &ts, &body);
        let req = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header(HEADER_TIMESTAMP, ts)
            .header(HEADER_SIGNATURE, sig)
            .body(body);
        let (status, text) = send("his", req).await?;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            // A 4xx from the HIS is still retried: the notice must arrive once the HIS is fixed.
            Err(PartyError::Unavailable {
                party: "his",
                detail: format!("HTTP {status}: {}", text.chars().take(200).collect::<String>()),
            })
        }
    }
}
