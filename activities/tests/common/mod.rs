//! The ledger's test backends: SQLite (always) and PostgreSQL (`MEDPAY_TEST_POSTGRES_URL`, an
//! admin URL; `scripts/test.sh` starts a throwaway server and sets it; under CI its absence is
//! a failure). Each call gets fresh databases.

use medpay_activities::ledger::Ledger;
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
