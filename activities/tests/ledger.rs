//! The ledger on both backends: SQLite (always) and PostgreSQL (`MEDPAY_TEST_POSTGRES_URL`, an
//! admin URL; `scripts/test.sh` starts a throwaway server and sets it; under CI its absence is
//! a failure). Each run gets a fresh database.

use medpay_activities::ledger::*;
use medpay_schemas::Money;
use medpay_schemas::payment::PaymentState::*;
use medpay_schemas::wire::mid_platform::SettlementSplit;
use sea_orm::ConnectionTrait;

mod common;
use common::*;

#[tokio::test]
async fn idempotent_create_forward_only_states_and_money_constraints() {
    for (backend, ledger) in backends().await {
        let CreateOutcome::New(p) = ledger.create_payment(new("HIS-1", "fp-a")).await.unwrap() else {
            panic!("{backend}: first create must be new")
        };
        assert_eq!(p.state, Created);
        assert!(
            matches!(ledger.create_payment(new("HIS-1", "fp-a")).await.unwrap(), CreateOutcome::Existing(e) if e.id == p.id),
            "{backend}"
        );
        assert!(
            matches!(ledger.create_payment(new("HIS-1", "fp-b")).await, Err(LedgerError::Conflict { .. })),
            "{backend}"
        );

        let org = &org_code("H51010500001");
        for s in [Authorised, Uploaded] {
            ledger.advance(org, &his_ord("HIS-1"), step(s, "HIS-1"), 2).await.unwrap();
        }
        let pre = ledger.advance(org, &his_ord("HIS-1"), step(PreSettled, "HIS-1"), 3).await.unwrap();
        assert_eq!((pre.fund_fen, pre.psn_acct_fen, pre.own_pay_fen), (Some(21_000), Some(5_000), Some(4_000)));
        // Not paid without a bank order; a split that does not add up is refused.
        assert!(matches!(
            ledger.advance(org, &his_ord("HIS-1"), step(Paid, "HIS-1"), 4).await,
            Err(LedgerError::IllegalTransition { .. })
        ));
        let bad = SettlementSplit { fund_pay: Money::from_fen(1), ..split() };
        assert!(matches!(
            ledger
                .advance(
                    org,
                    &his_ord("HIS-1"),
                    PaymentMove::PreSettled { split: bad, ord_stas: medpay_schemas::status::OrdStas::PreSettled },
                    4
                )
                .await,
            Err(LedgerError::BadSplit(_))
        ));
        for s in [Confirmed, Ordered] {
            ledger.advance(org, &his_ord("HIS-1"), step(s, "HIS-1"), 5).await.unwrap();
        }
        let paid = ledger
            .advance(org, &his_ord("HIS-1"), PaymentMove::Paid { at_ms: 6, bank: None, note: None }, 6)
            .await
            .unwrap();
        assert_eq!(paid.paid_at_ms, Some(6));
        // A late "failed" or an old status cannot overwrite the outcome; re-recording it is harmless.
        assert!(matches!(
            ledger.advance(org, &his_ord("HIS-1"), step(Failed, "HIS-1"), 7).await,
            Err(LedgerError::IllegalTransition { .. })
        ));
        assert!(matches!(
            ledger.advance(org, &his_ord("HIS-1"), step(Ordered, "HIS-1"), 7).await,
            Err(LedgerError::IllegalTransition { .. })
        ));
        let again = ledger
            .advance(org, &his_ord("HIS-1"), PaymentMove::Paid { at_ms: 8, bank: None, note: None }, 8)
            .await
            .unwrap();
        assert_eq!(
            (again.state.as_str(), again.paid_at_ms, again.version),
            ("Paid", Some(6), paid.version + 1),
            "{backend}: a re-record keeps the outcome and its first paid time, counts a version"
        );
        assert_eq!(ledger.in_state(Paid).await.unwrap().len(), 1);
        // The refusal says why: no such payment is not an illegal transition.
        assert!(
            matches!(
                ledger.advance(org, &his_ord("HIS-NONE"), step(Authorised, "HIS-NONE"), 9).await,
                Err(LedgerError::NotFound { .. })
            ),
            "{backend}"
        );

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
            .record_event(
                p.id,
                NewEvent {
                    at_ms: 1,
                    party: "mid-platform".into(),
                    operation: "6201".into(),
                    request: Some(body.clone()),
                    response: Some(b"{}".to_vec()),
                    signature_ok: Some(true),
                    outcome: "ok".into(),
                    detail: "payOrdId ORD1".into(),
                },
            )
            .await
            .unwrap();
        let events = ledger.events(p.id).await.unwrap();
        assert_eq!(events.len(), 1, "{backend}");
        assert_eq!(events[0].request_digest.as_deref(), Some(hex::encode(medpay_crypto::sm3::sm3(&body)).as_str()));
        assert_eq!(events[0].signature_ok, Some(true));
        let all = format!("{events:?}");
        assert!(!all.contains("AUTH-SECRET") && !all.contains("510104199001011234"), "{backend}: personal data stored");
        // By business key, in one statement; an unknown payment writes nothing.
        let event = |op: &str| NewEvent {
            at_ms: 2,
            party: "bank".into(),
            operation: op.into(),
            request: Some(body.clone()),
            response: None,
            signature_ok: None,
            outcome: "unavailable".into(),
            detail: String::new(),
        };
        assert!(ledger.record_event_for("H51010500001", "HIS-EV", event("mixed order")).await.unwrap(), "{backend}");
        assert!(!ledger.record_event_for("H51010500001", "HIS-NONE", event("mixed order")).await.unwrap(), "{backend}");
        let events = ledger.events(p.id).await.unwrap();
        assert_eq!(
            (events.len(), events[1].operation.as_str(), events[1].response_digest.as_deref()),
            (2, "mixed order", None),
            "{backend}"
        );
        assert_eq!(events[1].request_digest, events[0].request_digest, "{backend}");
    }
}

