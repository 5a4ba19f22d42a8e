//! The payer's ID-number digest in the bank's mixed order (`payer_id_digest`): lowercase hex of
//! the digest of the upper-cased ID number. The channels document MD5 (docs/PROTOCOLS.md §1.3:
//! `44030019000101123x` → `09eb26e839ff3a2e3980352ae45ef09e`); a bank that follows the national
//! algorithms may ask for SM3, so the algorithm is the hospital's configuration.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdDigest {
    /// What the channels document.
    #[default]
    Md5,
    Sm3,
}

impl IdDigest {
    /// The digest of the upper-cased ID number (an 18-digit ID's check letter is `X`, never `x`).
    pub fn of(self, id_no: &str) -> String {
        let upper = id_no.trim().to_uppercase();
        match self {
            Self::Md5 => {
                use md5::{Digest, Md5};
                hex::encode(Md5::digest(upper.as_bytes()))
            }
            Self::Sm3 => hex::encode(crate::sm3::sm3(upper.as_bytes())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_channels_documented_example() {
        assert_eq!(IdDigest::Md5.of("44030019000101123x"), "09eb26e839ff3a2e3980352ae45ef09e");
        assert_eq!(IdDigest::Md5.of("44030019000101123X"), IdDigest::Md5.of("44030019000101123x"));
        assert_ne!(IdDigest::Sm3.of("44030019000101123X"), IdDigest::Md5.of("44030019000101123X"));
        assert_eq!(IdDigest::Sm3.of("44030019000101123X").len(), 64);
    }
}
