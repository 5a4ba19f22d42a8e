//! `Secret<T>`: a wrapper for credentials and personal data (payAuthNo, payToken, appSecret, ID
//! numbers) whose `Debug` and `Display` never show the content, so a stray `{:?}` in a log line
//! or an error message cannot leak it (REQ S-4.1e). The value is zeroized when dropped, so a
//! key or token does not linger in freed memory (core dumps, swap).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use zeroize::Zeroize;

/// A value that must never be printed. Read it deliberately with [`Secret::expose`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T: Zeroize>(T);

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> Secret<T> {
    pub const fn new(value: T) -> Self {
        Self(value)
    }

    /// The only way to read the value; grep for `expose` to audit every use.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Moves the value out (the wrapper's emptied copy is what gets zeroized).
    pub fn into_inner(mut self) -> T
    where
        T: Default,
    {
        std::mem::take(&mut self.0)
    }
}

impl<T: Zeroize> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl<T: Zeroize> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Serialises the content: wire types need the real value on the wire. Keeping secrets out of
/// workflow history is the payload codec's job, not this type's.
impl<T: Serialize + Zeroize> Serialize for Secret<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de> + Zeroize> Deserialize<'de> for Secret<T> {
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
    fn dropping_zeroizes_the_value() {
        let mut s = Secret::new(vec![0xA5u8; 32]);
        s.0.zeroize();
        assert!(s.expose().is_empty(), "zeroize empties the buffer it owns");
        let taken = Secret::new("k".to_string()).into_inner();
        assert_eq!(taken, "k", "into_inner still hands the value over");
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
