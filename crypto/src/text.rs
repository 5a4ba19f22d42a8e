//! Binary-to-text encodings. Which one a party uses (hex upper/lower, Base64) is configuration.

use crate::error::{CryptoError, Result};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextEncoding {
    HexUpper,
    HexLower,
    #[default]
    Base64,
}

impl TextEncoding {
    pub fn encode(self, bytes: &[u8]) -> String {
        match self {
            TextEncoding::HexUpper => hex::encode_upper(bytes),
            TextEncoding::HexLower => hex::encode(bytes),
            TextEncoding::Base64 => base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }

    pub fn decode(self, text: &str) -> Result<Vec<u8>> {
        match self {
            TextEncoding::HexUpper | TextEncoding::HexLower => decode_hex(text),
            TextEncoding::Base64 => decode_base64(text),
        }
    }
}

pub fn decode_hex(text: &str) -> Result<Vec<u8>> {
    hex::decode(text.trim()).map_err(|e| CryptoError::Encoding { encoding: "hex", detail: e.to_string() })
}

/// Standard Base64; tolerates line breaks and missing padding, which key files often have.
pub fn decode_base64(text: &str) -> Result<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let trimmed = compact.trim_end_matches('=');
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(trimmed)
        .map_err(|e| CryptoError::Encoding { encoding: "base64", detail: e.to_string() })
}

pub fn encode_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Keys are shipped as hex or Base64 without saying which: hex when every char is a hex digit
/// and the length is even, Base64 otherwise.
pub fn decode_hex_or_base64(text: &str) -> Result<Vec<u8>> {
    let t = text.trim();
    let t = t.strip_prefix("0x").unwrap_or(t);
    if !t.is_empty() && t.len().is_multiple_of(2) && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        decode_hex(t)
    } else {
        decode_base64(t)
    }
}
