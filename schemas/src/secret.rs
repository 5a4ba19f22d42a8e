//! `Secret<T>`: a wrapper for credentials and personal data (payAuthNo, payToken, appSecret, ID
//! numbers) whose `Debug` and `Display` never show the content, so a stray `{:?}` in a log line
//! or an error message cannot leak it (REQ S-4.1e).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A value that must never be printed. Read it deliberately with [`Secret::expose`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub const fn new(value: T) -> Self {
        Self(value)
    }

    /// The only way to read the value; grep for `expose` to audit every use.
    pub fn expose(&self) -> &T {
        &self.0
    }

    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Serialises the content: wire types need the real value on the wire. Keeping secrets out of
/// workflow history is the payload codec's job, not this type's.
impl<T: Serialize> Serialize for Secret<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("AUTH-350181199011193519".to_string());
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{s}"), "***");
        assert!(!format!("{s:?} {s} {s:#?}").contains("3501"));
        assert_eq!(s.expose(), "AUTH-350181199011193519");
    }

    #[test]
    fn serde_round_trips_the_value() {
        let s = Secret::new("x".to_string());
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, "\"x\"");
        let back: Secret<String> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }
}
