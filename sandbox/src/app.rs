//! The shared sandbox: configuration, every hospital's keys in both directions, the parties'
//! state, the fault settings, and the helpers every endpoint uses (fault injection per
//! endpoint, ids, time).

use crate::credentials::{Credentials, HospitalCredentials};
use crate::faults::{FaultConfig, Injected};
use crate::state::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use medpay_crypto::envelope::bank_gateway::{BankGatewayEnvelope, BankGatewayProfile};
use medpay_crypto::envelope::mid_platform::{MidPlatformEnvelope, MidPlatformProfile};
use medpay_crypto::signer::{PrivateKey, PublicKey};
use medpay_schemas::Secret;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Settings of one sandbox run.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// HTTPS listen address of all four parties (paths are prefixed per party).
    pub listen: String,
    /// Credentials, TLS files, statements, recordings.
    pub data_dir: PathBuf,
    /// Lifetime of a payAuthNo.
    pub pay_auth_ttl: Duration,
    /// Delays between callback attempts when the hospital does not acknowledge.
    pub callback_retry: Vec<Duration>,
    /// Write every raw exchange here.
    pub record_dir: Option<PathBuf>,
    /// Faults in force from the start (CLI flags).
    pub faults: FaultConfig,
    /// Loopback port of the SFTP server for statements; `None` = no sshd.
    pub sftp_port: Option<u16>,
    /// Extra CA the callback client trusts (the hospital's), besides the sandbox CA.
    pub callback_ca: Option<PathBuf>,
    /// The bank speaks the legacy RSA2 profile (SHA256withRSA) instead of SM2 (REQ B-1).
    pub bank_legacy_rsa2: bool,
    /// How many hospitals the parties serve (each with its own keys, appIds, merchant ids).
    pub hospitals: usize,
    /// The bank encrypts `biz_content` (SM4) and refuses requests whose business fields travel
    /// in clear (REQ S-4.1b).
    pub bank_encrypt: bool,
    /// Each party also on a listener of its own with its own CA, the mid-platform requiring a
    /// client certificate (`split`).
    pub split_parties: bool,
    /// The parties play their joint-test environments (REQ O-5): mixed orders must carry
    /// `med_ins_test_env` = true, and the hospital files say `stage = "joint_test"`. Otherwise
    /// they play production, where `med_ins_test_env` = true is refused.
    pub joint_test: bool,
    /// The digest the bank expects in `payer_id_digest` (MD5, as the channels document).
    pub bank_id_digest: medpay_crypto::id_digest::IdDigest,
    /// The bank also notifies each self-pay order's payment to its `mer_url`.
    pub selfpay_notices: bool,
    /// The bank writes its self-pay statements in GBK, in its own layout (a memo column in
    /// Chinese), and the hospital files say so.
    pub statements_gbk: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:9443".into(),
            data_dir: PathBuf::from(".data/sandbox"),
            pay_auth_ttl: Duration::from_secs(300),
            callback_retry: [2, 5, 10, 30, 60].into_iter().map(Duration::from_secs).collect(),
            record_dir: None,
            faults: FaultConfig::default(),
            sftp_port: None,
            hospitals: 1,
            bank_encrypt: false,
            split_parties: false,
            joint_test: false,
            bank_id_digest: Default::default(),
            selfpay_notices: false,
            statements_gbk: false,
            callback_ca: None,
            bank_legacy_rsa2: false,
        }
    }
}

/// One hospital's keys as the sandbox parties use them.
/// The cipher of an encrypted `biz_content` at the sandbox bank (the profile's choice; SM4 by
/// default, as REQ S-4.1b's national algorithms).
pub const BANK_BIZ_CIPHER: medpay_crypto::symmetric::SymmetricCipher =
    medpay_crypto::symmetric::SymmetricCipher::SM4_ECB;

pub struct HospitalKeys {
    pub creds: HospitalCredentials,
    pub mid: MidPlatformEnvelope,
    pub platform_key: PrivateKey,
    pub hospital_mid_public: PublicKey,
    pub bank: BankGatewayEnvelope,
    pub bank_key: PrivateKey,
    pub hospital_bank_public: PublicKey,
    pub alipay: BankGatewayEnvelope,
    pub alipay_platform_key: PrivateKey,
    pub hospital_alipay_public: PublicKey,
    /// The core's reply key and the hospital's call key (`cainfo`, SM2 over SM3).
    pub core_key: PrivateKey,
    pub hospital_core_public: PublicKey,
}

/// The insurance core's message signature scheme at the sandbox (the reference profile's).
pub fn core_scheme() -> medpay_crypto::signer::SignatureScheme {
    medpay_crypto::signer::SignatureScheme::sm2(Default::default())
}

