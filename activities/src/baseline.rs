//! The engine baseline's activity: does nothing, so a workflow made of it measures what the
//! Temporal server, the SDK and our worker settings cost on their own (`medpay bench product`).

use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

pub struct BaselineActivities;

#[activities]
impl BaselineActivities {
    /// Returns its input: the payload still crosses the codec and the server like a real one.
    #[activity]
    pub async fn step(_ctx: ActivityContext, n: u32) -> Result<u32, ActivityError> {
        Ok(n)
    }
}
