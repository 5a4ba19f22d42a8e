//! The ledger's test backends: SQLite (always) and PostgreSQL (`MEDPAY_TEST_POSTGRES_URL`, an
//! admin URL; `scripts/test.sh` starts a throwaway server and sets it; under CI its absence is
//! a failure). Each call gets fresh databases.

// Each test file uses some of these fixtures.
#![allow(dead_code)]

use medpay_activities::ledger::*;
use medpay_schemas::Money;
use medpay_schemas::payment::PaymentState::*;
use medpay_schemas::wire::mid_platform::SettlementSplit;
use sea_orm::ConnectionTrait;

pub async fn backends() -> Vec<(&'static str, Ledger)> {
    let n = std::process::id();
    let file = std::env::temp_dir().join(format!("medpay-ledger-{n}-{}.db", rand_suffix()));
    let mut v = vec![("sqlite", Ledger::connect(&format!("sqlite://{}?mode=rwc", file.display())).await.unwrap())];
    match std::env::var("MEDPAY_TEST_POSTGRES_URL") {
        Ok(admin) => {
            let name = format!("medpay_test_{n}_{}", rand_suffix());
            let admin_db = sea_orm::Database::connect(&admin).await.unwrap();
            admin_db.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
            let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
            v.push(("postgres", Ledger::connect(&url).await.unwrap()));
        }
        Err(_) => {
            assert!(
                !postgres_required(),
                "scripts/test.sh and CI run the ledger tests on PostgreSQL too: set MEDPAY_TEST_POSTGRES_URL"
            );
            eprintln!(
                "MEDPAY_TEST_POSTGRES_URL not set: PostgreSQL half of the ledger tests not run (scripts/test.sh sets it)"
            );
        }
    }
    v
}

/// Under scripts/test.sh (and CI) the PostgreSQL half is never skipped.
pub fn postgres_required() -> bool {
    std::env::var_os("CI").is_some() || std::env::var_os("MEDPAY_REQUIRE_POSTGRES").is_some()
}

pub fn rand_suffix() -> String {
    hex::encode(medpay_crypto::random::random_bytes::<4>().unwrap())
}

pub fn new(med_org_ord: &str, fingerprint: &str) -> NewPayment {
    NewPayment {
        org_code: "H51010500001".into(),
        med_org_ord: med_org_ord.into(),
        workflow_id: format!("pay-H51010500001-{med_org_ord}"),
        request_fingerprint: fingerprint.into(),
        total: Money::from_fen(30_000),
        now_ms: 1,
    }
}

pub fn split() -> SettlementSplit {
    SettlementSplit {
        fee_sumamt: Money::from_fen(30_000),
        own_pay_amt: Money::from_fen(4_000),
        psn_acct_pay: Money::from_fen(5_000),
        fund_pay: Money::from_fen(21_000),
    }
}

/// A payment of 300.00 yuan taken to `Paid` at `split()`.
pub async fn paid(ledger: &Ledger, ord: &str) {
    ledger.create_payment(new(ord, "fp")).await.unwrap();
    let org = "H51010500001";
    for s in [Authorised, Uploaded] {
        ledger.advance(org, ord, s, PaymentUpdate::default(), 2).await.unwrap();
    }
    ledger
        .advance(org, ord, PreSettled, PaymentUpdate { split: Some(split()), ..Default::default() }, 3)
        .await
        .unwrap();
    ledger
        .advance(
            org,
            ord,
            Ordered,
            PaymentUpdate {
                mix_trade_no: Some(format!("MIX{ord}")),
                out_trade_no: Some(format!("SP{ord}")),
                ..Default::default()
            },
            4,
        )
        .await
        .unwrap();
    ledger
        .advance(
            org,
            ord,
            Paid,
            PaymentUpdate { self_pay_status: Some("SELF_PAY_SUCCESS".into()), ..Default::default() },
            5,
        )
        .await
        .unwrap();
}