#[tokio::test]
async fn concurrent_outcomes_settle_once() {
    for (backend, ledger) in backends().await {
        ledger.create_payment(new("HIS-RACE", "fp")).await.unwrap();
        for s in [Authorised, Uploaded, PreSettled, Confirmed, Ordered] {
            ledger.advance(&org_code("H51010500001"), &his_ord("HIS-RACE"), step(s, "HIS-RACE"), 1).await.unwrap();
        }
        let mut tasks = vec![];
        for i in 0..10 {
            let l = ledger.clone();
            let to = if i % 2 == 0 { Paid } else { Failed };
            tasks.push(tokio::spawn(async move {
                (to, l.advance(&org_code("H51010500001"), &his_ord("HIS-RACE"), step(to, "HIS-RACE"), 2).await)
            }));
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
        let final_state = ledger.get(&org_code("H51010500001"), &his_ord("HIS-RACE")).await.unwrap().unwrap().state;
        assert!(!won.is_empty(), "{backend}");
        assert!(
            won.iter().all(|(to, st)| *to == final_state && *st == final_state),
            "{backend}: {won:?} vs {final_state}"
        );
    }
}

fn repeat(i: usize) -> NewEvent {
    NewEvent {
        at_ms: 1,
        party: "bank".into(),
        operation: "callback".into(),
        request: Some(format!("body {i}").into_bytes()),
        response: None,
        signature_ok: Some(true),
        outcome: "ok".into(),
        detail: format!("repeat {i}"),
    }
}

/// The exchange log's group commit: 600 concurrent appends (more than two batches), half by
/// row id and half by business key, to two payments; each is committed when its caller
/// returns, none twice, each under its payment. An append for no payment is an error (row id)
/// or `false` (business key) for its caller, and the batch it shared is not lost.
#[tokio::test]
async fn concurrent_event_appends_are_each_committed_once() {
    for (backend, ledger) in backends().await {
        let mut ids = vec![];
        for ord in ["EB-A", "EB-B"] {
            let (CreateOutcome::New(p) | CreateOutcome::Existing(p)) =
                ledger.create_payment(new(ord, "fp")).await.unwrap();
            ids.push(p.id);
        }
        let tasks: Vec<_> = (0..600)
            .map(|i| {
                let (ledger, id) = (ledger.clone(), ids[i % 2]);
                tokio::spawn(async move {
                    match i % 4 {
                        0 | 1 => ledger.record_event(id, repeat(i)).await.map(|()| true),
                        _ => {
                            ledger
                                .record_event_for("H51010500001", if i % 2 == 0 { "EB-A" } else { "EB-B" }, repeat(i))
                                .await
                        }
                    }
                })
            })
            .collect();
        let missing = tokio::spawn({
            let ledger = ledger.clone();
            async move { ledger.record_event_for("H51010500001", "NO-SUCH-ORDER", repeat(9999)).await }
        });
        for t in tasks {
            assert!(t.await.unwrap().unwrap(), "{backend}");
        }
        assert!(!missing.await.unwrap().unwrap(), "{backend}: no such payment, nothing written");
        for (k, id) in ids.iter().enumerate() {
            let events = ledger.events(*id).await.unwrap();
            let mut seen: Vec<usize> =
                events.iter().filter_map(|e| e.detail.strip_prefix("repeat ")?.parse().ok()).collect();
            seen.sort_unstable();
            assert_eq!(
                seen,
                (0..600).filter(|n| n % 2 == k).collect::<Vec<_>>(),
                "{backend}: every append of payment {k} exactly once"
            );
            assert!(
                events.iter().all(|e| e.request_digest.as_ref().is_some_and(|d| d.len() == 64)),
                "{backend}: digests, not contents"
            );
        }
        assert!(ledger.record_event(424_242, repeat(0)).await.is_err(), "{backend}: no such row");
    }
}

/// An HIS that hangs up, or an activity cancelled mid-write, drops its ledger future midway.
/// On SQLite the single-statement writes share one connection (the write lane): a write given
/// up at any point must either have happened whole or not at all, and the next caller must find
/// the connection ready, not stuck in the abandoned statement.
#[tokio::test]
async fn writes_given_up_midway_leave_the_ledger_whole_and_usable() {
    for (backend, ledger) in backends().await {
        let ords: Vec<String> = (0..40).map(|i| format!("HIS-GIVEUP-{i}")).collect();
        for ord in &ords {
            ledger.create_payment(new(ord, "fp")).await.unwrap();
        }
        // Half the callers give up after 0-3 ms, the rest wait: they race on the same writes.
        let mut tasks = vec![];
        for (i, ord) in ords.iter().enumerate() {
            let (l, ord) = (ledger.clone(), ord.clone());
            tasks.push(tokio::spawn(async move {
                let (org, key) = (org_code("H51010500001"), his_ord(&ord));
                let write = l.advance(&org, &key, step(Authorised, &ord), 2);
                if i % 2 == 0 {
                    let _ = tokio::time::timeout(std::time::Duration::from_millis((i % 4) as u64), write).await;
                } else {
                    write.await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        for ord in &ords {
            let row = ledger.get(&org_code("H51010500001"), &his_ord(ord)).await.unwrap().unwrap();
            assert!(
                row.state == Created || (row.state == Authorised && row.version == 1),
                "{backend} {ord}: half a write: {} v{}",
                row.state,
                row.version
            );
            // The retry a cancelled activity gets: it completes on the same ledger.
            let done =
                ledger.advance(&org_code("H51010500001"), &his_ord(ord), step(Authorised, ord), 3).await.unwrap();
            assert_eq!(done.state, Authorised, "{backend} {ord}");
        }
        let created = ledger.create_payment(new("HIS-GIVEUP-AFTER", "fp")).await.unwrap();
        assert!(matches!(created, CreateOutcome::New(_)), "{backend}: a write after the abandoned ones");
    }
}

/// A bank that reissued a number after losing its books: `(sub_mchid, mix_trade_no)` names one payment.
/// A second payment given the same bank order no. is refused with the holder named, never
/// recorded (a callback for it would be routed to the wrong payment).
#[tokio::test]
async fn a_bank_order_number_belongs_to_one_payment() {
    for (backend, ledger) in backends().await {
        let org = &org_code("H51010500001");
        for ord in ["HIS-BO-1", "HIS-BO-2"] {
            ledger.create_payment(new(ord, ord)).await.unwrap();
            for s in [Authorised, Uploaded] {
                ledger.advance(org, &his_ord(ord), step(s, ord), 2).await.unwrap();
            }
            ledger.advance(org, &his_ord(ord), step(PreSettled, ord), 3).await.unwrap();
            ledger.advance(org, &his_ord(ord), step(Confirmed, ord), 4).await.unwrap();
        }
        let order = |sub_mchid: &str, mix: &str| PaymentMove::Ordered {
            out_trade_no: "SP1".parse().unwrap(),
            order: BankOrder { sub_mchid: sub_mchid.parse().unwrap(), mix_trade_no: mix.parse().unwrap() },
        };
        let (bo1, bo2) = (his_ord("HIS-BO-1"), his_ord("HIS-BO-2"));
        ledger.advance(org, &bo1, order("1900000109", "MIX1"), 5).await.unwrap();
        // The same number again for the same payment (an activity retried) is the same record.
        ledger.advance(org, &bo1, order("1900000109", "MIX1"), 6).await.unwrap();
        match ledger.advance(org, &bo2, order("1900000109", "MIX1"), 7).await {
            Err(LedgerError::DuplicateBankOrder { holder, mix_trade_no, .. }) => {
                assert_eq!((holder.as_str(), mix_trade_no.as_str()), ("H51010500001/HIS-BO-1", "MIX1"), "{backend}")
            }
            other => panic!("{backend}: a reused bank order no. must be refused, got {other:?}"),
        }
        let second = ledger.get(org, &his_ord("HIS-BO-2")).await.unwrap().unwrap();
        assert_eq!(
            (second.state.as_str(), second.mix_trade_no),
            ("Confirmed", None),
            "{backend}: nothing of the refused number recorded"
        );
        // Another sub-merchant (another hospital) may have the same number.
        ledger.advance(org, &bo2, order("1900000110", "MIX1"), 8).await.unwrap();
    }
}

/// Several instances started together on a fresh PostgreSQL ledger all come up (the
/// migrations run once, under an advisory lock; before, one died on a duplicate type). Ten
/// rounds of three concurrent first starts, each on a fresh database.
#[tokio::test]
async fn concurrent_first_starts_on_postgresql_migrate_once() {
    let Ok(admin) = std::env::var("MEDPAY_TEST_POSTGRES_URL") else {
        assert!(
            !postgres_required(),
            "scripts/test.sh and CI run the ledger tests on PostgreSQL too: set MEDPAY_TEST_POSTGRES_URL"
        );
        eprintln!("MEDPAY_TEST_POSTGRES_URL not set: concurrent first starts not tried");
        return;
    };
    let admin_db = sea_orm::Database::connect(&admin).await.unwrap();
    for round in 0..10 {
        let name = format!("medpay_race_{}_{}_{round}", std::process::id(), rand_suffix());
        admin_db.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        let starts: Vec<_> = (0..3)
            .map(|_| {
                tokio::spawn({
                    let url = url.clone();
                    async move { Ledger::connect(&url).await.map(drop).map_err(|e| e.to_string()) }
                })
            })
            .collect();
        for s in starts {
            s.await.unwrap().unwrap_or_else(|e| panic!("round {round}: a concurrent first start failed: {e}"));
        }
    }
}

/// A stand-in for the worker's payload-key sealer: reversible, and visibly not the plain text.
struct Reverse;

impl medpay_activities::pay_auth_cache::ExchangeSealer for Reverse {
    fn seal(&self, plain: &[u8]) -> Result<Vec<u8>, String> {
        Ok(plain.iter().rev().map(|b| b ^ 0x5a).collect())
    }
    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, String> {
        Ok(sealed.iter().rev().map(|b| b ^ 0x5a).collect())
    }
}

/// Scale-out: an identification retried on a peer instance (or run again after a
/// killed worker) finds the authCode exchange the first attempt made (sealed in the ledger),
/// instead of exchanging the single-use code again and failing the payment.
#[tokio::test]
async fn an_authcode_exchange_is_shared_sealed_and_found_by_a_peer() {
    use medpay_activities::pay_auth_cache::*;
    use medpay_schemas::wire::channel::{Authorisation, ChannelKind};
    for (backend, ledger) in backends().await {
        let auth = Authorisation {
            channel: ChannelKind::Wechat,
            pay_auth_no: medpay_schemas::Secret::new("AUTHNO-SHARED-1".into()),
            for_relative: false,
            location: None,
        };
        let k = key("H51010500001", &format!("HIS-EX-{backend}"), "CODE-1");
        remember_shared(&ledger, Some(&Reverse), k.clone(), &auth, medpay_activities::http::now_ms()).await;
        let stored = ledger.get_exchange(&k).await.unwrap().expect("shared");
        assert!(
            !String::from_utf8_lossy(&stored).contains("AUTHNO-SHARED-1"),
            "{backend}: the payAuthNo is sealed in the ledger"
        );
        forget(&k); // the peer instance: nothing in its memory
        assert_eq!(
            recall_shared(&ledger, Some(&Reverse), &k).await,
            Some(auth.clone()),
            "{backend}: found through the ledger"
        );
        assert_eq!(recall_shared(&ledger, None, &k).await, None, "{backend}: without the key, nothing");
        forget_shared(&ledger, &k).await;
        assert_eq!(recall_shared(&ledger, Some(&Reverse), &k).await, None, "{backend}: gone once forgotten");
    }
}
