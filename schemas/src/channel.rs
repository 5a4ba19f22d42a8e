//! The channel the patient pays through (WeChat or Alipay) and where in it they opened the
//! hospital's service: what the HIS tells us, and the bank's codes for both.

use serde::{Deserialize, Serialize};

/// The channel in which the patient authorised (the HIS knows it: the app the patient used).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// WeChat medical-insurance authorisation (user query with the partner's HMAC).
    #[default]
    Wechat,
    /// Alipay's `alipay.commerce.medical.authinfo.auth.query` (signed open-platform form).
    Alipay,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wechat => "wechat",
            Self::Alipay => "alipay",
        }
    }

    pub fn is_wechat(&self) -> bool {
        *self == Self::Wechat
    }

    /// The bank's `pay_mode` (docs/PROTOCOLS.md §4.2): 9 WeChat, 10 Alipay.
    pub fn pay_mode(self) -> &'static str {
        match self {
            Self::Wechat => "9",
            Self::Alipay => "10",
        }
    }

    /// The bank's `access_type` (docs/PROTOCOLS.md §4.2: 5 app, 7 WeChat official account,
    /// 8 Alipay life account, 9 mini-program) for the patient's entry; absent, the channel's
    /// usual one: WeChat's mini-program, Alipay's life account.
    pub fn access_type(self, access: Option<Access>) -> &'static str {
        match (self, access) {
            (_, Some(Access::App)) => "5",
            (_, Some(Access::MiniProgram)) | (Self::Wechat, None) => "9",
            (Self::Wechat, Some(Access::OfficialAccount)) => "7",
            (Self::Alipay, Some(Access::OfficialAccount) | None) => "8",
        }
    }
}

/// Where in the channel the patient opened the hospital's service (REQ §5 names WeChat's
/// official account 公众号 and Alipay's life account 生活号, its Alipay counterpart).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// 小程序, in WeChat or Alipay.
    MiniProgram,
    /// 公众号 in WeChat, 生活号 (life account) in Alipay.
    OfficialAccount,
    /// The hospital's own app.
    App,
}
