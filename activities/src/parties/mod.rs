//! Per-hospital connections to the four parties, built from each hospital's onboarding
//! configuration (`onboarding`: endpoints, TLS, profiles, codes) and the keys the parties issued
//! (`params`). A hospital whose configuration cannot be used is refused by name and reason; the
//! others are served.

pub mod facts;
pub mod onboarding;
pub mod params;

use crate::bank::BankClient;
use crate::channel::{AlipayClient, WechatClient};
use crate::core::CoreClient;
use crate::endpoint::party_client;
use crate::mid_platform::MidPlatformClient;
use medpay_crypto::envelope::bank_gateway::BankGatewayEnvelope;
use medpay_crypto::envelope::mid_platform::MidPlatformEnvelope;
use medpay_crypto::signer::{PrivateKey, PublicKey};
use onboarding::{HospitalConfig, Party};
pub use params::{BankParams, ChannelParams, HospitalParams, MidPlatformParams, ParamsFile};
use std::collections::BTreeMap;
use std::path::Path;

/// One hospital's clients.
#[derive(Clone)]
pub struct HospitalParties {
    pub config: HospitalConfig,
    pub params: HospitalParams,
    pub wechat: WechatClient,
    /// When the hospital takes Alipay (`[alipay]` and its credentials).
    pub alipay: Option<AlipayClient>,
    pub core: CoreClient,
    pub mid: MidPlatformClient,
    pub bank: BankClient,
    /// The onboarding facts' test persons' openids: the rollout gate lets them in before live.
    pub test_openids: std::collections::BTreeSet<String>,
}

#[derive(Clone, Default)]
pub struct Parties {
    pub hospitals: BTreeMap<medpay_schemas::OrgCode, HospitalParties>,
    /// Where the bank calls back (our public callback URL).
    pub callback_url: String,
    /// Hospitals whose configuration could not be used: (org code or file, why). They are not
    /// served; the others are.
    pub refused: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum PartiesError {
    #[error("cannot read hospital parameters {0}: {1}")]
    Read(String, String),
    #[error("hospital {0}: {1}")]
    Bad(String, String),
}

impl Parties {
    /// The quick start's shape: one credentials file for every hospital, every party on one
    /// listener in the sandbox's layout (`HospitalConfig::sandbox_layout`), one CA.
    pub fn load(params_file: &Path, base_url: &str, ca: &Path, callback_url: &str) -> Result<Self, PartiesError> {
        Ok(Self::from_configs(Self::single_listener_configs(params_file, base_url, ca)?, Vec::new(), callback_url))
    }

    /// The hospitals of one credentials file, every party at one listener in the sandbox's
    /// layout; Alipay only for the hospitals whose credentials carry it.
    pub fn single_listener_configs(
        params_file: &Path,
        base_url: &str,
        ca: &Path,
    ) -> Result<Vec<HospitalConfig>, PartiesError> {
        let file = read_params(params_file)?;
        Ok(file
            .hospitals
            .iter()
            .map(|h| {
                let mut c = HospitalConfig::sandbox_layout(h.org_code.clone(), &h.org_name, params_file, base_url, ca);
                if h.channel.alipay_app_id.is_none() {
                    c.alipay = None;
                }
                c
            })
            .collect())
    }

    /// One TOML file per hospital in `dir` (`onboarding`).
    pub fn load_dir(dir: &Path, callback_url: &str) -> Result<Self, PartiesError> {
        let (configs, refused) =
            onboarding::read_dir(dir).map_err(|e| PartiesError::Read(dir.display().to_string(), e.to_string()))?;
        Ok(Self::from_configs(configs, refused, callback_url))
    }

    /// The hospitals' clients; those that cannot be built join `refused` with the reason.
    pub fn from_configs(configs: Vec<HospitalConfig>, mut refused: Vec<(String, String)>, callback_url: &str) -> Self {
        let mut hospitals = BTreeMap::new();
        let mut credentials: BTreeMap<std::path::PathBuf, Result<ParamsFile, String>> = BTreeMap::new();
        for c in configs {
            let file = credentials
                .entry(c.credentials_file.clone())
                .or_insert_with(|| read_params(&c.credentials_file).map_err(|e| e.to_string()));
            let built = match file {
                Ok(f) => match f.hospitals.iter().find(|h| h.org_code == c.org_code) {
                    Some(p) => hospital(&c, p),
                    None => Err(format!("{} has no entry for org_code {}", c.credentials_file.display(), c.org_code)),
                },
                Err(e) => Err(e.clone()),
            };
            match built {
                Ok(h) => {
                    hospitals.insert(c.org_code.clone(), h);
                }
                Err(why) => refused.push((c.org_code.to_string(), why)),
            }
        }
        Self { hospitals, callback_url: callback_url.into(), refused }
    }

