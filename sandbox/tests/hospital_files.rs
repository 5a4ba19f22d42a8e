//! The contract between the sandbox and medpay's configuration reader: the hospital files the
//! sandbox writes (`hospital_files.rs`, with its own types) are read by medpay's
//! `HospitalConfig::read` into exactly the configuration the sandbox means — every party at its
//! listener, the sandbox's CA, and each switch (joint test, encrypted bank, SM3 ID digests, the
//! GBK statement, parties on their own listeners with client certificates) carried over.

mod common;

use medpay_activities::parties::onboarding::{HospitalConfig, Stage, StatementsConfig};
use medpay_crypto::id_digest::IdDigest;
use medpay_schemas::recon::ReconKind;
use medpay_schemas::statement_layout::{Columns, Layout, TextEncoding};

fn read_all(env: &common::Env) -> Vec<HospitalConfig> {
    let s = &env.sandbox;
    s.credentials
        .hospitals
        .iter()
        .map(|h| HospitalConfig::read(&s.hospitals_dir.join(format!("{}.toml", h.org_code))).expect("medpay reads it"))
        .collect()
}

/// What the file means, built with medpay's own constructor: the layout the quick start uses.
fn expected(env: &common::Env, org_code: &str) -> HospitalConfig {
    let s = &env.sandbox;
    let h = s.credentials.hospitals.iter().find(|h| h.org_code == org_code).unwrap();
    HospitalConfig::sandbox_layout(
        h.org_code.parse().unwrap(),
        &h.org_name,
        &s.credentials_path,
        &s.base_url,
        &s.ca_cert,
    )
}

#[tokio::test]
async fn the_default_files_are_the_sandbox_layout_for_every_hospital() {
    let env = common::start("hf-default", |c| c.hospitals = 2).await;
    let read = read_all(&env);
    assert_eq!(read.len(), 2);
    for c in &read {
        assert_eq!(c, &expected(&env, &c.org_code));
    }
    // What an operator reads and edits in the file is written out, not left to defaults: where
    // a refund's authorisation comes from, and the envelope profiles of the mid-platform and bank.
    let text = std::fs::read_to_string(env.sandbox.hospitals_dir.join("H51010500001.toml")).unwrap();
    for line in ["refund_authorisation = \"platform\"", "[mid_platform.profile]", "[bank.profile]", "[bank_orders]"] {
        assert!(text.lines().any(|l| l == line), "{line} is not in the file:\n{text}");
    }
}

#[tokio::test]
async fn each_switch_reaches_medpay() {
    let env = common::start("hf-switches", |c| {
        c.joint_test = true;
        c.bank_encrypt = true;
        c.bank_id_digest = IdDigest::Sm3;
        c.statements_gbk = true;
    })
    .await;
    let c = read_all(&env).remove(0);
    let mut want = expected(&env, &c.org_code);
    want.stage = Stage::JointTest;
    want.bank.profile.encrypt = Some(medpay_sandbox::app::BANK_BIZ_CIPHER);
    want.bank_orders.id_digest = IdDigest::Sm3;
    want.statements = Some(StatementsConfig {
        sftp: None,
        selfpay: Layout {
            encoding: TextEncoding::Gbk,
            delimiter: None,
            columns: Some(Columns { count: 10, ..Columns::reference(ReconKind::Selfpay) }),
            totals: None,
        },
        insurance: Default::default(),
    });
    assert_eq!(c, want);
}

#[tokio::test]
async fn split_parties_each_get_their_listener_ca_and_client_certificate() {
    let env = common::start("hf-split", |c| c.split_parties = true).await;
    let c = read_all(&env).remove(0);
    assert!(!env.sandbox.parties.is_empty());
    for p in &env.sandbox.parties {
        let (url, ca, cert, key) = match p.party {
            "channel" => (&c.channel.base_url, &c.channel.ca, &c.channel.client_cert, &c.channel.client_key),
            "core" => (&c.core.base_url, &c.core.ca, &c.core.client_cert, &c.core.client_key),
            "mid_platform" => {
                (&c.mid_platform.base_url, &c.mid_platform.ca, &c.mid_platform.client_cert, &c.mid_platform.client_key)
            }
            _ => (&c.bank.base_url, &c.bank.ca, &c.bank.client_cert, &c.bank.client_key),
        };
        assert_eq!(url, &p.base_url, "{}", p.party);
        assert_eq!(ca, &p.ca_cert.display().to_string(), "{}", p.party);
        assert_eq!(cert, &p.client_identity.as_ref().map(|(c, _)| c.clone()), "{}", p.party);
        assert_eq!(key, &p.client_identity.as_ref().map(|(_, k)| k.clone()), "{}", p.party);
    }
    // Alipay has no listener of its own: it stays on the sandbox's.
    assert_eq!(c.alipay, expected(&env, &c.org_code).alipay);
}
