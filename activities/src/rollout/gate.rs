//! Who may start a payment at a hospital's rollout stage, and which moves between stages are
//! allowed. Pure: no clock, no I/O, so every rule is a unit test.
//!
//! The standard's go-live phase: switch everything to production "but do not open it yet" and
//! re-run the full scenario test (`closed_production`: allow-listed test persons only), then
//! "open the user entrance gradually" (`pilot`: the allowlist plus a share of patients, chosen
//! by a hash of the patient so one patient's experience is stable), then everyone (`live`).

use crate::parties::onboarding::Stage;
use medpay_schemas::payment_flow::Scene;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutStage {
    /// 准备阶段: parameters being applied for; closed: only test persons pay (a hospital added
    /// to a production deployment starts here so nobody pays before its acceptance).
    Onboarding,
    /// 建设阶段 联测: against the parties' test environments, which know only their test
    /// persons: they are the gate, medpay's is open.
    JointTest,
    /// 上线阶段 3: production parameters, closed: only test persons pay (the full re-test).
    ClosedProduction,
    /// 上线阶段 4, opening gradually: test persons and a share of patients.
    Pilot,
    /// Open to every patient.
    Live,
    /// No new payments; refunds and reconciliation go on.
    Suspended,
}

pub const STAGES: [RolloutStage; 6] = [
    RolloutStage::Onboarding,
    RolloutStage::JointTest,
    RolloutStage::ClosedProduction,
    RolloutStage::Pilot,
    RolloutStage::Live,
    RolloutStage::Suspended,
];

impl RolloutStage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Onboarding => "onboarding",
            Self::JointTest => "joint_test",
            Self::ClosedProduction => "closed_production",
            Self::Pilot => "pilot",
            Self::Live => "live",
            Self::Suspended => "suspended",
        }
    }

    /// Accepts `closed-production` as well as `closed_production`.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().replace('-', "_");
        STAGES.into_iter().find(|st| st.as_str() == s)
    }

    /// The configuration stage the parties must be in: test environments before the switch to
    /// production parameters, production after it.
    fn needs_config(self) -> Option<Stage> {
        match self {
            Self::JointTest => Some(Stage::JointTest),
            Self::ClosedProduction | Self::Pilot | Self::Live => Some(Stage::Production),
            Self::Onboarding | Self::Suspended => None,
        }
    }
}

/// A hospital's gate settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollout {
    pub stage: RolloutStage,
    /// In `pilot`: the share of patients let in, in whole percent (0-100).
    pub share_percent: u8,
    /// In `pilot`: the scenes the share applies to; empty = every scene. Allow-listed test
    /// persons may pay in every scene.
    pub scenes: Vec<Scene>,
    /// Test persons' and devices' openids let in before `live`, beside the onboarding file's.
    pub allow_openids: BTreeSet<String>,
    /// No change recorded yet: the stage follows from the configuration (see `implicit`).
    pub implicit: bool,
}

impl Rollout {
    /// A hospital nobody has moved yet: one whose parties are in production was live before the
    /// gate existed and stays open; one in its joint test is in `joint_test`.
    pub fn implicit(config: Stage) -> Self {
        let stage = match config {
            Stage::Production => RolloutStage::Live,
            Stage::JointTest => RolloutStage::JointTest,
        };
        Self { stage, share_percent: 0, scenes: Vec::new(), allow_openids: BTreeSet::new(), implicit: true }
    }
}

/// Why a payment may not start; the HIS falls back to the counter.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("hospital {org} is {stage}: mobile insurance payment is not open for this patient yet; pay at the counter")]
    NotOpenForPatient { org: String, stage: &'static str },
    #[error(
        "hospital {org} has suspended mobile insurance payment: no new payments (refunds go on); pay at the counter"
    )]
    Suspended { org: String },
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotOpenForPatient { .. } => "NOT_OPEN_FOR_PATIENT",
            Self::Suspended { .. } => "HOSPITAL_SUSPENDED",
        }
    }
}

