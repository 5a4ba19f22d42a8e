//! `Money`: an amount in integer fen (分), end to end. Parsing and printing of yuan strings
//! ("12.30") is exact decimal text handling; no float ever touches an amount.
//!
//! Parties disagree on units: the bank and WeChat speak integer fen, the mid-platform speaks
//! yuan with two decimals. The serde adapters in [`yuan`] and [`fen_string`] are chosen per wire
//! field; `Money` itself serialises as integer fen.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// An amount in fen. Negative amounts exist only as differences (reconciliation deltas);
/// wire types that carry a payment amount use [`Money::parse_yuan`] which rejects them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Money(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount {0:?} is not a yuan amount with at most two decimals (expected e.g. \"12.30\")")]
    InvalidYuan(String),
    #[error("amount {0:?} is negative; payment amounts must be >= 0")]
    Negative(String),
    #[error("amount overflows: {0}")]
    Overflow(&'static str),
}

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_fen(fen: i64) -> Self {
        Money(fen)
    }

    pub const fn fen(self) -> i64 {
        self.0
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.0.checked_add(other.0).map(Money).ok_or(MoneyError::Overflow("add"))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.0.checked_sub(other.0).map(Money).ok_or(MoneyError::Overflow("sub"))
    }

    /// Sum of many amounts; `Err` on overflow instead of wrapping.
    pub fn checked_sum<I: IntoIterator<Item = Money>>(items: I) -> Result<Money, MoneyError> {
        items.into_iter().try_fold(Money::ZERO, Money::checked_add)
    }

    /// Parses a non-negative yuan string: "12", "12.3", "12.30", "0.05". Rejects signs other than
    /// none, more than two decimals, exponents, whitespace and empty parts.
    pub fn parse_yuan(text: &str) -> Result<Money, MoneyError> {
        let m = Self::parse_signed_yuan(text)?;
        if m.is_negative() {
            return Err(MoneyError::Negative(text.to_string()));
        }
        Ok(m)
    }

    /// Like [`Money::parse_yuan`] but accepts a leading '-' (statement reversals, deltas).
    pub fn parse_signed_yuan(text: &str) -> Result<Money, MoneyError> {
        let invalid = || MoneyError::InvalidYuan(text.to_string());
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (int_part, frac_part) = match unsigned.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (unsigned, None),
        };
        if int_part.is_empty() || !int_part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let frac_fen: i64 = match frac_part {
            None => 0,
            Some(f) if f.is_empty() || f.len() > 2 || !f.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(invalid());
            }
            Some(f) => {
                let digits: i64 = f.parse().map_err(|_| invalid())?;
                if f.len() == 1 { digits * 10 } else { digits }
            }
        };
        let yuan: i64 = int_part.parse().map_err(|_| MoneyError::Overflow("parse"))?;
        let fen = yuan.checked_mul(100).and_then(|v| v.checked_add(frac_fen)).ok_or(MoneyError::Overflow("parse"))?;
        Ok(Money(if negative { -fen } else { fen }))
    }

    /// Always two decimals: 1230 fen -> "12.30", 5 -> "0.05", -5 -> "-0.05".
    pub fn to_yuan_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl fmt::Display for Money {
    /// Prints yuan with the currency, for people: "¥12.30".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "¥{}", self.to_yuan_string())
    }
}

impl FromStr for Money {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::parse_yuan(s)
    }
}

/// Serde adapter for the mid-platform: yuan with two decimals. Serialises as a string ("12.30");
/// deserialises from a string or a JSON number. A JSON number arrives as an `f64` from
/// serde_json; it is only turned back into its shortest decimal text (which round-trips exactly
/// for any amount below 2^53 / 100) and then parsed as text, never computed with.
pub mod yuan {
    use super::*;

    pub fn serialize<S: Serializer>(m: &Money, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&m.to_yuan_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        d.deserialize_any(YuanVisitor)
    }

    pub(super) struct YuanVisitor;

