//! A hospital's onboarding configuration: where each of its four counterparties is, how to reach
//! it (CA or the system's roots, a client certificate, timeouts, per-operation paths), how its
//! envelopes are made (the profile knobs), and the hospital's own codes. One TOML file per
//! hospital in `parties.hospitals_dir`, every field described in
//! `deploy/config/hospital.example.toml`; the keys and secrets stay in a (sealed) credentials
//! file the TOML names. Only this module knows the sandbox's layout, only `endpoint` the default paths.

use medpay_crypto::envelope::bank_gateway::BankGatewayProfile;
use medpay_crypto::envelope::mid_platform::MidPlatformProfile;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use crate::endpoint::*;
use crate::endpoint::{connect_ms, request_ms};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HospitalConfig {
    /// 定点医药机构编码 (Appendix A.2): the hospital's code at the insurance platform.
    pub org_code: medpay_schemas::OrgCode,
    /// 定点医药机构名称.
    pub org_name: String,
    /// The keys and secrets the parties issued (the credentials JSON shape; sealed at rest with
    /// `medpay secrets seal`); the entry with this `org_code` is used.
    pub credentials_file: PathBuf,
    /// 就医地医保区划 (e.g. 510100 Chengdu): where the patient is treated.
    pub mdtrtarea_admvs: String,
    /// 接入阶段 (REQ O-5): the joint test against the parties' test environments, or production.
    #[serde(default)]
    pub stage: Stage,
    /// The onboarding facts file (Appendix A's forms, the test persons): `parties::facts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onboarding_facts: Option<PathBuf>,
    /// What the bank's orders carry that differs by bank or channel.
    #[serde(default)]
    pub bank_orders: BankOrderRules,
    /// 退费授权 (REQ 6.2 step 3): where a refund's payAuthNo comes from when the HIS sends no
    /// fresh authCode.
    #[serde(default)]
    pub refund_authorisation: RefundAuthorisation,
    pub channel: PartyConfig<ChannelProfile>,
    /// Alipay's open-platform gateway, for hospitals that take Alipay too (absent: WeChat only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alipay: Option<PartyConfig<ChannelProfile>>,
    pub core: PartyConfig<CoreProfile>,
    pub mid_platform: PartyConfig<MidPlatformProfile>,
    pub bank: PartyConfig<BankGatewayProfile>,
    /// Where this hospital's statements come from and how they are laid out (absent: the
    /// deployment's `recon.*` SFTP server and the reference layout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statements: Option<StatementsConfig>,
}

/// Where a hospital is on its way to go-live (REQ O-5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// 联调测试: the parties are their test environments; mixed orders say `med_ins_test_env`.
    JointTest,
    /// 生产: real money. `med_ins_test_env` is false (left true it is a known money-loss bug).
    #[default]
    Production,
}

/// Where the payAuthNo of an insurance refund comes from (REQ 6.2 step 3, 获取授权).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundAuthorisation {
    /// From the core / mid-platform, as the standard's table 3 says: no patient action. An
    /// authCode the HIS sends anyway is used instead.
    #[default]
    Platform,
    /// Only from a fresh authorisation at the channel (the HIS sends its authCode), for a
    /// province whose platform offers no refund authorisation.
    Channel,
}

/// 下单规则 / the bank order's rules that are the bank's or the channel's choice.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BankOrderRules {
    /// 证件号摘要算法: the digest of the payer's upper-cased ID number (`payer_id_digest`);
    /// MD5 as the channels document, SM3 where the bank asks for it.
    pub id_digest: medpay_crypto::id_digest::IdDigest,
}

/// 对账文件 / the bank's and the platform's statement files for one hospital.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatementsConfig {
    /// The SFTP server the statements are fetched from; absent: the deployment's.
    pub sftp: Option<SftpConfig>,
    /// The self-pay (bank) statement's layout.
    pub selfpay: medpay_schemas::statement_layout::Layout,
    /// The insurance (platform) statement's layout.
    pub insurance: medpay_schemas::statement_layout::Layout,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SftpConfig {
    pub host: String,
    #[serde(default = "sftp_port")]
    pub port: u16,
    pub user: String,
    /// The client key (read by OpenSSH itself; a file of mode 600).
    pub key_file: PathBuf,
    /// The server's pinned host keys (required: no host is trusted on first use).
    pub known_hosts: PathBuf,
    /// Remote path templates (`{mer_id}`, `{org_code}`, `{yyyymmdd}`, `{yyyymm}`); absent: the
    /// deployment's `recon.selfpay_remote` / `recon.insurance_remote`.
    #[serde(default)]
    pub selfpay_remote: Option<String>,
    #[serde(default)]
    pub insurance_remote: Option<String>,
}

