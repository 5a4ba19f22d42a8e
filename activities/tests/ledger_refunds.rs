//! Refunds in the ledger on both backends (REQ 6.2, X-8a): reservations that never exceed what
//! was paid however refunds race, and refunds accepted while payments' steps are recorded.

use medpay_activities::ledger::*;
use medpay_schemas::Money;
use medpay_schemas::payment::PaymentState::*;
use sea_orm::ConnectionTrait;

mod common;
use common::*;

fn refund(ord: &str, refund_no: &str, fund: i64, acct: i64, cash: i64) -> NewRefund {
    use medpay_schemas::refund::{RefundAmounts, RefundKind};
    NewRefund {
        org_code: org_code("H51010500001"),
        med_org_ord: his_ord(ord),
        refund_no: refund_no.parse().unwrap(),
        workflow_id: format!("refund-{refund_no}"),
        kind: RefundKind::Patient,
        amounts: RefundAmounts {
            fund: Money::from_fen(fund),
            psn_acct: Money::from_fen(acct),
            cash: Money::from_fen(cash),
        },
        request_fingerprint: format!("{refund_no}-{fund}-{acct}-{cash}"),
        reason: None,
        now_ms: 6,
    }
}

/// REQ 6.2 / X-8a: refunds reserve what they take; together they never exceed what was paid,
/// however they race; the same refund asked twice is one refund; abandoning releases only
/// what was not refunded; and the database itself refuses an over-refund.
#[tokio::test]
async fn refunds_never_exceed_what_was_paid() {
    for (backend, ledger) in backends().await {
        paid(&ledger, "HIS-R").await;
        // 16 racing cash refunds of 1,000 fen against 4,000 fen of self-pay: exactly 4 win.
        let racers: Vec<_> = (0..16)
            .map(|i| {
                let l = ledger.clone();
                tokio::spawn(async move { l.create_refund(refund("HIS-R", &format!("RN-{i}"), 0, 0, 1_000)).await })
            })
            .collect();
        let mut won = 0;
        for r in racers {
            match r.await.unwrap() {
                Ok(CreateRefundOutcome::New(_)) => won += 1,
                Err(LedgerError::Ineligible(Ineligible::ExceedsRemaining { .. })) => {}
                other => panic!("{backend}: {other:?}"),
            }
        }
        assert_eq!(won, 4, "{backend}");
        let p = ledger.get(&org_code("H51010500001"), &his_ord("HIS-R")).await.unwrap().unwrap();
        assert_eq!(p.refunded_cash_fen, 4_000, "{backend}");
        // Idempotent: the same refund again is the same; another body under its number is a conflict.
        let winner = ledger.refunds_of(p.id).await.unwrap()[0].refund_no.clone();
        assert!(
            matches!(
                ledger.create_refund(refund("HIS-R", &winner, 0, 0, 1_000)).await,
                Ok(CreateRefundOutcome::Existing(_))
            ),
            "{backend}"
        );
        assert!(
            matches!(
                ledger.create_refund(refund("HIS-R", &winner, 0, 0, 999)).await,
                Err(LedgerError::RefundConflict { .. })
            ),
            "{backend}"
        );

        // Abandon one after its cash went back, another before: only the second is released.
        let rows = ledger.refunds_of(p.id).await.unwrap();
        let (done, open) = (&rows[0].refund_no, &rows[1].refund_no);
        ledger
            .advance_refund(
                &org_code("H51010500001"),
                done,
                RefundMove::CashRefunded { bank_serial: "RF1".parse().unwrap() },
                7,
            )
            .await
            .unwrap();
        for r in [done, open] {
            ledger
                .advance_refund(&org_code("H51010500001"), r, RefundMove::NeedsAttention { why: "stuck".into() }, 8)
                .await
                .unwrap();
            ledger
                .advance_refund(&org_code("H51010500001"), r, RefundMove::Abandoned { note: "given up".into() }, 9)
                .await
                .unwrap();
        }
        assert_eq!(
            ledger.get(&org_code("H51010500001"), &his_ord("HIS-R")).await.unwrap().unwrap().refunded_cash_fen,
            3_000,
            "{backend}"
        );
        assert!(
            matches!(
                ledger.advance_refund(&org_code("H51010500001"), open, RefundMove::Notified, 10).await,
                Err(LedgerError::IllegalRefundTransition { .. })
            ),
            "{backend}: terminal"
        );

        // Unpaid payments are not refundable; the CHECK refuses an over-refund written by hand.
        ledger.create_payment(new("HIS-U", "fp")).await.unwrap();
        assert!(
            matches!(
                ledger.create_refund(refund("HIS-U", "RN-U", 0, 0, 1)).await,
                Err(LedgerError::Ineligible(Ineligible::NotPaid { .. }))
            ),
            "{backend}"
        );
        // REQ X-8a: an anomaly refund gives back a self-pay part the bank collected, and only then.
        let anomaly = |ord: &str, no: &str| NewRefund {
            kind: medpay_schemas::refund::RefundKind::Anomaly,
            ..refund(ord, no, 0, 0, 1)
        };
        assert!(
            matches!(
                ledger.create_refund(anomaly("HIS-U", "X8AHIS-U")).await,
                Err(LedgerError::Ineligible(Ineligible::NoSelfPayCollected(_)))
            ),
            "{backend}"
        );
        assert!(
            matches!(ledger.create_refund(anomaly("HIS-R", "X8AHIS-R")).await, Ok(CreateRefundOutcome::New(_))),
            "{backend}: HIS-R's self-pay part was collected"
        );
        let raw = ledger
            .connection()
            .execute_unprepared("UPDATE payments SET refunded_fund_fen = fund_fen + 1 WHERE med_org_ord = 'HIS-R'")
            .await;
        assert!(raw.is_err(), "{backend}: the database must refuse refunding more than was paid");
    }
}

/// A refund accepted while payments' steps are being recorded (on SQLite: through the write
/// lane, a connection of its own): the refund's transaction reads the payment and then writes,
/// and must wait for the other writer rather than fail because that writer committed in between
/// (SQLite's `SQLITE_BUSY` on a stale read snapshot, which no busy timeout waits out; it reached
/// the HIS as a 503 in CI).
#[tokio::test]
async fn refunds_accepted_while_payments_are_recorded() {
    for (backend, ledger) in backends().await {
        paid(&ledger, "HIS-BUSY").await;
        let recorder = tokio::spawn({
            let ledger = ledger.clone();
            async move {
                for i in 0..60 {
                    let ord = format!("HIS-W-{i}");
                    ledger.create_payment(new(&ord, "fp")).await.unwrap();
                    for s in [Authorised, Uploaded] {
                        ledger.advance(&org_code("H51010500001"), &his_ord(&ord), step(s, &ord), 2).await.unwrap();
                    }
                }
            }
        });
        for i in 0..40 {
            let accepted = ledger.create_refund(refund("HIS-BUSY", &format!("RN-BUSY-{i}"), 0, 0, 1)).await;
            assert!(matches!(accepted, Ok(CreateRefundOutcome::New(_))), "{backend}: refund {i}: {accepted:?}");
        }
        recorder.await.unwrap();
        assert_eq!(
            ledger.get(&org_code("H51010500001"), &his_ord("HIS-BUSY")).await.unwrap().unwrap().refunded_cash_fen,
            40,
            "{backend}"
        );
    }
}
