//! The ledger on both backends: SQLite (always) and PostgreSQL (`MEDPAY_TEST_POSTGRES_URL`, an
//! admin URL; `scripts/test.sh` starts a throwaway server and sets it; under CI its absence is
//! a failure). Each run gets a fresh database.

use medpay_activities::ledger::*;
use medpay_schemas::Money;
use medpay_schemas::payment::PaymentState::*;
use medpay_schemas::wire::mid_platform::SettlementSplit;
use sea_orm::ConnectionTrait;

async fn backends() -> Vec<(&'static str, Ledger)> {
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
            assert!(std::env::var("CI").is_err(), "CI must run the ledger tests on PostgreSQL: set MEDPAY_TEST_POSTGRES_URL");
            eprintln!("MEDPAY_TEST_POSTGRES_URL not set: PostgreSQL half of the ledger tests not run (scripts/test.sh sets it)");
        }
    }
    v
}

fn rand_suffix() -> String {
    hex::encode(medpay_crypto::random::random_bytes::<4>().unwrap())
}

fn new(med_org_ord: &str, fingerprint: &str) -> NewPayment {
    NewPayment {
        org_code: "H51010500001".into(),
        med_org_ord: med_org_ord.into(),
        workflow_id: format!("pay-H51010500001-{med_org_ord}"),
        request_fingerprint: fingerprint.into(),
        total: Money::from_fen(30_000),
        now_ms: 1,
    }
}

fn split() -> SettlementSplit {
    SettlementSplit { fee_sumamt: Money::from_fen(30_000), own_pay_amt: Money::from_fen(4_000), psn_acct_pay: Money::from_fen(5_000), fund_pay: Money::from_fen(21_000) }
}

#[tokio::test]
async fn idempotent_create_forward_only_states_and_money_constraints() {
    for (backend, ledger) in backends().await {
        let CreateOutcome::New(p) = ledger.create_payment(new("HIS-1", "fp-a")).await.unwrap() else { panic!("{backend}: first create must be new") };
        assert_eq!(p.state, "Created");
        assert!(matches!(ledger.create_payment(new("HIS-1", "fp-a")).await.unwrap(), CreateOutcome::Existing(e) if e.id == p.id), "{backend}");
        assert!(matches!(ledger.create_payment(new("HIS-1", "fp-b")).await, Err(LedgerError::Conflict { .. })), "{backend}");

        let org = "H51010500001";
        for s in [Authorised, Uploaded] {
            ledger.advance(org, "HIS-1", s, PaymentUpdate::default(), 2).await.unwrap();
        }
        let pre = ledger.advance(org, "HIS-1", PreSettled, PaymentUpdate { split: Some(split()), pay_ord_id: Some("ORD1".into()), ..Default::default() }, 3).await.unwrap();
        assert_eq!((pre.fund_fen, pre.psn_acct_fen, pre.own_pay_fen), (Some(21_000), Some(5_000), Some(4_000)));
        // Not paid without a bank order; a split that does not add up is refused.
        assert!(matches!(ledger.advance(org, "HIS-1", Paid, PaymentUpdate::default(), 4).await, Err(LedgerError::IllegalTransition { .. })));
        let bad = SettlementSplit { fund_pay: Money::from_fen(1), ..split() };
        assert!(matches!(ledger.advance(org, "HIS-1", PreSettled, PaymentUpdate { split: Some(bad), ..Default::default() }, 4).await, Err(LedgerError::BadSplit(_))));
        for s in [Confirmed, Ordered] {
            ledger.advance(org, "HIS-1", s, PaymentUpdate { mix_trade_no: Some("MIX1".into()), ..Default::default() }, 5).await.unwrap();
        }
        let paid = ledger.advance(org, "HIS-1", Paid, PaymentUpdate { mix_pay_status: Some("MIX_PAY_SUCCESS".into()), paid_at_ms: Some(6), ..Default::default() }, 6).await.unwrap();
        assert_eq!(paid.paid_at_ms, Some(6));
        // A late "failed" or an old status cannot overwrite the outcome; re-recording it is harmless.
        assert!(matches!(ledger.advance(org, "HIS-1", Failed, PaymentUpdate::default(), 7).await, Err(LedgerError::IllegalTransition { .. })));
        assert!(matches!(ledger.advance(org, "HIS-1", Ordered, PaymentUpdate::default(), 7).await, Err(LedgerError::IllegalTransition { .. })));
        assert_eq!(ledger.advance(org, "HIS-1", Paid, PaymentUpdate::default(), 8).await.unwrap().state, "Paid");
        assert_eq!(ledger.in_state(Paid).await.unwrap().len(), 1);

        // The database itself refuses a split that does not add up (CHECK constraint).
        let sql = "UPDATE payments SET fund_fen = 1 WHERE med_org_ord = 'HIS-1'";
        assert!(ledger.connection().execute_unprepared(sql).await.is_err(), "{backend}: CHECK constraint missing");
    }
}

#[tokio::test]
async fn events_keep_digests_not_contents() {
    for (backend, ledger) in backends().await {
        let CreateOutcome::New(p) = ledger.create_payment(new("HIS-EV", "fp")).await.unwrap() else { panic!() };
        let body = br#"{"payAuthNo":"AUTH-SECRET","idNo":"510104199001011234"}"#.to_vec();
        ledger
            .record_event(p.id, NewEvent {
                at_ms: 1,
                party: "mid-platform".into(),
                operation: "6201".into(),
                request: Some(body.clone()),
                response: Some(b"{}".to_vec()),
                signature_ok: Some(true),
                outcome: "ok".into(),
                detail: "payOrdId ORD1".into(),
            })
            .await
            .unwrap();
        let events = ledger.events(p.id).await.unwrap();
        assert_eq!(events.len(), 1, "{backend}");
        assert_eq!(events[0].request_digest.as_deref(), Some(hex::encode(medpay_crypto::sm3::sm3(&body)).as_str()));
        assert_eq!(events[0].signature_ok, Some(true));
        let all = format!("{events:?}");
        assert!(!all.contains("AUTH-SECRET") && !all.contains("510104199001011234"), "{backend}: personal data stored");
    }
}

#[tokio::test]
async fn concurrent_outcomes_settle_once() {
    for (backend, ledger) in backends().await {
        ledger.create_payment(new("HIS-RACE", "fp")).await.unwrap();
        for s in [Authorised, Uploaded, PreSettled, Confirmed, Ordered] {
            let split = (s == PreSettled).then(split);
            ledger.advance("H51010500001", "HIS-RACE", s, PaymentUpdate { split, ..Default::default() }, 1).await.unwrap();
        }
        let mut tasks = vec![];
        for i in 0..10 {
            let l = ledger.clone();
            let to = if i % 2 == 0 { Paid } else { Failed };
            tasks.push(tokio::spawn(async move { (to, l.advance("H51010500001", "HIS-RACE", to, PaymentUpdate::default(), 2).await) }));
        }
        let mut won = vec![];
        for t in tasks {
            let (to, r) = t.await.unwrap();
            match r {
                Ok(m) => won.push((to, m.state)),
                Err(LedgerError::IllegalTransition { .. }) => {}
                Err(e) => panic!("{backend}: {e}"),
            }
        }
        let final_state = ledger.get("H51010500001", "HIS-RACE").await.unwrap().unwrap().state;
        assert!(!won.is_empty(), "{backend}");
        assert!(won.iter().all(|(to, st)| to.as_str() == final_state && *st == final_state), "{backend}: {won:?} vs {final_state}");
    }
}
