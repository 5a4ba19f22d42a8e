//! Timestamp rendering for envelopes, in Beijing time (UTC+8, no DST). The caller passes the
//! instant: this crate reads no clock, so workflows and tests stay deterministic.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimestampFormat {
    /// yyyyMMddHHmmss, the mid-platform spec example.
    #[default]
    Compact,
    /// Epoch milliseconds, what several live peers send.
    EpochMillis,
    /// yyyy-MM-dd HH:mm:ss, the bank gateway's.
    Dashed,
}

const BEIJING_OFFSET_SECS: i64 = 8 * 3600;

impl TimestampFormat {
    pub fn render(self, epoch_millis: i64) -> String {
        if self == TimestampFormat::EpochMillis {
            return epoch_millis.to_string();
        }
        let (y, mo, d, h, mi, s) = beijing_civil(epoch_millis);
        match self {
            TimestampFormat::Compact => format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}"),
            _ => format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"),
        }
    }
}

/// (year, month, day, hour, minute, second) in UTC+8.
pub fn beijing_civil(epoch_millis: i64) -> (i64, i64, i64, i64, i64, i64) {
    let secs = epoch_millis.div_euclid(1000) + BEIJING_OFFSET_SECS;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, sod / 3600, sod % 3600 / 60, sod % 60)
}

/// RFC 3339 in Beijing time (`2026-11-26T16:15:03+08:00`), as the bank's refund notify and
/// callbacks carry it.
pub fn rfc3339_beijing(epoch_millis: i64) -> String {
    let (y, mo, d, h, mi, s) = beijing_civil(epoch_millis);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}+08:00")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_beijing_time() {
        // 2020-02-07T09:57:59Z = 17:57:59 in Beijing (the spec example's timestamp).
        let ms = 1_581_069_479_000;
        assert_eq!(TimestampFormat::Compact.render(ms), "20200207175759");
        assert_eq!(TimestampFormat::Dashed.render(ms), "2020-02-07 17:57:59");
        assert_eq!(TimestampFormat::EpochMillis.render(ms), "1581069479000");
        // Crossing midnight and a leap day.
        assert_eq!(TimestampFormat::Compact.render(1_709_222_400_000), "20240301000000");
    }
}
