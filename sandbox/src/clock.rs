//! Wall-clock helpers in Beijing time (the parties' time zone).

use medpay_crypto::envelope::time::{TimestampFormat, beijing_civil};

pub fn now_ms() -> i64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// yyyyMMdd
pub fn compact_date(ms: i64) -> String {
    let (y, m, d, ..) = beijing_civil(ms);
    format!("{y:04}{m:02}{d:02}")
}

/// yyyy-MM-dd, the bank's `trx_date`.
pub fn dashed_date(ms: i64) -> String {
    let (y, m, d, ..) = beijing_civil(ms);
    format!("{y:04}-{m:02}-{d:02}")
}

/// yyyy-MM-dd HH:mm:ss
pub fn dashed(ms: i64) -> String {
    TimestampFormat::Dashed.render(ms)
}

/// RFC 3339 with +08:00.
pub fn rfc3339(ms: i64) -> String {
    medpay_crypto::envelope::time::rfc3339_beijing(ms)
}