    pub fn by_bank_app_id(&self, app_id: &str) -> Option<&HospitalParties> {
        self.hospitals.values().find(|h| h.params.bank.app_id == app_id)
    }
}

impl HospitalParties {
    /// authCode -> payAuthNo at the channel the patient authorised in (WeChat's user query or
    /// Alipay's authinfo query); `request_id` identifies the exchange at the channel.
    pub async fn authorise(
        &self,
        channel: medpay_schemas::payment_flow::Channel,
        auth_code: &medpay_schemas::Secret<String>,
        openid: &str,
        request_id: &str,
    ) -> Result<medpay_schemas::wire::channel::Authorisation, crate::http::PartyError> {
        use medpay_schemas::payment_flow::Channel;
        match (channel, &self.alipay) {
            (Channel::Wechat, _) => self.wechat.user_query(auth_code, openid, request_id).await,
            (Channel::Alipay, Some(alipay)) => alipay.auth_query(auth_code, request_id).await,
            (Channel::Alipay, None) => Err(crate::http::PartyError::Local {
                party: "channel",
                stage: crate::http::LocalStage::Configuration,
                detail: format!(
                    "hospital {} takes no Alipay authorisations ([alipay] is not configured)",
                    self.config.org_code
                ),
            }),
        }
    }
}

fn read_params(file: &Path) -> Result<ParamsFile, PartiesError> {
    // Private keys and appSecrets: the file may be sealed at rest (medpay_crypto::sealed).
    let text = medpay_crypto::sealed::read_secret_file(file)
        .map_err(|e| PartiesError::Read(file.display().to_string(), e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| PartiesError::Read(file.display().to_string(), e.to_string()))
}

/// The bank's `biz_content` key from the credentials (REQ S-4.1b), when there is one.
fn biz_key(p: &HospitalParams) -> Result<Option<medpay_schemas::Secret<Vec<u8>>>, String> {
    p.bank
        .biz_key
        .as_ref()
        .map(|k| {
            hex::decode(k.expose().trim())
                .map(medpay_schemas::Secret::new)
                .map_err(|_| "[bank] biz_key in the credentials is not hex".to_string())
        })
        .transpose()
}

/// The core's signature keys when the hospital's core profile is signed (REQ S-4.1a).
fn core_signature(c: &HospitalConfig, p: &HospitalParams) -> Result<Option<crate::core::CoreSignature>, String> {
    let profile = &c.core.profile;
    if !profile.signed {
        return Ok(None);
    }
    let Some(keys) = &p.core else {
        return Err(format!(
            "[core] calls are signed (core.profile.signed) but {} has no \"core\" keys (hospital_private_key, core_public_key)",
            c.credentials_file.display()
        ));
    };
    Ok(Some(crate::core::CoreSignature {
        scheme: profile.sign.clone(),
        hospital_key: PrivateKey::from_text(&profile.sign, keys.hospital_private_key.expose())
            .map_err(|e| format!("[core] the hospital's private key: {e}"))?,
        core_public: PublicKey::from_text(&profile.sign, &keys.core_public_key)
            .map_err(|e| format!("[core] the core's public key: {e}"))?,
    }))
}

/// The Alipay gateway client: the `[alipay]` endpoint and the Alipay credentials, all or none.
fn alipay_client(
    c: &HospitalConfig,
    p: &HospitalParams,
    (http, e): (reqwest::Client, onboarding::Endpoint),
) -> Result<AlipayClient, String> {
    let ch = &p.channel;
    let (Some(app_id), Some(key), Some(public), Some(crtf)) =
        (&ch.alipay_app_id, &ch.alipay_hospital_private_key, &ch.alipay_platform_public_key, &ch.org_chnl_crtf_code)
    else {
        return Err(format!(
            "[alipay] is configured but {} lacks alipay_app_id, alipay_hospital_private_key, alipay_platform_public_key or org_chnl_crtf_code",
            c.credentials_file.display()
        ));
    };
    let profile = medpay_crypto::envelope::bank_gateway::BankGatewayProfile::alipay_auth_query();
    Ok(AlipayClient {
        http,
        url: e.url("gateway"),
        envelope: BankGatewayEnvelope::new(profile.clone(), app_id.clone(), None)
            .map_err(|e| format!("[alipay] {e}"))?,
        hospital_key: PrivateKey::from_text(&profile.sign, key.expose())
            .map_err(|e| format!("[alipay] the hospital's private key: {e}"))?,
        alipay_public: PublicKey::from_text(&profile.sign, public)
            .map_err(|e| format!("[alipay] Alipay's public key: {e}"))?,
        org_code: c.org_code.clone(),
        org_chnl_crtf_code: crtf.clone(),
    })
}

/// One hospital's clients, or what is wrong with its configuration, in words.
fn hospital(c: &HospitalConfig, p: &HospitalParams) -> Result<HospitalParties, String> {
    let client = |party: Party| {
        let e = c
            .endpoints()
            .into_iter()
            .find(|e| e.party == party)
            .ok_or_else(|| format!("[{}] is not configured", party.key()))?;
        party_client(&e).map(|http| (http, e)).map_err(|err| format!("[{}] {err}", party.key()))
    };
    fn key_error(party: &'static str, what: &'static str) -> impl Fn(medpay_crypto::CryptoError) -> String {
        move |e| format!("[{party}] {what}: {e}")
    }
    let (channel_http, channel) = client(Party::Channel)?;
    let (core_http, core) = client(Party::Core)?;
    let (mid_http, mid) = client(Party::MidPlatform)?;
    let (bank_http, bank) = client(Party::Bank)?;
    let alipay = match &c.alipay {
        None => None,
        Some(_) => Some(alipay_client(c, p, client(Party::Alipay)?)?),
    };
    let mid_profile = &c.mid_platform.profile;
    let bank_profile = &c.bank.profile;
    Ok(HospitalParties {
        wechat: WechatClient {
            http: channel_http,
            user_query_url: channel.url("user_query").replace("{partner_id}", &p.channel.partner_id),
            partner_id: p.channel.partner_id.clone(),
            partner_secret: p.channel.partner_secret.clone(),
        },
        alipay,
        core: CoreClient {
            http: core_http,
            url: core.url("call_service"),
            org_code: p.org_code.clone(),
            org_name: p.org_name.clone(),
            mdtrtarea_admvs: c.mdtrtarea_admvs.clone(),
            person_info_infno: c.core.profile.person_info_infno.clone(),
            session: Default::default(),
            signature: core_signature(c, p)?,
        },
        mid: MidPlatformClient {
            http: mid_http,
            endpoint: mid,
            envelope: MidPlatformEnvelope::new(
                mid_profile.clone(),
                p.mid_platform.app_id.clone(),
                p.mid_platform.app_secret.clone(),
            )
            .map_err(key_error("mid_platform", "appSecret"))?,
            hospital_key: PrivateKey::from_text(&mid_profile.sign, p.mid_platform.hospital_private_key.expose())
                .map_err(key_error("mid_platform", "the hospital's private key"))?,
            platform_public: PublicKey::from_text(&mid_profile.sign, &p.mid_platform.platform_public_key)
                .map_err(key_error("mid_platform", "the platform's public key"))?,
        },
        bank: BankClient {
            http: bank_http,
            endpoint: bank,
            envelope: BankGatewayEnvelope::new(bank_profile.clone(), p.bank.app_id.clone(), biz_key(p)?)
                .map_err(key_error("bank", "the gateway envelope"))?,
            hospital_key: PrivateKey::from_text(&bank_profile.sign, p.bank.hospital_private_key.expose())
                .map_err(key_error("bank", "the hospital's private key"))?,
            bank_public: PublicKey::from_text(&bank_profile.sign, &p.bank.bank_public_key)
                .map_err(key_error("bank", "the bank's public key"))?,
        },
        test_openids: match &c.onboarding_facts {
            Some(file) => facts::OnboardingFacts::read(file)?.test_openids(),
            None => std::collections::BTreeSet::new(),
        },
        config: c.clone(),
        params: p.clone(),
    })
}
