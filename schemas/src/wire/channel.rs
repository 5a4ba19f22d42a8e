//! Payment channel medical-insurance app (WeChat / Alipay): user authorisation,
//! `authCode` -> `payAuthNo` (docs/PROTOCOLS.md §1.1). Request signing of the WeChat variant
//! (the `god-portal-*` HMAC headers) is in `medpay-crypto::envelope::channel`.

use crate::secret::Secret;
use serde::{Deserialize, Serialize};

/// WeChat's medical-insurance user query (authCode → payAuthNo), under the party's base URL.
pub const WECHAT_USER_QUERY_PATH: &str = "/api/mipuserquery/userQuery/{partner_id}";
/// Alipay's open-platform gateway, under the party's base URL.
pub const ALIPAY_GATEWAY_PATH: &str = "/gateway.do";

/// Which channel the patient authorised with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    Wechat,
    Alipay,
}

/// WeChat `POST .../api/mipuserquery/userQuery/{partnerId}` body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WechatUserQueryRequest {
    /// The authCode returned to the hospital page by the authorisation mini-program.
    pub qrcode: Secret<String>,
    /// The user's openid in the hospital's appid.
    pub openid: String,
}

/// WeChat user-query response. Exactly one of `pay_auth_no` (self) and `family_pay_auth_no`
/// (paying for a relative) is set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WechatUserQueryResponse {
    pub code: i64,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub pay_auth_no: Option<Secret<String>>,
    #[serde(default)]
    pub family_pay_auth_no: Option<Secret<String>>,
    #[serde(default)]
    pub user_name: Option<Secret<String>>,
    #[serde(default)]
    pub cert_type: Option<String>,
    #[serde(default)]
    pub cert_no: Option<Secret<String>>,
    /// "lng,lat" of the user when authorising, used as `uldLatlnt`.
    #[serde(default)]
    pub user_longitude_latitude: Option<String>,
}

/// Alipay `alipay.commerce.medical.authinfo.auth.query` business parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlipayAuthQueryRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alipay_user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_id: Option<String>,
    pub auth_code: Secret<String>,
    /// "04107" mobile payment.
    pub ol_biz_type_code: String,
    pub org_app_id: String,
    pub org_chnl_crtf_code: String,
    /// 定点机构代码.
    pub org_code: crate::OrgCode,
    /// Our request id.
    pub req_biz_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_url: Option<String>,
}

/// Alipay `MedicalNationalPayAuthInfo`. `pay_auth_no` only when `auth_stas` = "1".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlipayAuthInfo {
    pub auth_stas: String,
    #[serde(default)]
    pub auth_no: Option<String>,
    #[serde(default)]
    pub auth_url: Option<String>,
    #[serde(default)]
    pub pay_auth_no: Option<Secret<String>>,
    /// "0" self, "1" relative.
    #[serde(default)]
    pub rels_pay_flag: Option<String>,
    #[serde(default)]
    pub medical_card_id: Option<Secret<String>>,
    #[serde(default)]
    pub req_biz_no: Option<String>,
}

/// What either channel's authorisation yields, in our vocabulary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Authorisation {
    pub channel: ChannelKind,
    pub pay_auth_no: Secret<String>,
    /// True when the patient pays for a relative (family_pay_auth_no / rels_pay_flag = 1).
    pub for_relative: bool,
    pub location: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorisationError {
    #[error("the channel refused the authorisation: {0}")]
    Refused(String),
    #[error("the channel's reply carries no payAuthNo (authorisation not completed)")]
    NoPayAuthNo,
}

impl TryFrom<WechatUserQueryResponse> for Authorisation {
    type Error = AuthorisationError;
    fn try_from(r: WechatUserQueryResponse) -> Result<Self, Self::Error> {
        if r.code != 0 {
            return Err(AuthorisationError::Refused(format!("code {}: {}", r.code, r.message)));
        }
        let (pay_auth_no, for_relative) = match (r.pay_auth_no, r.family_pay_auth_no) {
            (Some(p), _) if !p.expose().is_empty() => (p, false),
            (_, Some(f)) if !f.expose().is_empty() => (f, true),
            _ => return Err(AuthorisationError::NoPayAuthNo),
        };
        Ok(Authorisation {
            channel: ChannelKind::Wechat,
            pay_auth_no,
            for_relative,
            location: r.user_longitude_latitude,
        })
    }
}

impl TryFrom<AlipayAuthInfo> for Authorisation {
    type Error = AuthorisationError;
    fn try_from(r: AlipayAuthInfo) -> Result<Self, Self::Error> {
        if r.auth_stas != "1" {
            return Err(AuthorisationError::Refused(format!("auth_stas {}", r.auth_stas)));
        }
        let pay_auth_no = r.pay_auth_no.filter(|p| !p.expose().is_empty()).ok_or(AuthorisationError::NoPayAuthNo)?;
        Ok(Authorisation {
            channel: ChannelKind::Alipay,
            pay_auth_no,
            for_relative: r.rels_pay_flag.as_deref() == Some("1"),
            location: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wechat_family_auth_is_a_relative_payment() {
        let r: WechatUserQueryResponse = serde_json::from_str(r#"{"code":0,"family_pay_auth_no":"AUTH123"}"#).unwrap();
        let a = Authorisation::try_from(r).unwrap();
        assert!(a.for_relative);
        assert_eq!(a.pay_auth_no.expose(), "AUTH123");
        let none: WechatUserQueryResponse = serde_json::from_str(r#"{"code":0}"#).unwrap();
        assert_eq!(Authorisation::try_from(none).unwrap_err(), AuthorisationError::NoPayAuthNo);
    }

    #[test]
    fn alipay_needs_auth_stas_1() {
        let r: AlipayAuthInfo = serde_json::from_str(r#"{"auth_stas":"0","pay_auth_no":"AUTH1"}"#).unwrap();
        assert!(matches!(Authorisation::try_from(r), Err(AuthorisationError::Refused(_))));
    }
}