/// The patient's place in 0..10000, stable for a hospital and openid: the first four bytes of
/// SM3(org | openid). The org is in it so the pilot's first tenth differs between hospitals.
pub fn bucket(org: &str, openid: &str) -> u32 {
    let d = medpay_crypto::sm3::sm3(format!("{org}|{openid}").as_bytes());
    u32::from_be_bytes([d[0], d[1], d[2], d[3]]) % 10_000
}

/// May the patient behind `openid` start a payment in `scene`? `test_openids` are the onboarding
/// file's test persons.
pub fn admits(
    org: &str,
    r: &Rollout,
    test_openids: &BTreeSet<String>,
    openid: &str,
    scene: Scene,
) -> Result<(), Refusal> {
    let listed = r.allow_openids.contains(openid) || test_openids.contains(openid);
    let not_open = || Refusal::NotOpenForPatient { org: org.to_string(), stage: r.stage.as_str() };
    match r.stage {
        RolloutStage::Live | RolloutStage::JointTest => Ok(()),
        RolloutStage::Suspended => Err(Refusal::Suspended { org: org.to_string() }),
        RolloutStage::Onboarding | RolloutStage::ClosedProduction => {
            if listed {
                Ok(())
            } else {
                Err(not_open())
            }
        }
        RolloutStage::Pilot => {
            let in_scene = r.scenes.is_empty() || r.scenes.contains(&scene);
            let in_share = in_scene && bucket(org, openid) < u32::from(r.share_percent) * 100;
            if listed || in_share { Ok(()) } else { Err(not_open()) }
        }
    }
}

/// Why a move between stages was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error(
        "hospital {org}: {to} needs the parties' {needed} parameters, but its configuration says stage = \"{configured}\"; change the hospital's file first"
    )]
    ConfigStage { org: String, to: &'static str, needed: &'static str, configured: &'static str },
    #[error(
        "hospital {org}: live needs an acceptance report that passed on {channels} for the current configuration (fingerprint {fingerprint}); run `medpay acceptance run --org {org}` first"
    )]
    AcceptanceRequired { org: String, fingerprint: String, channels: String },
    #[error("share_percent {0} is not a percentage (0-100)")]
    Share(u32),
    #[error("share_percent and scenes only apply to pilot")]
    NotPilot,
}

fn stage_name(s: Stage) -> &'static str {
    match s {
        Stage::JointTest => "joint_test",
        Stage::Production => "production",
    }
}

/// What a move is checked against: the hospital's configuration and its acceptance reports.
pub struct Facts<'a> {
    pub config: Stage,
    pub fingerprint: &'a str,
    /// The channels the hospital takes.
    pub channels: &'a [&'a str],
    /// The channels on which an acceptance report passed for `fingerprint`.
    pub passed_channels: &'a [String],
}

