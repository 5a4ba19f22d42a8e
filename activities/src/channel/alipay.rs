//! Alipay's medical-insurance authorisation: `alipay.commerce.medical.authinfo.auth.query` on
//! the open platform's gateway (signed form, signed reply), authCode -> payAuthNo.

use super::PARTY;
use super::transformers;
use crate::http::{LocalStage, PartyError, now_ms, send};
use medpay_schemas::Secret;
use medpay_schemas::wire::channel::Authorisation;

/// The Alipay adapter: `alipay.commerce.medical.authinfo.auth.query` on the open platform's
/// gateway (signed form, signed reply), authCode -> payAuthNo.
#[derive(Clone)]
pub struct AlipayClient {
    pub http: reqwest::Client,
    /// The gateway URL (e.g. `https://127.0.0.1:9443/alipay/gateway.do`).
    pub url: String,
    pub envelope: medpay_crypto::envelope::bank_gateway::BankGatewayEnvelope,
    pub hospital_key: medpay_crypto::signer::PrivateKey,
    pub alipay_public: medpay_crypto::signer::PublicKey,
    pub org_code: medpay_schemas::OrgCode,
    pub org_chnl_crtf_code: String,
}

impl AlipayClient {
    pub async fn auth_query(&self, auth_code: &Secret<String>, req_biz_no: &str) -> Result<Authorisation, PartyError> {
        use medpay_schemas::wire::channel::AlipayAuthInfo;
        const METHOD: &str = "alipay.commerce.medical.authinfo.auth.query";
        let app = transformers::AlipayApp {
            app_id: &self.envelope.app_id,
            org_code: &self.org_code,
            org_chnl_crtf_code: &self.org_chnl_crtf_code,
        };
        let biz = transformers::alipay_auth_query(&app, auth_code, req_biz_no);
        let biz = serde_json::to_value(&biz).map_err(LocalStage::Encode.of(PARTY))?;
        let sealed = self
            .envelope
            .seal_form("", "", now_ms(), &biz, &self.hospital_key, &[("method", METHOD), ("version", "1.0")])
            .map_err(LocalStage::Sign.of(PARTY))?;
        let (_, text) = send(PARTY, self.http.post(&self.url).form(&sealed.params)).await?;
        let reply = self
            .envelope
            .open_response(&text, &self.alipay_public)
            .map_err(|e| PartyError::Integrity { party: PARTY, detail: e.to_string() })?;
        if reply["code"] != "10000" {
            return Err(PartyError::Rejected {
                party: PARTY,
                code: reply["sub_code"].as_str().or(reply["code"].as_str()).unwrap_or("?").to_string(),
                message: reply["sub_msg"].as_str().unwrap_or_default().to_string(),
            });
        }
        let info: AlipayAuthInfo =
            serde_json::from_value(reply).map_err(|e| PartyError::Integrity { party: PARTY, detail: e.to_string() })?;
        Authorisation::try_from(info).map_err(|e| PartyError::Rejected {
            party: PARTY,
            code: "AUTH".into(),
            message: e.to_string(),
        })
    }
}
