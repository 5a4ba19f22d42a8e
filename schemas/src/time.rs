//! Beijing time (UTC+8, no daylight saving): the parties' time zone, for dates, periods and
//! timestamps on the wire. Pure arithmetic on an instant the caller passes (epoch
//! milliseconds), so workflows may use it on `ctx.workflow_time()`; the one clock read,
//! [`now_ms`], is banned in `workflows/` by its clippy.toml.

use std::fmt;

const BEIJING_OFFSET_MS: i64 = 8 * 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// The wall clock in epoch milliseconds (saturating; never before 1970).
pub fn now_ms() -> i64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A calendar day in Beijing. Displays as `yyyy-MM-dd`, the one date format of the product
/// (statements' `trx_date`, reconciliation periods, report names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BeijingDate {
    pub year: i64,
    pub month: i64,
    pub day: i64,
}

/// An instant in Beijing, to the second.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BeijingTime {
    pub date: BeijingDate,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
}

impl BeijingDate {
    /// The Beijing date of an instant.
    pub fn of(epoch_ms: i64) -> Self {
        Self::from_days((epoch_ms + BEIJING_OFFSET_MS).div_euclid(DAY_MS))
    }

    /// Howard Hinnant's `civil_from_days` (days since 1970-01-01).
    fn from_days(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        Self { year: yoe + era * 400 + i64::from(month <= 2), month, day }
    }

    /// The day before.
    pub fn previous(self) -> Self {
        Self::from_days(self.days_since_epoch() - 1)
    }

    /// Howard Hinnant's `days_from_civil`.
    fn days_since_epoch(self) -> i64 {
        let y = if self.month <= 2 { self.year - 1 } else { self.year };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (self.month + 9) % 12;
        let doy = (153 * mp + 2) / 5 + self.day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// `yyyyMMdd`, as file names and some parties' fields carry a date.
    pub fn compact(self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }

    /// `yyyy-MM` of the month before this date's: the insurance reconciliation's period.
    pub fn previous_month(self) -> String {
        let (y, m) = if self.month == 1 { (self.year - 1, 12) } else { (self.year, self.month - 1) };
        format!("{y:04}-{m:02}")
    }
}

impl fmt::Display for BeijingDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl BeijingTime {
    pub fn of(epoch_ms: i64) -> Self {
        let secs = (epoch_ms + BEIJING_OFFSET_MS).div_euclid(1000).rem_euclid(86_400);
        Self { date: BeijingDate::of(epoch_ms), hour: secs / 3600, minute: secs % 3600 / 60, second: secs % 60 }
    }

    /// `yyyy-MM-dd HH:mm:ss`: the mid-platform's and the bank gateway's timestamps.
    pub fn dashed(self) -> String {
        format!("{} {:02}:{:02}:{:02}", self.date, self.hour, self.minute, self.second)
    }

    /// `yyyyMMddHHmmss`: the mid-platform envelope's timestamp.
    pub fn compact(self) -> String {
        format!("{}{:02}{:02}{:02}", self.date.compact(), self.hour, self.minute, self.second)
    }

    /// RFC 3339 with the offset (`2026-11-26T16:15:03+08:00`), as the bank's refund notice and
    /// callbacks carry it.
    pub fn rfc3339(self) -> String {
        format!("{}T{:02}:{:02}:{:02}+08:00", self.date, self.hour, self.minute, self.second)
    }

    /// `yyyy-MM-dd HH:mm`, for people (rollout reports).
    pub fn to_minute(self) -> String {
        format!("{} {:02}:{:02}", self.date, self.hour, self.minute)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_in_beijing() {
        // 2020-02-07T09:57:59Z = 17:57:59 in Beijing (the mid-platform spec example's timestamp).
        let t = BeijingTime::of(1_581_069_479_000);
        assert_eq!((t.compact(), t.dashed()), ("20200207175759".into(), "2020-02-07 17:57:59".into()));
        assert_eq!(t.rfc3339(), "2020-02-07T17:57:59+08:00");
        // Crossing midnight into a leap day's next day; the epoch; before it.
        assert_eq!(BeijingTime::of(1_709_222_400_000).compact(), "20240301000000");
        assert_eq!(BeijingDate::of(0).to_string(), "1970-01-01");
        assert_eq!(BeijingDate::of(-9 * 3_600_000).to_string(), "1969-12-31");
        // 2026-11-27 16:00 UTC is already the 28th in Beijing.
        assert_eq!(BeijingDate::of(1_795_795_200_000).to_string(), "2026-11-28");
    }

    #[test]
    fn previous_day_and_month_cross_years_and_leap_days() {
        let d = |year, month, day| BeijingDate { year, month, day };
        assert_eq!(d(2024, 3, 1).previous(), d(2024, 2, 29));
        assert_eq!(d(2026, 1, 1).previous(), d(2025, 12, 31));
        assert_eq!(d(2026, 1, 15).previous_month(), "2025-12");
        assert_eq!(d(2026, 11, 27).previous_month(), "2026-10");
        // Every day of four years round-trips through the day count.
        for days in 19_000..19_000 + 4 * 366 {
            assert_eq!(BeijingDate::from_days(days).days_since_epoch(), days);
        }
    }
}
