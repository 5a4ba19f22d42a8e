//! The envelope timestamp's format, per party; rendered in Beijing time
//! (`medpay_schemas::time`). The caller passes the instant: this crate reads no clock.

use medpay_schemas::time::BeijingTime;
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

impl TimestampFormat {
    pub fn render(self, epoch_millis: i64) -> String {
        match self {
            TimestampFormat::EpochMillis => epoch_millis.to_string(),
            TimestampFormat::Compact => BeijingTime::of(epoch_millis).compact(),
            TimestampFormat::Dashed => BeijingTime::of(epoch_millis).dashed(),
        }
    }
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
    }
}