/// Checks a move to `to` (with a pilot's share and scenes).
pub fn check_transition(
    org: &str,
    to: RolloutStage,
    share_percent: u32,
    has_scenes: bool,
    f: &Facts<'_>,
) -> Result<(), TransitionError> {
    let (config, fingerprint, channels, passed_channels) = (f.config, f.fingerprint, f.channels, f.passed_channels);
    if share_percent > 100 {
        return Err(TransitionError::Share(share_percent));
    }
    if to != RolloutStage::Pilot && (share_percent > 0 || has_scenes) {
        return Err(TransitionError::NotPilot);
    }
    if let Some(needed) = to.needs_config().filter(|n| *n != config) {
        return Err(TransitionError::ConfigStage {
            org: org.into(),
            to: to.as_str(),
            needed: stage_name(needed),
            configured: stage_name(config),
        });
    }
    if to == RolloutStage::Live && !channels.iter().all(|c| passed_channels.iter().any(|p| p == c)) {
        return Err(TransitionError::AcceptanceRequired {
            org: org.into(),
            fingerprint: fingerprint.into(),
            channels: channels.join(" and "),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(stage: RolloutStage, share: u8) -> Rollout {
        Rollout {
            stage,
            share_percent: share,
            scenes: Vec::new(),
            allow_openids: ["o-device".to_string()].into(),
            implicit: false,
        }
    }

    #[test]
    fn closed_stages_admit_only_the_allowlist() {
        let tests: BTreeSet<String> = ["o-tester".to_string()].into();
        for stage in [RolloutStage::Onboarding, RolloutStage::ClosedProduction] {
            let r = gate(stage, 0);
            assert!(admits("H1", &r, &tests, "o-tester", Scene::Outpatient).is_ok());
            assert!(admits("H1", &r, &tests, "o-device", Scene::Outpatient).is_ok());
            let refused = admits("H1", &r, &tests, "o-patient", Scene::Outpatient).unwrap_err();
            assert_eq!(refused.code(), "NOT_OPEN_FOR_PATIENT");
        }
        assert!(admits("H1", &gate(RolloutStage::Live, 0), &tests, "o-patient", Scene::Outpatient).is_ok());
        // In the joint test the parties' test environments know only their test persons.
        assert!(admits("H1", &gate(RolloutStage::JointTest, 0), &tests, "o-patient", Scene::Outpatient).is_ok());
        assert!(admits("H1", &Rollout::implicit(Stage::JointTest), &tests, "o-patient", Scene::Outpatient).is_ok());
        assert_eq!(
            admits("H1", &gate(RolloutStage::Suspended, 0), &tests, "o-tester", Scene::Outpatient).unwrap_err().code(),
            "HOSPITAL_SUSPENDED"
        );
    }

    #[test]
    fn the_pilot_share_is_stable_close_to_its_percentage_and_per_scene() {
        let none = BTreeSet::new();
        let mut r = gate(RolloutStage::Pilot, 10);
        let admitted =
            |r: &Rollout, scene| (0..1000).filter(|i| admits("H1", r, &none, &format!("o-{i}"), scene).is_ok()).count();
        let n = admitted(&r, Scene::Outpatient);
        assert!((70..=130).contains(&n), "10% of 1,000 patients is {n}");
        assert_eq!(admitted(&r, Scene::Outpatient), n, "the same patients again");
        r.scenes = vec![Scene::Pharmacy];
        assert_eq!(admitted(&r, Scene::Outpatient), 0, "the share is for pharmacy only");
        assert_eq!(admitted(&r, Scene::Pharmacy), n);
        assert!(admits("H1", &r, &none, "o-device", Scene::Outpatient).is_ok(), "the allowlist pays in every scene");
        r.share_percent = 100;
        assert_eq!(admitted(&r, Scene::Pharmacy), 1000);
    }

    #[test]
    fn live_needs_a_passing_report_on_every_channel_and_production_parameters() {
        let ok = |to, config, passed: &[&str]| {
            let passed: Vec<String> = passed.iter().map(|s| s.to_string()).collect();
            check_transition(
                "H1",
                to,
                0,
                false,
                &Facts { config, fingerprint: "fp", channels: &["wechat", "alipay"], passed_channels: &passed },
            )
        };
        assert!(matches!(
            ok(RolloutStage::Live, Stage::Production, &["wechat"]),
            Err(TransitionError::AcceptanceRequired { .. })
        ));
        assert!(ok(RolloutStage::Live, Stage::Production, &["wechat", "alipay"]).is_ok());
        assert!(matches!(
            ok(RolloutStage::Live, Stage::JointTest, &["wechat", "alipay"]),
            Err(TransitionError::ConfigStage { .. })
        ));
        assert!(matches!(
            ok(RolloutStage::ClosedProduction, Stage::JointTest, &[]),
            Err(TransitionError::ConfigStage { .. })
        ));
        assert!(ok(RolloutStage::JointTest, Stage::JointTest, &[]).is_ok());
        assert!(ok(RolloutStage::Suspended, Stage::JointTest, &[]).is_ok());
        let none = Facts { config: Stage::Production, fingerprint: "fp", channels: &[], passed_channels: &[] };
        assert_eq!(check_transition("H1", RolloutStage::Pilot, 101, false, &none), Err(TransitionError::Share(101)));
        assert_eq!(check_transition("H1", RolloutStage::Live, 5, false, &none), Err(TransitionError::NotPilot));
    }

    #[test]
    fn stages_parse_with_either_separator() {
        for s in STAGES {
            assert_eq!(RolloutStage::parse(s.as_str()), Some(s));
        }
        assert_eq!(RolloutStage::parse("closed-production"), Some(RolloutStage::ClosedProduction));
        assert_eq!(RolloutStage::parse("open"), None);
    }
}