fn sftp_port() -> u16 {
    22
}

#[derive(Debug, thiserror::Error)]
pub enum OnboardingError {
    #[error("hospital file {file}: cannot read it: {detail}")]
    Read { file: String, detail: String },
    #[error("hospital file {file}: {detail}")]
    Invalid { file: String, detail: String },
}

impl HospitalConfig {
    /// Every configured party's endpoint (Alipay only when the hospital takes it).
    pub fn endpoints(&self) -> Vec<Endpoint> {
        let mut v = vec![self.channel.endpoint(Party::Channel)];
        v.extend(self.alipay.as_ref().map(|a| a.endpoint(Party::Alipay)));
        v.extend([
            self.core.endpoint(Party::Core),
            self.mid_platform.endpoint(Party::MidPlatform),
            self.bank.endpoint(Party::Bank),
        ]);
        v
    }

    /// Reads one hospital's file; relative file names in it are relative to the file's folder.
    pub fn read(file: &Path) -> Result<Self, OnboardingError> {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(file)
            .map_err(|e| OnboardingError::Read { file: name.clone(), detail: e.to_string() })?;
        let mut c: HospitalConfig = toml::from_str(&text)
            .map_err(|e| OnboardingError::Invalid { file: name.clone(), detail: e.to_string() })?;
        c.resolve_relative(file.parent().unwrap_or(Path::new(".")));
        c.check().map_err(|detail| OnboardingError::Invalid { file: name, detail })?;
        Ok(c)
    }

    fn resolve_relative(&mut self, dir: &Path) {
        let at = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        };
        at(&mut self.credentials_file);
        if let Some(f) = &mut self.onboarding_facts {
            at(f);
        }
        let dir = dir.to_path_buf();
        let party = |ca: &mut String, cert: &mut Option<PathBuf>, key: &mut Option<PathBuf>| {
            if ca != SYSTEM_ROOTS && Path::new(ca.as_str()).is_relative() {
                *ca = dir.join(ca.as_str()).display().to_string();
            }
            for p in [cert, key].into_iter().flatten() {
                if p.is_relative() {
                    *p = dir.join(&*p);
                }
            }
        };
        if let Some(sftp) = self.statements.as_mut().and_then(|st| st.sftp.as_mut()) {
            at(&mut sftp.key_file);
            at(&mut sftp.known_hosts);
        }
        party(&mut self.channel.ca, &mut self.channel.client_cert, &mut self.channel.client_key);
        if let Some(a) = &mut self.alipay {
            party(&mut a.ca, &mut a.client_cert, &mut a.client_key);
        }
        party(&mut self.core.ca, &mut self.core.client_cert, &mut self.core.client_key);
        party(&mut self.mid_platform.ca, &mut self.mid_platform.client_cert, &mut self.mid_platform.client_key);
        party(&mut self.bank.ca, &mut self.bank.client_cert, &mut self.bank.client_key);
    }

    /// What can be checked without reading another file: codes, URLs, path keys, pairs.
    pub fn check(&self) -> Result<(), String> {
        if self.mdtrtarea_admvs.len() != 6 || !self.mdtrtarea_admvs.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "mdtrtarea_admvs {:?} is not a 6-digit region code (就医地医保区划, e.g. 510100)",
                self.mdtrtarea_admvs
            ));
        }
        for e in self.endpoints() {
            let party = e.party.key();
            let url = url::Url::parse(&e.base_url)
                .map_err(|err| format!("[{party}] base_url {:?} is not a URL: {err}", e.base_url))?;
            if url.scheme() != "https" {
                return Err(format!(
                    "[{party}] base_url {:?} is not https: the parties are reached over TLS only (REQ T-4.3a)",
                    e.base_url
                ));
            }
            if url.host_str().is_none_or(str::is_empty) {
                return Err(format!("[{party}] base_url {:?} has no host", e.base_url));
            }
            let known: Vec<&str> = default_paths(e.party).into_iter().map(|(k, _)| k).collect();
            if let Some(k) = e.paths.keys().find(|k| !known.contains(&k.as_str())) {
                return Err(format!(
                    "[{party}.paths] {k:?} is not an operation of this party (one of {})",
                    known.join(", ")
                ));
            }
            if let Some((k, p)) = e.paths.iter().find(|(_, p)| !p.starts_with('/')) {
                return Err(format!("[{party}.paths] {k} = {p:?} must start with '/'"));
            }
            if e.client_cert.is_some() != e.client_key.is_some() {
                return Err(format!("[{party}] client_cert and client_key go together (mutual TLS needs both)"));
            }
            if e.connect_timeout_ms == 0 || e.request_timeout_ms == 0 {
                return Err(format!("[{party}] timeouts must be positive"));
            }
        }
        Ok(())
    }

    /// The quick start's layout: every party on the sandbox's one listener under `/wechat`,
    /// `/core`, `/mid`, `/bank`, trusting the sandbox's CA, with the reference profiles and
    /// Chengdu's region code. Used when no `hospitals_dir` is configured.
    pub fn sandbox_layout(
        org_code: medpay_schemas::OrgCode,
        org_name: &str,
        credentials_file: &Path,
        base_url: &str,
        ca: &Path,
    ) -> Self {
        let base = base_url.trim_end_matches('/');
        fn party<P: Default>(url: String, ca: &Path) -> PartyConfig<P> {
            PartyConfig {
                base_url: url,
                paths: BTreeMap::new(),
                ca: ca.display().to_string(),
                client_cert: None,
                client_key: None,
                connect_timeout_ms: connect_ms(),
                request_timeout_ms: request_ms(),
                profile: P::default(),
            }
        }
        Self {
            org_code,
            org_name: org_name.into(),
            credentials_file: credentials_file.to_path_buf(),
            mdtrtarea_admvs: "510100".into(),
            stage: Stage::default(),
            onboarding_facts: None,
            bank_orders: BankOrderRules::default(),
            refund_authorisation: RefundAuthorisation::default(),
            channel: party(format!("{base}/wechat"), ca),
            alipay: Some(party(format!("{base}/alipay"), ca)),
            core: party(format!("{base}/core"), ca),
            mid_platform: party(format!("{base}/mid"), ca),
            bank: party(format!("{base}/bank"), ca),
            statements: None,
        }
    }
}

