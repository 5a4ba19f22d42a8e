//! The channel adapter (WeChat med-ins authorisation): authCode -> payAuthNo, signed with the
//! `god-portal-*` HMAC headers (docs/PROTOCOLS.md §1.1).

use crate::http::{LocalStage, PartyError, now_ms, send};
use medpay_crypto::envelope::channel::{HEADER_REQUEST_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, channel_signature};
use medpay_schemas::Secret;
use medpay_schemas::wire::channel::{
    Authorisation, AuthorisationError, WechatUserQueryRequest, WechatUserQueryResponse,
};

const PARTY: &str = "channel";

#[derive(Clone)]
pub struct WechatClient {
    pub http: reqwest::Client,
    /// The user-query URL (`[channel]` base_url + path, `{partner_id}` filled in).
    pub user_query_url: String,
    pub partner_id: String,
    pub partner_secret: Secret<String>,
}

impl WechatClient {
    pub async fn user_query(
        &self,
        auth_code: &Secret<String>,
        openid: &str,
        request_id: &str,
    ) -> Result<Authorisation, PartyError> {
        let ts = now_ms().to_string();
        let sig = channel_signature(&self.partner_id, self.partner_secret.expose(), &ts);
        let url = self.user_query_url.clone();
        let body = WechatUserQueryRequest { qrcode: auth_code.clone(), openid: openid.to_string() };
        let (status, text) = send(
            PARTY,
            self.http
                .post(url)
                .header(HEADER_TIMESTAMP, ts)
                .header(HEADER_REQUEST_ID, request_id)
                .header(HEADER_SIGNATURE, sig)
                .json(&body),
        )
        .await?;
        let reply: WechatUserQueryResponse = serde_json::from_str(&text).map_err(|e| PartyError::Unknown {
            party: PARTY,
            detail: format!("HTTP {status}, unreadable reply: {e}"),
        })?;
        let code = reply.code;
        Authorisation::try_from(reply).map_err(|e| match e {
            AuthorisationError::Refused(message) => {
                PartyError::Rejected { party: PARTY, code: code.to_string(), message }
            }
            AuthorisationError::NoPayAuthNo => {
                PartyError::Rejected { party: PARTY, code: code.to_string(), message: e.to_string() }
            }
        })
    }
}

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
        use medpay_schemas::wire::channel::{AlipayAuthInfo, AlipayAuthQueryRequest};
        const METHOD: &str = "alipay.commerce.medical.authinfo.auth.query";
        let biz = AlipayAuthQueryRequest {
            alipay_user_id: None,
            open_id: None,
            auth_code: auth_code.clone(),
            ol_biz_type_code: "04107".into(),
            org_app_id: self.envelope.app_id.clone(),
            org_chnl_crtf_code: self.org_chnl_crtf_code.clone(),
            org_code: self.org_code.clone(),
            req_biz_no: req_biz_no.into(),
            call_url: None,
        };
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
