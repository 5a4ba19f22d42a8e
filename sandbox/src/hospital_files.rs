//! The hospital side's configuration for the sandbox's hospitals: one onboarding file per
//! hospital in `<data dir>/hospitals/` (medpay's `parties.hospitals_dir`), every party at the
//! sandbox's listener (or its own, with `--split-parties`).
//!
//! The sandbox writes what a counterparty would hand a hospital's integration team — where it
//! listens, which CA it uses, what its bank does differently — in the file format medpay reads,
//! without sharing medpay's configuration types: the contract is the file, checked by
//! `tests/hospital_files.rs`, which reads these files with medpay's own reader.

use crate::split::PartyListener;
use crate::{SandboxConfig, app, credentials::Credentials};
use medpay_crypto::envelope::bank_gateway::BankGatewayProfile;
use medpay_crypto::envelope::mid_platform::MidPlatformProfile;
use medpay_crypto::id_digest::IdDigest;
use medpay_schemas::recon::ReconKind;
use medpay_schemas::statement_layout::{Columns, Layout, TextEncoding};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The sandbox hospitals' region: Chengdu (就医地医保区划).
const REGION: &str = "510100";

#[derive(Serialize)]
struct HospitalFile {
    org_code: String,
    org_name: String,
    credentials_file: PathBuf,
    mdtrtarea_admvs: &'static str,
    stage: &'static str,
    /// Written out, though it is medpay's default, so an operator sees the choice (REQ 6.2
    /// step 3) and a test can flip it.
    refund_authorisation: &'static str,
    bank_orders: BankOrders,
    channel: Party,
    alipay: Party,
    core: Party,
    mid_platform: MidParty,
    bank: BankParty,
    #[serde(skip_serializing_if = "Option::is_none")]
    statements: Option<Statements>,
}

#[derive(Serialize)]
struct BankOrders {
    id_digest: IdDigest,
}

#[derive(Clone, Serialize)]
struct Party {
    base_url: String,
    ca: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_key: Option<PathBuf>,
}

/// The mid-platform and the bank with the envelope profile they speak, written out in full: the
/// knobs an integration engineer compares with the real party's documents.
#[derive(Serialize)]
struct MidParty {
    #[serde(flatten)]
    party: Party,
    profile: MidPlatformProfile,
}

#[derive(Serialize)]
struct BankParty {
    #[serde(flatten)]
    party: Party,
    profile: BankGatewayProfile,
}

/// The bank's statement as `--statements-gbk` writes it (`statements.rs`): GBK, the reference
/// columns and a tenth, the bank's memo.
#[derive(Serialize)]
struct Statements {
    selfpay: Layout,
}

fn gbk_layout() -> Layout {
    Layout {
        encoding: TextEncoding::Gbk,
        delimiter: None,
        columns: Some(Columns { count: 10, ..Columns::reference(ReconKind::Selfpay) }),
        totals: None,
    }
}

fn party(base: &str, path: &str, ca: &Path) -> Party {
    Party { base_url: format!("{base}/{path}"), ca: ca.display().to_string(), client_cert: None, client_key: None }
}

/// Writes one file per hospital; returns the directory.
pub fn write(
    config: &SandboxConfig,
    credentials: &Credentials,
    credentials_path: &Path,
    base_url: &str,
    ca: &Path,
    split: &[PartyListener],
) -> anyhow::Result<PathBuf> {
    let dir = config.data_dir.join("hospitals");
    std::fs::create_dir_all(&dir)?;
    let base = base_url.trim_end_matches('/');
    for h in &credentials.hospitals {
        let mut f = HospitalFile {
            org_code: h.org_code.clone(),
            org_name: h.org_name.clone(),
            credentials_file: credentials_path.to_path_buf(),
            mdtrtarea_admvs: REGION,
            stage: if config.joint_test { "joint_test" } else { "production" },
            bank_orders: BankOrders { id_digest: config.bank_id_digest },
            channel: party(base, "wechat", ca),
            alipay: party(base, "alipay", ca),
            core: party(base, "core", ca),
            refund_authorisation: "platform",
            mid_platform: MidParty { party: party(base, "mid", ca), profile: MidPlatformProfile::default() },
            bank: BankParty {
                party: party(base, "bank", ca),
                profile: BankGatewayProfile {
                    encrypt: config.bank_encrypt.then_some(app::BANK_BIZ_CIPHER),
                    ..Default::default()
                },
            },
            statements: config.statements_gbk.then(|| Statements { selfpay: gbk_layout() }),
        };
        for p in split {
            let own = Party {
                base_url: p.base_url.clone(),
                ca: p.ca_cert.display().to_string(),
                client_cert: p.client_identity.as_ref().map(|(c, _)| c.clone()),
                client_key: p.client_identity.as_ref().map(|(_, k)| k.clone()),
            };
            match p.party {
                "channel" => f.channel = own,
                "core" => f.core = own,
                "mid_platform" => f.mid_platform.party = own,
                _ => f.bank.party = own,
            }
        }
        let text = format!(
            "# medpay onboarding configuration for the sandbox's hospital {} (written by `medpay-sandbox`)\n{}",
            h.org_code,
            toml::to_string(&f)?
        );
        std::fs::write(dir.join(format!("{}.toml", h.org_code)), text)?;
    }
    Ok(dir)
}
