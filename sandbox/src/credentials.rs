//! The sandbox's onboarding parameters: what a bank and the mid-platform would issue to a
//! hospital (REQ O-5, "bank issues API parameters"), generated on first start and kept in
//! `<data dir>/credentials.json` so medpay's configuration stays valid across restarts.
//!
//! The file holds BOTH sides' private keys (the hospital's and the sandbox parties'), because
//! it is a test artefact for one machine. Never reuse these keys anywhere else.

use medpay_crypto::sm2::Sm2PrivateKey;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Credentials {
    pub hospitals: Vec<HospitalCredentials>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct HospitalCredentials {
    pub org_code: String,
    pub org_name: String,
    pub channel: ChannelCredentials,
    pub mid_platform: MidPlatformCredentials,
    pub bank: BankCredentials,
    /// The insurance core's message signature (`cainfo`); made on first start of a sandbox
    /// whose credentials file predates it.
    #[serde(default)]
    pub core: Option<CoreCredentials>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CoreCredentials {
    pub hospital_private_key: String,
    pub hospital_public_key: String,
    /// The core's key (the sandbox signs replies with it).
    pub core_private_key: String,
    pub core_public_key: String,
}

impl CoreCredentials {
    fn generate() -> Result<Self, medpay_crypto::CryptoError> {
        let (hospital_private_key, hospital_public_key) = key_pair()?;
        let (core_private_key, core_public_key) = key_pair()?;
        Ok(Self { hospital_private_key, hospital_public_key, core_private_key, core_public_key })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChannelCredentials {
    /// WeChat med-ins authorisation.
    pub partner_id: String,
    pub partner_secret: String,
    /// Alipay open platform (SM2-signed, `alipay.commerce.medical.authinfo.auth.query`).
    pub alipay_app_id: String,
    pub alipay_hospital_private_key: String,
    pub alipay_hospital_public_key: String,
    pub alipay_platform_private_key: String,
    pub alipay_platform_public_key: String,
    /// 机构渠道认证编码 (org_chnl_crtf_code) issued to the hospital.
    pub org_chnl_crtf_code: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct MidPlatformCredentials {
    pub app_id: String,
    pub app_secret: String,
    /// Hex of the hospital's SM2 scalar (the hospital signs requests with it).
    pub hospital_private_key: String,
    pub hospital_public_key: String,
    /// The platform's key (the sandbox signs replies with it).
    pub platform_private_key: String,
    pub platform_public_key: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BankCredentials {
    pub app_id: String,
    pub mer_id: String,
    /// Bank-assigned hospital id (mixed-order `hospital_id`).
    pub hospital_id: String,
    pub sub_mchid: String,
    pub shop_appid: String,
    pub hospital_private_key: String,
    pub hospital_public_key: String,
    pub bank_private_key: String,
    pub bank_public_key: String,
    /// RSA-2048 PEM keys for the legacy RSA2 profile (REQ B-1), made on first use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_rsa: Option<RsaKeys>,
    /// The `biz_content` key (SM4, hex) when the bank encrypts the business fields (REQ S-4.1b),
    /// made on first use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub biz_key: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RsaKeys {
    pub hospital_private_key: String,
    pub hospital_public_key: String,
    pub bank_private_key: String,
    pub bank_public_key: String,
}

/// RSA keys come from the OpenSSL CLI: pure-Rust RSA key generation takes many seconds in a
/// debug build, and OpenSSL is installed wherever the sandbox runs.
fn rsa_pair() -> anyhow::Result<(String, String)> {
    use std::process::Command;
    let key =
        Command::new("openssl").args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]).output()?;
    anyhow::ensure!(key.status.success(), "openssl genpkey failed: {}", String::from_utf8_lossy(&key.stderr));
    let mut child = Command::new("openssl")
        .args(["pkey", "-pubout"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    std::io::Write::write_all(child.stdin.as_mut().ok_or_else(|| anyhow::anyhow!("no stdin"))?, &key.stdout)?;
    let public = child.wait_with_output()?;
    anyhow::ensure!(public.status.success(), "openssl pkey -pubout failed");
    Ok((String::from_utf8(key.stdout)?, String::from_utf8(public.stdout)?))
}

impl RsaKeys {
    pub fn generate() -> anyhow::Result<Self> {
        let (hospital_private_key, hospital_public_key) = rsa_pair()?;
        let (bank_private_key, bank_public_key) = rsa_pair()?;
        Ok(Self { hospital_private_key, hospital_public_key, bank_private_key, bank_public_key })
    }
}

fn key_pair() -> Result<(String, String), medpay_crypto::CryptoError> {
    let k = Sm2PrivateKey::generate()?;
    Ok((k.to_hex(), k.public_key().to_hex()))
}

fn hex_id(bytes: usize) -> Result<String, medpay_crypto::CryptoError> {
    let mut v = vec![0u8; bytes];
    for b in v.iter_mut() {
        *b = medpay_crypto::random::random_bytes::<1>()?[0];
    }
    Ok(hex::encode_upper(v))
}

impl HospitalCredentials {
    /// Fresh parameters for one hospital.
    pub fn generate(org_code: &str, org_name: &str, index: usize) -> Result<Self, medpay_crypto::CryptoError> {
        let (mh, mhp) = key_pair()?;
        let (mp, mpp) = key_pair()?;
        let (bh, bhp) = key_pair()?;
        let (bb, bbp) = key_pair()?;
        let (ah, ahp) = key_pair()?;
        let (ap, app) = key_pair()?;
        Ok(Self {
            org_code: org_code.into(),
            org_name: org_name.into(),
            channel: ChannelCredentials {
                partner_id: format!("5000{index:04}"),
                partner_secret: hex_id(16)?,
                alipay_app_id: format!("2021000{index:09}"),
                alipay_hospital_private_key: ah,
                alipay_hospital_public_key: ahp,
                alipay_platform_private_key: ap,
                alipay_platform_public_key: app,
                org_chnl_crtf_code: format!("BqK1kMStlhVDgN2uHf4EsLK9W2SxpkPiFnHK{index:04}"),
            },
            mid_platform: MidPlatformCredentials {
                app_id: hex_id(16)?,
                app_secret: hex_id(16)?,
                hospital_private_key: mh,
                hospital_public_key: mhp,
                platform_private_key: mp,
                platform_public_key: mpp,
            },
            bank: BankCredentials {
                app_id: format!("100{index:05}"),
                mer_id: format!("510100{index:04}"),
                hospital_id: format!("SCH{index:04}"),
                sub_mchid: format!("19000{index:05}"),
                shop_appid: format!("wxsandbox{index:04}"),
                hospital_private_key: bh,
                hospital_public_key: bhp,
                bank_private_key: bb,
                bank_public_key: bbp,
                legacy_rsa: None,
                biz_key: None,
            },
            core: Some(CoreCredentials::generate()?),
        })
    }
}

impl Credentials {
    /// Loads `path` (generating it if absent) with at least `hospitals` hospitals: the first is
    /// H51010500001, the n-th H5101050000n; hospitals added later keep the earlier ones' keys.
    pub fn load_or_generate(path: &Path, hospitals: usize) -> anyhow::Result<Self> {
        let mut c = if path.is_file() {
            let text = std::fs::read_to_string(path)?;
            serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{} is not a sandbox credentials file: {e}", path.display()))?
        } else {
            Credentials { hospitals: Vec::new() }
        };
        let had = c.hospitals.len();
        let mut changed = false;
        for h in c.hospitals.iter_mut().filter(|h| h.core.is_none()) {
            h.core = Some(CoreCredentials::generate()?);
            changed = true;
        }
        while c.hospitals.len() < hospitals.max(1) {
            let n = c.hospitals.len() + 1;
            let name = if n == 1 {
                "四川省医保沙箱医院".to_string()
            } else {
                format!("四川省医保沙箱第{n}医院")
            };
            c.hospitals.push(HospitalCredentials::generate(&Self::org_code(n), &name, n)?);
        }
        if changed || c.hospitals.len() != had {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(path, serde_json::to_string_pretty(&c)?)?;
        }
        Ok(c)
    }

    /// The n-th sandbox hospital's org code (1-based).
    pub fn org_code(n: usize) -> String {
        format!("H5101050{n:04}")
    }

    /// Makes sure every hospital has legacy RSA keys, saving the file if some were made.
    pub fn ensure_legacy_rsa(&mut self, path: &Path) -> anyhow::Result<()> {
        let mut changed = false;
        for h in &mut self.hospitals {
            if h.bank.legacy_rsa.is_none() {
                h.bank.legacy_rsa = Some(RsaKeys::generate()?);
                changed = true;
            }
        }
        if changed {
            std::fs::write(path, serde_json::to_string_pretty(self)?)?;
        }
        Ok(())
    }

    /// Makes sure every hospital has a `biz_content` key, saving the file if some were made.
    pub fn ensure_biz_keys(&mut self, path: &Path) -> anyhow::Result<()> {
        let mut changed = false;
        for h in &mut self.hospitals {
            if h.bank.biz_key.is_none() {
                h.bank.biz_key = Some(hex::encode(medpay_crypto::random::random_bytes::<16>()?));
                changed = true;
            }
        }
        if changed {
            std::fs::write(path, serde_json::to_string_pretty(self)?)?;
        }
        Ok(())
    }

    pub fn by_partner_id(&self, partner_id: &str) -> Option<&HospitalCredentials> {
        self.hospitals.iter().find(|h| h.channel.partner_id == partner_id)
    }
}
