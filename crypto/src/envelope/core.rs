//! The insurance core's message signature (REQ S-4.1a; the national FSI interface's `cainfo`
//! and `signtype` fields): each request and reply is signed whole, the two signature fields
//! left out, over the canonical JSON (keys sorted, empty values pruned, as the mid-platform's
//! data block). The canonical form makes the signature independent of key order and of the
//! optional empty fields different SDKs send or omit.

use super::canonical::{NumberStyle, prune, to_sorted_json};
use crate::error::{CryptoError, Result};
use crate::signer::{PrivateKey, PublicKey, SignatureScheme};
use crate::text::{decode_base64, encode_base64};
use serde_json::Value;

/// The bytes the signature covers: the message without `cainfo` and `signtype`.
pub fn sign_string(message: &Value) -> String {
    let mut m = message.clone();
    if let Value::Object(map) = &mut m {
        map.remove("cainfo");
        map.remove("signtype");
    }
    prune(&m).map(|v| to_sorted_json(&v, NumberStyle::Literal)).unwrap_or_default()
}

/// Sets `signtype` and `cainfo` (base64 of the signature) on a request or reply object.
pub fn sign(message: &mut Value, scheme: &SignatureScheme, key: &PrivateKey) -> Result<()> {
    let signature = key.sign(scheme, sign_string(message).as_bytes())?;
    let Value::Object(map) = message else {
        return Err(CryptoError::InvalidKey("a core message is a JSON object".into()));
    };
    map.insert("signtype".into(), Value::String(scheme.label().into()));
    map.insert("cainfo".into(), Value::String(encode_base64(&signature)));
    Ok(())
}

/// Why a core message's signature was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CoreSignatureError {
    #[error("the message is unsigned (cainfo is empty)")]
    Unsigned,
    #[error("signtype {0:?} is not the agreed {1}")]
    WrongType(String, &'static str),
    #[error("cainfo is not base64")]
    NotBase64,
    #[error("the signature does not verify: the message was altered or signed with another key")]
    Mismatch,
}

/// Checks a message signed by [`sign`] with the peer's key.
pub fn verify(
    message: &Value,
    scheme: &SignatureScheme,
    peer: &PublicKey,
) -> std::result::Result<(), CoreSignatureError> {
    let cainfo = message["cainfo"].as_str().unwrap_or_default();
    if cainfo.is_empty() {
        return Err(CoreSignatureError::Unsigned);
    }
    let signtype = message["signtype"].as_str().unwrap_or_default();
    if !signtype.eq_ignore_ascii_case(scheme.label()) {
        return Err(CoreSignatureError::WrongType(signtype.into(), scheme.label()));
    }
    let signature = decode_base64(cainfo).map_err(|_| CoreSignatureError::NotBase64)?;
    peer.verify(scheme, sign_string(message).as_bytes(), &signature).map_err(|_| CoreSignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sm2::Sm2PrivateKey;
    use serde_json::json;

    fn key(byte: u8) -> PrivateKey {
        PrivateKey::Sm2(Sm2PrivateKey::from_raw(&[byte; 32]).unwrap())
    }

    #[test]
    fn the_sign_string_ignores_key_order_empty_fields_and_the_signature_fields() {
        let a = json!({"infno": "9001", "msgid": "M1", "cainfo": "x", "signtype": "SM2", "dev_no": "", "input": {"signIn": {"opter_no": "1", "ip": "127.0.0.1"}}});
        let b = json!({"input": {"signIn": {"ip": "127.0.0.1", "opter_no": "1"}}, "msgid": "M1", "infno": "9001"});
        assert_eq!(sign_string(&a), sign_string(&b));
        assert_eq!(
            sign_string(&b),
            r#"{"infno":"9001","input":{"signIn":{"ip":"127.0.0.1","opter_no":"1"}},"msgid":"M1"}"#
        );
    }

    #[test]
    fn a_signed_message_verifies_and_any_change_or_other_key_is_refused() {
        let scheme = SignatureScheme::sm2(Default::default());
        let mut m = json!({"infno": "1101", "msgid": "M2", "fixmedins_code": "H1", "input": {"data": {"mdtrt_cert_no": "AUTH"}}});
        sign(&mut m, &scheme, &key(7)).unwrap();
        assert_eq!(m["signtype"], "SM2");
        assert_eq!(verify(&m, &scheme, &key(7).public_key()), Ok(()));
        assert_eq!(verify(&m, &scheme, &key(8).public_key()), Err(CoreSignatureError::Mismatch));
        let mut altered = m.clone();
        altered["input"]["data"]["mdtrt_cert_no"] = json!("OTHER");
        assert_eq!(verify(&altered, &scheme, &key(7).public_key()), Err(CoreSignatureError::Mismatch));
        let mut unsigned = m.clone();
        unsigned["cainfo"] = json!("");
        assert_eq!(verify(&unsigned, &scheme, &key(7).public_key()), Err(CoreSignatureError::Unsigned));
        let mut rsa = m;
        rsa["signtype"] = json!("RSA2");
        assert!(matches!(verify(&rsa, &scheme, &key(7).public_key()), Err(CoreSignatureError::WrongType(..))));
    }
}
