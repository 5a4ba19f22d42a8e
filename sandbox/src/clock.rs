//! Wall-clock helpers in Beijing time (the parties' time zone), over `medpay_schemas::time`.

use medpay_schemas::time::{BeijingDate, BeijingTime};

pub use medpay_schemas::time::now_ms;

/// yyyyMMdd
pub fn compact_date(ms: i64) -> String {
    BeijingDate::of(ms).compact()
}

/// yyyy-MM-dd, the bank's `trx_date`.
pub fn dashed_date(ms: i64) -> String {
    BeijingDate::of(ms).to_string()
}

/// yyyy-MM-dd HH:mm:ss
pub fn dashed(ms: i64) -> String {
    BeijingTime::of(ms).dashed()
}

/// RFC 3339 with +08:00.
pub fn rfc3339(ms: i64) -> String {
    BeijingTime::of(ms).rfc3339()
}