impl HospitalKeys {
    fn load(c: &HospitalCredentials, legacy: bool, encrypt: bool) -> anyhow::Result<Self> {
        let mid_profile = MidPlatformProfile::default();
        let sm2_profile = BankGatewayProfile::default();
        let (mut bank_profile, bank_private, hospital_public) = match (&c.bank.legacy_rsa, legacy) {
            (Some(rsa), true) => {
                (BankGatewayProfile::legacy_rsa2(), rsa.bank_private_key.as_str(), rsa.hospital_public_key.as_str())
            }
            (None, true) => anyhow::bail!("the legacy RSA2 profile needs RSA keys in the credentials"),
            (_, false) => (sm2_profile.clone(), c.bank.bank_private_key.as_str(), c.bank.hospital_public_key.as_str()),
        };
        let biz_key = match (encrypt, &c.bank.biz_key) {
            (true, Some(k)) => {
                bank_profile.encrypt = Some(BANK_BIZ_CIPHER);
                Some(Secret::new(hex::decode(k)?))
            }
            (true, None) => anyhow::bail!("the bank encrypts biz_content but hospital {} has no biz_key", c.org_code),
            (false, _) => None,
        };
        let core = c
            .core
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("hospital {} has no core keys in the credentials", c.org_code))?;
        Ok(Self {
            mid: MidPlatformEnvelope::new(
                mid_profile.clone(),
                c.mid_platform.app_id.clone(),
                Secret::new(c.mid_platform.app_secret.clone()),
            )?,
            platform_key: PrivateKey::from_text(&mid_profile.sign, &c.mid_platform.platform_private_key)?,
            hospital_mid_public: PublicKey::from_text(&mid_profile.sign, &c.mid_platform.hospital_public_key)?,
            bank: BankGatewayEnvelope::new(bank_profile.clone(), c.bank.app_id.clone(), biz_key)?,
            bank_key: PrivateKey::from_text(&bank_profile.sign, bank_private)?,
            hospital_bank_public: PublicKey::from_text(&bank_profile.sign, hospital_public)?,
            alipay: BankGatewayEnvelope::new(
                BankGatewayProfile::alipay_auth_query(),
                c.channel.alipay_app_id.clone(),
                None,
            )?,
            alipay_platform_key: PrivateKey::from_text(&sm2_profile.sign, &c.channel.alipay_platform_private_key)?,
            hospital_alipay_public: PublicKey::from_text(&sm2_profile.sign, &c.channel.alipay_hospital_public_key)?,
            core_key: PrivateKey::from_text(&core_scheme(), &core.core_private_key)?,
            hospital_core_public: PublicKey::from_text(&core_scheme(), &core.hospital_public_key)?,
            creds: c.clone(),
        })
    }
}

pub struct Inner {
    pub config: SandboxConfig,
    pub credentials: Credentials,
    pub hospitals: Vec<HospitalKeys>,
    pub state: Mutex<State>,
    /// The books may have changed since they were last written (`books`).
    pub dirty: std::sync::atomic::AtomicBool,
    pub faults: Mutex<FaultConfig>,
    /// HTTPS client for the bank's callbacks (trusts the sandbox CA and `callback_ca`).
    pub callback_client: reqwest::Client,
}

#[derive(Clone)]
pub struct App(pub Arc<Inner>);

impl std::ops::Deref for App {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl App {
    pub fn new(
        config: SandboxConfig,
        credentials: Credentials,
        callback_client: reqwest::Client,
    ) -> anyhow::Result<Self> {
        let legacy = config.bank_legacy_rsa2;
        let hospitals = credentials
            .hospitals
            .iter()
            .map(|c| HospitalKeys::load(c, legacy, config.bank_encrypt))
            .collect::<anyhow::Result<Vec<_>>>()?;
        config.faults.check().map_err(anyhow::Error::msg)?;
        let faults = Mutex::new(config.faults.clone());
        let books = crate::books::load(&config.data_dir)?;
        let dirty = std::sync::atomic::AtomicBool::new(false);
        Ok(App(Arc::new(Inner {
            config,
            credentials,
            hospitals,
            state: Mutex::new(books),
            dirty,
            faults,
            callback_client,
        })))
    }

    /// Poisoning only follows a panic in another handler; the state is still consistent
    /// because every mutation is completed inside one critical section.
    ///
    /// Every access counts as a change for the books on disk (a snapshot too many costs a
    /// write; a change missed would cost an order).
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.dirty.store(true, std::sync::atomic::Ordering::Release);
        self.state_untracked()
    }

    /// The state for reading only, not marking the books changed.
    pub fn state_untracked(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn faults(&self) -> FaultConfig {
        self.faults.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    pub fn hospital_by_mid_app_id(&self, app_id: &str) -> Option<&HospitalKeys> {
        self.hospitals.iter().find(|h| h.creds.mid_platform.app_id == app_id)
    }

    pub fn hospital_by_bank_app_id(&self, app_id: &str) -> Option<&HospitalKeys> {
        self.hospitals.iter().find(|h| h.creds.bank.app_id == app_id)
    }

    pub fn hospital_by_alipay_app_id(&self, app_id: &str) -> Option<&HospitalKeys> {
        self.hospitals.iter().find(|h| h.creds.channel.alipay_app_id == app_id)
    }

    pub fn hospital_by_org(&self, org: &str) -> Option<&HospitalKeys> {
        self.hospitals.iter().find(|h| h.creds.org_code == org)
    }

    /// Counts a call to `endpoint` and applies the configured endpoint fault, if any:
    /// `Some(response)` means "answer this instead of doing the work".
    pub async fn inject(&self, endpoint: &str) -> Option<Response> {
        let fault = self.faults().global.endpoints.get(endpoint).cloned()?;
        let call_no = {
            let mut st = self.state();
            let n = st.calls.entry(endpoint.to_string()).or_insert(0);
            *n += 1;
            *n
        };
        match fault.decide(call_no) {
            Injected::None => None,
            Injected::Error => {
                tracing::info!(endpoint, call_no, "injected 503");
                Some(
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("sandbox: injected failure on {endpoint} call {call_no}"),
                    )
                        .into_response(),
                )
            }
            Injected::Hang(secs) => {
                tracing::info!(endpoint, call_no, secs, "injected hang");
                tokio::time::sleep(Duration::from_secs(secs)).await;
                Some(
                    (StatusCode::GATEWAY_TIMEOUT, format!("sandbox: injected timeout on {endpoint} call {call_no}"))
                        .into_response(),
                )
            }
        }
    }
}
