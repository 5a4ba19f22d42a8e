//! The bank adapter: the gateway's form envelope for the self-pay order, mixed order, query,
//! self-pay refund and refund notify, and the hospital's side of the payment callback
//! (verify, acknowledge) (docs/PROTOCOLS.md §4).

pub mod transformers;

use crate::http::{LocalStage, PartyError, now_ms, send};
use medpay_crypto::envelope::bank_gateway::{BankGatewayEnvelope, GatewayError};
use medpay_crypto::signer::{PrivateKey, PublicKey};
use medpay_schemas::wire::bank::{BankNotice, BankOp, BankReturn, SELF_PAY_ORDER_API};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

const PARTY: &str = "bank";

#[derive(Clone)]
pub struct BankClient {
    pub http: reqwest::Client,
    /// Where each operation goes (the hospital's `[bank]` endpoint); the path is also signed.
    pub endpoint: crate::endpoint::Endpoint,
    pub envelope: BankGatewayEnvelope,
    pub hospital_key: PrivateKey,
    pub bank_public: PublicKey,
}

impl BankClient {
    /// One call; `msg_id` is the message's idempotency id (unique per call).
    pub async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        op: BankOp,
        msg_id: &str,
        biz: &Req,
    ) -> Result<Resp, PartyError> {
        let biz = serde_json::to_value(biz).map_err(LocalStage::Encode.of(PARTY))?;
        let sealed = self
            .envelope
            .seal_request(&self.endpoint.path(op.key()), msg_id, now_ms(), &biz, &self.hospital_key)
            .map_err(LocalStage::Sign.of(PARTY))?;
        let url = self.endpoint.url(op.key());
        let (status, text) = send(PARTY, self.http.post(url).form(&sealed.params)).await?;
        if status >= 400 {
            return Err(PartyError::Rejected {
                party: PARTY,
                code: format!("HTTP{status}"),
                message: text.chars().take(300).collect(),
            });
        }
        let reply = self.envelope.open_response(&text, &self.bank_public).map_err(|e| match e {
            GatewayError::NotJson(d) => PartyError::Unknown { party: PARTY, detail: format!("unreadable reply: {d}") },
            other => PartyError::Integrity { party: PARTY, detail: other.to_string() },
        })?;
        let ret: BankReturn = serde_json::from_value(reply.clone())
            .map_err(|e| PartyError::Integrity { party: PARTY, detail: format!("no return_code: {e}") })?;
        if ret.return_code != 0 {
            return Err(PartyError::Rejected {
                party: PARTY,
                code: ret.return_code.to_string(),
                message: ret.return_msg,
            });
        }
        serde_json::from_value(reply)
            .map_err(|e| PartyError::Integrity { party: PARTY, detail: format!("reply fields: {e}") })
    }

    /// One call, recorded in the payment's exchange log whatever its outcome.
    pub async fn call_logged<Req: Serialize, Resp: DeserializeOwned + Serialize>(
        &self,
        log: &crate::exchange_log::ExchangeLog<'_>,
        op: BankOp,
        msg_id: &str,
        biz: &Req,
    ) -> Result<Resp, PartyError> {
        let result = self.call(op, msg_id, biz).await;
        log.record(PARTY, op.label(), biz, result.as_ref()).await;
        result
    }

    /// Verifies a callback form from the bank; the `api` parameter is the signed path.
    /// A notice's signature checked and its body read by the API it names: a self-pay order's
    /// payment notice, or the mixed order's result.
    pub fn verify_callback(&self, params: BTreeMap<String, String>) -> Result<(String, BankNotice), GatewayError> {
        let api = params.get("api").cloned().ok_or(GatewayError::MissingParam("api"))?;
        let msg_id = params.get("msg_id").cloned().unwrap_or_default();
        let opened = self.envelope.open_request(&api, params, &self.bank_public)?;
        let unreadable = |e: serde_json::Error| GatewayError::BizNotJson(e.to_string());
        let notice = if api == SELF_PAY_ORDER_API {
            BankNotice::SelfPay(serde_json::from_value(opened.biz_content).map_err(unreadable)?)
        } else {
            BankNotice::Mixed(serde_json::from_value(opened.biz_content).map_err(unreadable)?)
        };
        Ok((msg_id, notice))
    }

    /// The acknowledgement the bank expects for callback `msg_id`.
    pub fn acknowledge(&self, msg_id: &str) -> Result<String, medpay_crypto::CryptoError> {
        self.envelope.seal_callback_ack(msg_id, &self.hospital_key)
    }
}
