//! The keys and secrets each party issued to each hospital: the credentials JSON the sandbox
//! writes to `credentials.json`, which is also what a production deployment fills in from the
//! bank's and the platform's onboarding letters (sealed at rest with `medpay secrets seal`).

use medpay_schemas::Secret;
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct ParamsFile {
    pub hospitals: Vec<HospitalParams>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct HospitalParams {
    pub org_code: medpay_schemas::OrgCode,
    pub org_name: String,
    pub channel: ChannelParams,
    pub mid_platform: MidPlatformParams,
    pub bank: BankParams,
    /// The insurance core's signature keys; required when the core profile is signed.
    #[serde(default)]
    pub core: Option<CoreParams>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct CoreParams {
    /// The hospital's key that signs its calls (`cainfo`).
    pub hospital_private_key: Secret<String>,
    /// The public key the hospital registered with the core, when recorded.
    #[serde(default)]
    pub hospital_public_key: Option<String>,
    /// The core's key that signs its replies.
    pub core_public_key: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ChannelParams {
    pub partner_id: String,
    pub partner_secret: Secret<String>,
    /// Alipay's open platform, for hospitals that take Alipay: the hospital's app, its SM2 key,
    /// Alipay's public key and the 机构渠道认证编码.
    #[serde(default)]
    pub alipay_app_id: Option<String>,
    #[serde(default)]
    pub alipay_hospital_private_key: Option<Secret<String>>,
    #[serde(default)]
    pub alipay_platform_public_key: Option<String>,
    #[serde(default)]
    pub org_chnl_crtf_code: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct MidPlatformParams {
    pub app_id: String,
    pub app_secret: Secret<String>,
    pub hospital_private_key: Secret<String>,
    /// The public key the hospital registered with the platform, when recorded: `medpay config
    /// check` proves the private key matches it.
    #[serde(default)]
    pub hospital_public_key: Option<String>,
    pub platform_public_key: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct BankParams {
    pub app_id: String,
    pub mer_id: String,
    pub hospital_id: String,
    pub sub_mchid: medpay_schemas::SubMchId,
    pub shop_appid: String,
    pub hospital_private_key: Secret<String>,
    /// The public key the hospital registered with the bank, when recorded.
    #[serde(default)]
    pub hospital_public_key: Option<String>,
    pub bank_public_key: String,
    /// The `biz_content` key (hex) the bank issued, for a `[bank.profile.encrypt]` profile.
    #[serde(default)]
    pub biz_key: Option<Secret<String>>,
}
