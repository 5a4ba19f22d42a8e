//! The ledger's test backends: SQLite (always) and PostgreSQL (`MEDPAY_TEST_POSTGRES_URL`, an
//! admin URL; `scripts/test.sh` starts a throwaway server and sets it; under CI its absence is
//! a failure). Each call gets fresh databases.

// Each test file uses some of these fixtures.
#![allow(dead_code)]

use medpay_activities::ledger::*;
use medpay_schemas::payment::PaymentState::{self, *};
use medpay_schemas::status::OrdStas;
use medpay_schemas::wire::mid_platform::SettlementSplit;
use medpay_schemas::{MedOrgOrd, Money, OrgCode};
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
        org_code: org_code("H51010500001"),
        med_org_ord: his_ord(med_org_ord),
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

pub fn org_code(s: &str) -> OrgCode {
    s.parse().unwrap()
}

pub fn his_ord(s: &str) -> MedOrgOrd {
    s.parse().unwrap()
}

/// The move to `state` of payment `ord`, with made-up facts of its step (its bank order
/// numbers derived from `ord`, so payments do not share them).
pub fn step(state: PaymentState, ord: &str) -> PaymentMove {
    match state {
        Authorised => PaymentMove::Authorised,
        Uploaded => PaymentMove::Uploaded { pay_ord_id: format!("ORD{ord}").parse().unwrap() },
        PreSettled => PaymentMove::PreSettled { split: split(), ord_stas: OrdStas::PreSettled },
        Confirmed => PaymentMove::Confirmed,
        Ordered => PaymentMove::Ordered {
            out_trade_no: format!("SP{ord}").parse().unwrap(),
            order: BankOrder {
                sub_mchid: "1900000109".parse().unwrap(),
                mix_trade_no: format!("MIX{ord}").parse().unwrap(),
            },
        },
        other => PaymentMove::outcome(other, None, None, 5).unwrap(),
    }
}

/// A payment of 300.00 yuan taken to `Paid` at `split()`, its self-pay part collected.
pub async fn paid(ledger: &Ledger, ord: &str) {
    ledger.create_payment(new(ord, "fp")).await.unwrap();
    let (org, key) = (org_code("H51010500001"), his_ord(ord));
    for (at, s) in [Authorised, Uploaded, PreSettled, Ordered].into_iter().enumerate() {
        ledger.advance(&org, &key, step(s, ord), at as i64 + 2).await.unwrap();
    }
    let bank = BankStatuses {
        mix_pay: "MIX_PAY_SUCCESS".into(),
        self_pay: "SELF_PAY_SUCCESS".into(),
        med_ins_pay: "MED_INS_PAY_SUCCESS".into(),
    };
    ledger.advance(&org, &key, PaymentMove::Paid { at_ms: 6, bank: Some(bank), note: None }, 6).await.unwrap();
}
