//! The mid-platform adapter: 6201-6401 through the SM2/SM4 envelope (docs/PROTOCOLS.md §3).
//! A reply is trusted only after decryption and signature verification; a reply that fails
//! them is an integrity error (re-fetch by query, REQ S-4.1d), never a result.

pub mod transformers;

use crate::http::{LocalStage, PartyError, now_ms, send};
use medpay_crypto::envelope::mid_platform::{EnvelopeError, MidPlatformEnvelope};
use medpay_crypto::signer::{PrivateKey, PublicKey};
use medpay_schemas::wire::mid_platform::MidPlatformOp;
use serde::Serialize;
use serde::de::DeserializeOwned;

const PARTY: &str = "mid-platform";

#[derive(Clone)]
pub struct MidPlatformClient {
    pub http: reqwest::Client,
    /// Where each operation goes (the hospital's `[mid_platform]` endpoint).
    pub endpoint: crate::endpoint::Endpoint,
    pub envelope: MidPlatformEnvelope,
    pub hospital_key: PrivateKey,
    pub platform_public: PublicKey,
}

impl MidPlatformClient {
    pub async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        op: MidPlatformOp,
        request: &Req,
    ) -> Result<Resp, PartyError> {
        let data = serde_json::to_value(request).map_err(LocalStage::Encode.of(PARTY))?;
        let sealed = self
            .envelope
            .seal(self.envelope.request_fields(now_ms()), &data, &self.hospital_key)
            .map_err(LocalStage::Sign.of(PARTY))?;
        let url = self.endpoint.url(op.infno());
        let (status, text) = send(PARTY, self.http.post(url).json(&sealed.body)).await?;
        let opened = self.envelope.open(&text, &self.platform_public).map_err(|e| match e {
            EnvelopeError::NotJson(d) => PartyError::Unknown {
                party: PARTY,
                detail: format!("{} reply (HTTP {status}) is not JSON: {d}", op.infno()),
            },
            other => PartyError::Integrity { party: PARTY, detail: format!("{} reply: {other}", op.infno()) },
        })?;
        match opened.code() {
            Some(0) if opened.signed => {}
            code => {
                return Err(PartyError::Rejected {
                    party: PARTY,
                    code: code.map(|c| c.to_string()).unwrap_or_else(|| "?".into()),
                    message: format!("{} {}", op.infno(), opened.message()),
                });
            }
        }
        let data = opened.data.unwrap_or(serde_json::Value::Null);
        serde_json::from_value(data)
            .map_err(|e| PartyError::Integrity { party: PARTY, detail: format!("{} reply data: {e}", op.infno()) })
    }

    /// One call, recorded in the payment's exchange log whatever its outcome.
    pub async fn call_logged<Req: Serialize, Resp: DeserializeOwned + Serialize>(
        &self,
        log: &crate::exchange_log::ExchangeLog<'_>,
        op: MidPlatformOp,
        request: &Req,
    ) -> Result<Resp, PartyError> {
        let result = self.call(op, request).await;
        log.record(PARTY, op.infno(), request, result.as_ref()).await;
        result
    }
}
