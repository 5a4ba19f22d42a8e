//! Per-hospital connections to the four parties, built from the hospital's onboarding
//! parameters (the JSON shape the sandbox writes to `credentials.json`, which is also what a
//! production deployment fills in from the bank's and the platform's onboarding letters).

use crate::bank::BankClient;
use crate::channel::WechatClient;
use crate::core::CoreClient;
use crate::http::https_client;
use crate::mid_platform::MidPlatformClient;
use medpay_crypto::envelope::bank_gateway::{BankGatewayEnvelope, BankGatewayProfile};
use medpay_crypto::envelope::mid_platform::{MidPlatformEnvelope, MidPlatformProfile};
use medpay_crypto::signer::{PrivateKey, PublicKey};
use medpay_schemas::Secret;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

#[derive(Clone, Debug, Deserialize)]
pub struct ParamsFile {
    pub hospitals: Vec<HospitalParams>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct HospitalParams {
    pub org_code: String,
    pub org_name: String,
    pub channel: ChannelParams,
    pub mid_platform: MidPlatformParams,
    pub bank: BankParams,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ChannelParams {
    pub partner_id: String,
    pub partner_secret: Secret<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct MidPlatformParams {
    pub app_id: String,
    pub app_secret: Secret<String>,
    pub hospital_private_key: Secret<String>,
    pub platform_public_key: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct BankParams {
    pub app_id: String,
    pub mer_id: String,
    pub hospital_id: String,
    pub sub_mchid: String,
    pub shop_appid: String,
    pub hospital_private_key: Secret<String>,
    pub bank_public_key: String,
}

/// One hospital's clients.
#[derive(Clone)]
pub struct HospitalParties {
    pub params: HospitalParams,
    pub wechat: WechatClient,
    pub core: CoreClient,
    pub mid: MidPlatformClient,
    pub bank: BankClient,
}

#[derive(Clone, Default)]
pub struct Parties {
    pub hospitals: BTreeMap<String, HospitalParties>,
    /// Where the bank calls back (our public callback URL).
    pub callback_url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PartiesError {
    #[error("cannot read hospital parameters {0}: {1}")]
    Read(String, String),
    #[error("hospital {0}: {1}")]
    Bad(String, String),
}

impl Parties {
    /// `base_url` serves every party under `/wechat`, `/core/...`, `/mid`, `/bank` (the sandbox's
    /// layout); `ca` is the only CA trusted for them.
    pub fn load(params_file: &Path, base_url: &str, ca: &Path, callback_url: &str) -> Result<Self, PartiesError> {
        // Private keys and appSecrets: the file may be sealed at rest (medpay_crypto::sealed).
        let text = medpay_crypto::sealed::read_secret_file(params_file).map_err(|e| PartiesError::Read(params_file.display().to_string(), e.to_string()))?;
        let file: ParamsFile = serde_json::from_str(&text).map_err(|e| PartiesError::Read(params_file.display().to_string(), e.to_string()))?;
        let http = https_client(&[ca], Duration::from_secs(10)).map_err(|e| PartiesError::Read(ca.display().to_string(), e.to_string()))?;
        let mut hospitals = BTreeMap::new();
        for p in file.hospitals {
            let bad = |e: medpay_crypto::CryptoError| PartiesError::Bad(p.org_code.clone(), e.to_string());
            let mid_profile = MidPlatformProfile::default();
            let bank_profile = BankGatewayProfile::default();
            let h = HospitalParties {
                wechat: WechatClient { http: http.clone(), base_url: format!("{base_url}/wechat"), partner_id: p.channel.partner_id.clone(), partner_secret: p.channel.partner_secret.clone() },
                core: CoreClient {
                    http: http.clone(),
                    url: format!("{base_url}/core/fsi/api/rsfComIfsService/callService"),
                    org_code: p.org_code.clone(),
                    org_name: p.org_name.clone(),
                    mdtrtarea_admvs: "510100".into(),
                    person_info_infno: "queryPsninfobyZFB".into(),
                    session: Default::default(),
                },
                mid: MidPlatformClient {
                    http: http.clone(),
                    base_url: format!("{base_url}/mid"),
                    envelope: MidPlatformEnvelope::new(mid_profile.clone(), p.mid_platform.app_id.clone(), p.mid_platform.app_secret.clone()).map_err(bad)?,
                    hospital_key: PrivateKey::from_text(&mid_profile.sign, p.mid_platform.hospital_private_key.expose()).map_err(bad)?,
                    platform_public: PublicKey::from_text(&mid_profile.sign, &p.mid_platform.platform_public_key).map_err(bad)?,
                },
                bank: BankClient {
                    http: http.clone(),
                    base_url: format!("{base_url}/bank"),
                    envelope: BankGatewayEnvelope::new(bank_profile.clone(), p.bank.app_id.clone(), None).map_err(bad)?,
                    hospital_key: PrivateKey::from_text(&bank_profile.sign, p.bank.hospital_private_key.expose()).map_err(bad)?,
                    bank_public: PublicKey::from_text(&bank_profile.sign, &p.bank.bank_public_key).map_err(bad)?,
                },
                params: p.clone(),
            };
            hospitals.insert(p.org_code.clone(), h);
        }
        Ok(Self { hospitals, callback_url: callback_url.into() })
    }

    pub fn by_bank_app_id(&self, app_id: &str) -> Option<&HospitalParties> {
        self.hospitals.values().find(|h| h.params.bank.app_id == app_id)
    }
}
