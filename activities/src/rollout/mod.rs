//! The rollout gate (REQ O-5, go-live steps 3-4): where each hospital is on its way to live
//! (`onboarding → joint_test → closed_production → pilot → live`, or `suspended`), who may pay
//! at each stage, every change recorded, and the acceptance reports a move to `live` needs.
//! `gate` is the pure decision; `store` is the ledger's tables; `service` joins them for the
//! API and the CLI.

pub mod gate;
pub mod service;
pub mod store;

pub use gate::{Refusal, Rollout, RolloutStage, TransitionError};