    impl serde::de::Visitor<'_> for YuanVisitor {
        type Value = Money;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a yuan amount such as \"12.30\" or 12.3")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Money, E> {
            Money::parse_yuan(v.trim()).map_err(E::custom)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Money, E> {
            Money::parse_yuan(&v.to_string()).map_err(E::custom)
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Money, E> {
            Money::parse_yuan(&v.to_string()).map_err(E::custom)
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Money, E> {
            // Display for f64 prints the shortest text that round-trips; see the module comment.
            Money::parse_yuan(&format!("{v}")).map_err(E::custom)
        }
    }

    /// The same for optional fields (absent or null -> None; "" -> None).
    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(m: &Option<Money>, s: S) -> Result<S::Ok, S::Error> {
            match m {
                Some(m) => s.serialize_str(&m.to_yuan_string()),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Money>, D::Error> {
            let v = Option::<serde_json::Value>::deserialize(d)?;
            match v {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(other) => super::deserialize(other).map(Some).map_err(serde::de::Error::custom),
            }
        }
    }
}

/// Serde adapter for integer fen carried as a decimal string ("1230"), as the bank gateway does.
pub mod fen_string {
    use super::*;

    pub fn serialize<S: Serializer>(m: &Money, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&m.fen().to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Money;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer number of fen, as a string or a number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Money, E> {
                if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(E::custom(format!("{v:?} is not an integer number of fen")));
                }
                v.parse::<i64>().map(Money::from_fen).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Money, E> {
                i64::try_from(v).map(Money::from_fen).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Money, E> {
                if v < 0 {
                    return Err(E::custom("negative fen amount"));
                }
                Ok(Money::from_fen(v))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_prints_yuan_exactly() {
        for (text, fen) in [("12.30", 1230), ("12.3", 1230), ("12", 1200), ("0.05", 5), ("0.5", 50), ("0", 0)] {
            assert_eq!(Money::parse_yuan(text).unwrap().fen(), fen, "{text}");
        }
        assert_eq!(Money::from_fen(1230).to_yuan_string(), "12.30");
        assert_eq!(Money::from_fen(5).to_yuan_string(), "0.05");
        assert_eq!(Money::from_fen(-5).to_yuan_string(), "-0.05");
        assert_eq!(Money::from_fen(100_000_001).to_string(), "¥1000000.01");
    }

    #[test]
    fn rejects_what_is_not_a_two_decimal_yuan_amount() {
        for bad in ["", ".", "1.", ".5", "1.234", "1e3", " 1", "1,00", "+1", "--1", "1.2.3", "abc", "-1"] {
            assert!(Money::parse_yuan(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(Money::parse_signed_yuan("-1.5").unwrap().fen(), -150);
        assert!(matches!(Money::parse_yuan("99999999999999999999"), Err(MoneyError::Overflow(_))));
    }

    #[test]
    fn arithmetic_is_checked() {
        assert!(Money::from_fen(i64::MAX).checked_add(Money::from_fen(1)).is_err());
        assert!(Money::from_fen(i64::MIN).checked_sub(Money::from_fen(1)).is_err());
        let total = Money::checked_sum([1, 2, 3].map(Money::from_fen)).unwrap();
        assert_eq!(total.fen(), 6);
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct MidPlatformAmounts {
        #[serde(with = "yuan")]
        fee: Money,
        #[serde(with = "yuan::option", default)]
        own: Option<Money>,
    }

    #[test]
    fn yuan_serde_accepts_strings_and_numbers_and_writes_strings() {
        let a: MidPlatformAmounts = serde_json::from_str(r#"{"fee":"12.30","own":0.1}"#).unwrap();
        assert_eq!(a, MidPlatformAmounts { fee: Money::from_fen(1230), own: Some(Money::from_fen(10)) });
        assert_eq!(serde_json::to_string(&a).unwrap(), r#"{"fee":"12.30","own":"0.10"}"#);
        let b: MidPlatformAmounts = serde_json::from_str(r#"{"fee":12.3,"own":""}"#).unwrap();
        assert_eq!(b.fee.fen(), 1230);
        assert_eq!(b.own, None);
        assert!(serde_json::from_str::<MidPlatformAmounts>(r#"{"fee":12.345}"#).is_err());
        assert!(serde_json::from_str::<MidPlatformAmounts>(r#"{"fee":"-1"}"#).is_err());
    }

    proptest! {
        #[test]
        fn yuan_text_round_trips(fen in 0i64..=9_000_000_000_000_000) {
            let m = Money::from_fen(fen);
            prop_assert_eq!(Money::parse_yuan(&m.to_yuan_string()).unwrap(), m);
        }

        #[test]
        fn json_numbers_round_trip_exactly(fen in 0i64..=(1i64 << 53) / 100) {
            let text = Money::from_fen(fen).to_yuan_string();
            let number: serde_json::Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(yuan::deserialize(number).unwrap().fen(), fen);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,24}") {
            let _ = Money::parse_signed_yuan(&s);
        }
    }
}
