//! Channel authorisation request signing (WeChat med-ins user query, docs/PROTOCOLS.md §1.1):
//! `god-portal-signature` = lower-case hex HMAC-SHA256(partnerSecret, partnerId + timestamp).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub const HEADER_TIMESTAMP: &str = "god-portal-timestamp";
pub const HEADER_REQUEST_ID: &str = "god-portal-request-id";
pub const HEADER_SIGNATURE: &str = "god-portal-signature";

fn mac(partner_secret: &str, partner_id: &str, timestamp_millis: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so construction cannot fail.
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(partner_secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    m.update(partner_id.as_bytes());
    m.update(timestamp_millis.as_bytes());
    m
}

pub fn channel_signature(partner_id: &str, partner_secret: &str, timestamp_millis: &str) -> String {
    hex::encode(mac(partner_secret, partner_id, timestamp_millis).finalize().into_bytes())
}

/// Constant-time check of a received signature header.
pub fn verify_channel_signature(
    partner_id: &str,
    partner_secret: &str,
    timestamp_millis: &str,
    signature_hex: &str,
) -> bool {
    match hex::decode(signature_hex) {
        Ok(sig) => mac(partner_secret, partner_id, timestamp_millis).verify_slice(&sig).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_style_check_and_verification() {
        // HMAC-SHA256(key="key", "The quick brown fox jumps over the lazy dog") is a well-known value.
        let sig = channel_signature("The quick brown fox ", "key", "jumps over the lazy dog");
        assert_eq!(sig, "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
        assert!(verify_channel_signature("The quick brown fox ", "key", "jumps over the lazy dog", &sig));
        assert!(!verify_channel_signature("p", "key", "1", &sig));
        assert!(!verify_channel_signature("p", "key", "1", "zz"));
    }
}