/// A hospital file or org code that could not be used, and why.
pub type Refused = (String, String);

/// Every `*.toml` in the directory, sorted by name: the hospitals read, and the files that could
/// not be (named, with the reason) so one broken hospital does not take the others down.
pub fn read_dir(dir: &Path) -> Result<(Vec<HospitalConfig>, Vec<Refused>), OnboardingError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| OnboardingError::Read { file: dir.display().to_string(), detail: e.to_string() })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let (mut ok, mut refused) = (Vec::new(), Vec::new());
    for f in files {
        match HospitalConfig::read(&f) {
            Ok(c) if ok.iter().any(|o: &HospitalConfig| o.org_code == c.org_code) => {
                refused.push((f.display().to_string(), format!("org_code {} is configured twice", c.org_code)))
            }
            Ok(c) => ok.push(c),
            Err(e) => refused.push((f.display().to_string(), e.to_string())),
        }
    }
    Ok((ok, refused))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> HospitalConfig {
        HospitalConfig::sandbox_layout(
            "H1".parse().unwrap(),
            "Hospital",
            Path::new("/c.json"),
            "https://127.0.0.1:9443",
            Path::new("/ca.pem"),
        )
    }

    #[test]
    fn the_sandbox_layout_and_overrides_make_the_urls() {
        let mut c = example();
        assert_eq!(
            c.mid_platform.endpoint(Party::MidPlatform).url("6201"),
            "https://127.0.0.1:9443/mid/org/local/api/hos/uldFeeInfo"
        );
        assert_eq!(
            c.core.endpoint(Party::Core).url("call_service"),
            "https://127.0.0.1:9443/core/fsi/api/rsfComIfsService/callService"
        );
        c.mid_platform.paths.insert("6201".into(), "/sc/uld".into());
        assert_eq!(c.mid_platform.endpoint(Party::MidPlatform).url("6201"), "https://127.0.0.1:9443/mid/sc/uld");
        c.check().unwrap();
    }

    #[test]
    fn each_mistake_is_named() {
        type Mistake = (fn(&mut HospitalConfig), &'static str);
        let cases: Vec<Mistake> = vec![
            (|c| c.mdtrtarea_admvs = "5101".into(), "mdtrtarea_admvs"),
            (
                |c| c.bank.base_url = "http://bank.example".into(),
                "[bank] base_url \"http://bank.example\" is not https",
            ),
            (|c| c.core.base_url = "not a url".into(), "[core] base_url"),
            (|c| drop(c.mid_platform.paths.insert("6209".into(), "/x".into())), "\"6209\" is not an operation"),
            (|c| c.channel.client_cert = Some("/cert.pem".into()), "[channel] client_cert and client_key go together"),
        ];
        for (break_it, says) in cases {
            let mut c = example();
            break_it(&mut c);
            let e = c.check().unwrap_err();
            assert!(e.contains(says), "{e:?} should say {says:?}");
        }
    }

    #[test]
    fn unknown_keys_are_refused_in_every_table() {
        let good = toml::to_string(&example()).unwrap();
        toml::from_str::<HospitalConfig>(&good).unwrap();
        // The org code is an `OrgCode`: a malformed one is refused when the file is read.
        let bad = good.replace("org_code = \"H1\"", "org_code = \"H 1\"");
        let e = toml::from_str::<HospitalConfig>(&bad).unwrap_err().to_string();
        assert!(e.contains("org_code") && e.contains("OrgCode"), "{e}");
        for (table, line) in [
            ("", "typo = 1"),
            ("[bank]", "bse_url = \"x\""),
            ("[mid_platform.profile]", "nubmers = \"x\""),
            ("[core.profile]", "infno = \"x\""),
            ("[channel.profile]", "x = 1"),
        ] {
            let text = if table.is_empty() {
                format!("{line}\n{good}")
            } else {
                good.replacen(&format!("{table}\n"), &format!("{table}\n{line}\n"), 1)
            };
            assert_ne!(text, good, "{table} is in the example");
            assert!(toml::from_str::<HospitalConfig>(&text).is_err(), "{table} {line} is refused");
        }
    }
}

