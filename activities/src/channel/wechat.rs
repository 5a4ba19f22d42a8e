//! WeChat's medical-insurance authorisation: authCode -> payAuthNo, signed with the
//! `god-portal-*` HMAC headers (docs/PROTOCOLS.md §1.1).

use crate::http::{PartyError, now_ms, send};
use medpay_crypto::envelope::channel::{HEADER_REQUEST_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, channel_signature};
use medpay_schemas::Secret;
use medpay_schemas::wire::channel::{
    Authorisation, AuthorisationError, WechatUserQueryRequest, WechatUserQueryResponse,
};

use super::PARTY;

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
