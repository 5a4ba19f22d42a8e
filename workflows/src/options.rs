//! The activity options the workflows use, by name. Every retry starts after a second and
//! doubles; what differs is how long one attempt may take, the longest pause between attempts
//! and how long a step may keep failing before the workflow treats it as failed.

use std::time::Duration;
use temporalio_common::{ActivityCloseTimeouts, RetryPolicy};
use temporalio_sdk::ActivityOptions;

/// The first retry's pause; each next one doubles up to the step's maximum.
const FIRST_RETRY: Duration = Duration::from_secs(1);
const BACKOFF: f64 = 2.0;

/// One attempt of a call to a party plus a ledger write (a party call times out after 10 s;
/// identification makes two).
pub const PARTY_ATTEMPT: Duration = Duration::from_secs(30);
/// A notice to the HIS is retried this long; an HIS that stays down does not hold a payment
/// or a refund open longer.
pub const HIS_NOTICE_HORIZON: Duration = Duration::from_secs(24 * 3600);
/// A refund's news on the way (requested, needs attention) is retried this long only: the HIS
/// can always ask the API.
pub const HIS_NEWS_HORIZON: Duration = Duration::from_secs(30);
/// A statement may be late; the fetch keeps trying this long before the run fails visibly.
pub const STATEMENT_WAIT: Duration = Duration::from_secs(24 * 3600);

fn backoff(max_pause: Duration) -> RetryPolicy {
    RetryPolicy::builder()
        .initial_interval(FIRST_RETRY)
        .backoff_coefficient(BACKOFF)
        .maximum_interval(max_pause)
        .build()
}

fn within(horizon: Duration, attempt: Duration, max_pause: Duration) -> ActivityOptions {
    ActivityOptions::with_close_timeouts(ActivityCloseTimeouts::ScheduleAndStartToClose {
        schedule_to_close: horizon,
        start_to_close: attempt,
    })
    .retry_policy(backoff(max_pause))
    .build()
}

/// A payment step (identify, upload, pre-settle, order, record, revoke): retried until it
/// succeeds or a party refuses; pauses stay short because the patient is waiting.
pub fn payment_step() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(PARTY_ATTEMPT).retry_policy(backoff(Duration::from_secs(10))).build()
}

/// One bank query per round, bounded by the round: a bank that does not answer is "no result
/// yet" (the next round asks again), never a stuck payment (REQ Q-9).
pub fn query_round(every_secs: u64) -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(every_secs.clamp(1, 10)))
        .retry_policy(RetryPolicy::builder().maximum_attempts(1).build())
        .build()
}

/// A notice to the HIS, retried within `horizon` (attempts of `attempt` each, pauses up to
/// five minutes).
pub fn his_notice(horizon: Duration, attempt: Duration) -> ActivityOptions {
    within(horizon, attempt, Duration::from_secs(300))
}

/// A refund step, retried for `horizon` (the refund's attention threshold); then an operator
/// decides.
pub fn refund_step(horizon: Duration) -> ActivityOptions {
    within(horizon, PARTY_ATTEMPT, Duration::from_secs(30))
}

/// A ledger write of the refund workflow: retried until the database answers.
pub fn refund_record() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(PARTY_ATTEMPT)
        .retry_policy(
            RetryPolicy::builder().initial_interval(FIRST_RETRY).maximum_interval(Duration::from_secs(30)).build(),
        )
        .build()
}

/// A reconciliation step over a whole statement (load, classify, act, report).
pub fn recon_step() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(600))
        .retry_policy(backoff(Duration::from_secs(60)))
        .build()
}

/// Fetching a statement over SFTP: a file not there yet is retried for [`STATEMENT_WAIT`].
pub fn statement_fetch() -> ActivityOptions {
    ActivityOptions::with_close_timeouts(ActivityCloseTimeouts::ScheduleAndStartToClose {
        schedule_to_close: STATEMENT_WAIT,
        start_to_close: Duration::from_secs(300),
    })
    .retry_policy(
        RetryPolicy::builder()
            .initial_interval(Duration::from_secs(2))
            .backoff_coefficient(BACKOFF)
            .maximum_interval(Duration::from_secs(600))
            .build(),
    )
    .build()
}