#[cfg(test)]
mod example {
    use super::*;

    /// The documented example is a valid configuration, and it documents every key there is:
    /// what it sets is what the types hold (nothing silently dropped), and each default-valued
    /// table it omits would be refused if misspelt.
    #[test]
    fn the_example_file_is_valid_and_complete() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/config/hospital.example.toml");
        let c = HospitalConfig::read(&path).unwrap();
        assert_eq!(c.org_code, "H51010500001");
        assert!(c.core.client_cert.as_ref().unwrap().is_absolute(), "relative names resolve against the file's folder");
        assert_eq!(c.channel.ca, SYSTEM_ROOTS);
        for party in Party::ALL {
            let e = c.endpoints().into_iter().find(|e| e.party == party).unwrap();
            let documented: Vec<&String> = e.paths.keys().collect();
            let known: Vec<&str> = default_paths(party).into_iter().map(|(k, _)| k).collect();
            assert_eq!(documented.len(), known.len(), "[{}.paths] lists every operation", party.key());
        }
        let st = c.statements.as_ref().expect("[statements] documented");
        assert!(st.sftp.as_ref().unwrap().key_file.is_absolute());
        assert_eq!(st.selfpay.encoding, medpay_schemas::statement_layout::TextEncoding::Gbk);
        assert_eq!(
            st.selfpay.columns,
            Some(medpay_schemas::statement_layout::Columns::reference(medpay_schemas::recon::ReconKind::Selfpay)),
            "the documented columns are the reference's"
        );
        assert_eq!(st.selfpay.totals, Some(medpay_schemas::statement_layout::Totals::REFERENCE));
        let text = std::fs::read_to_string(&path).unwrap();
        let round: toml::Value = toml::from_str(&toml::to_string(&c).unwrap()).unwrap();
        for key in ["timestamp", "numbers", "version", "signature_text", "enc_type", "enc_text"] {
            assert!(
                round["mid_platform"]["profile"].get(key).is_some() && text.contains(&format!("\n{key} = ")),
                "{key} documented"
            );
        }
        for key in ["encrypt_label", "timestamp", "charset", "format", "path_in_sign_string", "response_field"] {
            assert!(round["bank"]["profile"].get(key).is_some(), "{key}");
        }
    }
}
