//! The rollout gate's tables on both backends (REQ O-5 go-live): a change and its record
//! written together, read back with every column's type as each backend decodes it, the
//! history and the acceptance reports newest first, the share's CHECK enforced by the database.

use medpay_activities::rollout::gate::{Rollout, RolloutStage};
use medpay_activities::rollout::store::{self, Acceptance, Change};
use medpay_schemas::payment_flow::Scene;
use sea_orm::ConnectionTrait;

mod common;
use common::*;

fn change(from: RolloutStage, to: RolloutStage, share: u8, at_ms: i64) -> Change {
    Change {
        at_ms,
        actor: "ops-1".into(),
        reason: format!("to {}", to.as_str()),
        from,
        to,
        share_percent: share,
        scenes: vec![Scene::Pharmacy],
        fingerprint: "fp".into(),
    }
}

#[tokio::test]
async fn the_gate_its_history_and_the_reports_round_trip_on_both_backends() {
    for (name, ledger) in backends().await {
        assert_eq!(store::read(&ledger, "H1").await.unwrap(), None, "{name}: nothing recorded yet");
        let pilot = Rollout {
            stage: RolloutStage::Pilot,
            share_percent: 10,
            scenes: vec![Scene::Pharmacy, Scene::Outpatient],
            allow_openids: ["o-1".to_string(), "o-2".to_string()].into(),
            implicit: false,
        };
        store::write(&ledger, "H1", &pilot, &change(RolloutStage::Live, RolloutStage::Pilot, 10, 1)).await.unwrap();
        assert_eq!(store::read(&ledger, "H1").await.unwrap().as_ref(), Some(&pilot), "{name}");
        let live = Rollout {
            stage: RolloutStage::Live,
            share_percent: 0,
            scenes: vec![],
            allow_openids: Default::default(),
            implicit: false,
        };
        store::write(&ledger, "H1", &live, &change(RolloutStage::Pilot, RolloutStage::Live, 0, 2)).await.unwrap();
        assert_eq!(store::read(&ledger, "H1").await.unwrap().map(|r| r.stage), Some(RolloutStage::Live), "{name}");
        let history = store::history(&ledger, "H1", 10).await.unwrap();
        assert_eq!(
            history.iter().map(|c| (c.from, c.to, c.at_ms)).collect::<Vec<_>>(),
            [(RolloutStage::Pilot, RolloutStage::Live, 2), (RolloutStage::Live, RolloutStage::Pilot, 1)],
            "{name}"
        );
        assert_eq!(history[1].scenes, [Scene::Pharmacy], "{name}");
        assert!(store::history(&ledger, "H2", 10).await.unwrap().is_empty(), "{name}: per hospital");
        for (passed, at) in [(false, 10), (true, 11)] {
            let a = Acceptance {
                org_code: "H1".parse().unwrap(),
                fingerprint: "fp".into(),
                channel: "wechat".into(),
                passed,
                cases_total: 13,
                cases_passed: if passed { 13 } else { 12 },
                finished_at_ms: at,
                report_path: "r.html".into(),
            };
            store::record_acceptance(&ledger, &a).await.unwrap();
        }
        let reports = store::acceptances(&ledger, "H1", 10).await.unwrap();
        assert_eq!(
            reports.iter().map(|a| (a.passed, a.cases_passed)).collect::<Vec<_>>(),
            [(true, 13), (false, 12)],
            "{name}"
        );
        // The database refuses a share that is not a percentage, whatever the code above it does.
        let bad = ledger
            .connection()
            .execute_unprepared("UPDATE rollout SET share_percent = 101 WHERE org_code = 'H1'")
            .await;
        assert!(bad.is_err(), "{name}: the CHECK holds");
    }
}
