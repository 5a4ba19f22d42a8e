//! One signing/verification interface over SM2 and legacy RSA2, so which algorithm a
//! counterparty uses is configuration (REQ B-1), not code.

use crate::error::{CryptoError, Result};
use crate::rsa2::{RsaPrivate, RsaPublic};
use crate::sm2::{DEFAULT_SM2_ID, Sm2PrivateKey, Sm2PublicKey, Sm2SignatureFormat, sm2_sign, sm2_verify};
use serde::{Deserialize, Serialize};

/// The signature scheme of a connection, as written in configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "algorithm")]
pub enum SignatureScheme {
    Sm2 {
        #[serde(default = "default_id")]
        id: String,
        #[serde(default)]
        format: Sm2SignatureFormat,
    },
    /// SHA256withRSA, legacy parties only.
    Rsa2,
}

fn default_id() -> String {
    DEFAULT_SM2_ID.to_string()
}

impl SignatureScheme {
    pub fn sm2(format: Sm2SignatureFormat) -> Self {
        Self::Sm2 { id: default_id(), format }
    }

    /// The label parties put in `sign_type` / `signType`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Sm2 { .. } => "SM2",
            Self::Rsa2 => "RSA2",
        }
    }
}

#[derive(Clone, Debug)]
pub enum PrivateKey {
    Sm2(Sm2PrivateKey),
    Rsa(Box<RsaPrivate>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum PublicKey {
    Sm2(Sm2PublicKey),
    Rsa(RsaPublic),
}

impl PrivateKey {
    /// Loads key text for the given scheme.
    pub fn from_text(scheme: &SignatureScheme, text: &str) -> Result<Self> {
        match scheme {
            SignatureScheme::Sm2 { .. } => Sm2PrivateKey::from_text(text).map(Self::Sm2),
            SignatureScheme::Rsa2 => RsaPrivate::from_text(text).map(|k| Self::Rsa(Box::new(k))),
        }
    }

    pub fn public_key(&self) -> PublicKey {
        match self {
            Self::Sm2(k) => PublicKey::Sm2(k.public_key()),
            Self::Rsa(k) => PublicKey::Rsa(k.public_key()),
        }
    }

    pub fn sign(&self, scheme: &SignatureScheme, msg: &[u8]) -> Result<Vec<u8>> {
        match (scheme, self) {
            (SignatureScheme::Sm2 { id, format }, Self::Sm2(k)) => sm2_sign(k, id, msg, *format),
            (SignatureScheme::Rsa2, Self::Rsa(k)) => k.sign(msg),
            _ => Err(CryptoError::InvalidKey(format!("a {} key cannot sign with {}", self.kind(), scheme.label()))),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Sm2(_) => "SM2",
            Self::Rsa(_) => "RSA",
        }
    }
}

impl PublicKey {
    pub fn from_text(scheme: &SignatureScheme, text: &str) -> Result<Self> {
        match scheme {
            SignatureScheme::Sm2 { .. } => Sm2PublicKey::from_text(text).map(Self::Sm2),
            SignatureScheme::Rsa2 => RsaPublic::from_text(text).map(Self::Rsa),
        }
    }

    pub fn verify(&self, scheme: &SignatureScheme, msg: &[u8], sig: &[u8]) -> Result<()> {
        match (scheme, self) {
            (SignatureScheme::Sm2 { id, format }, Self::Sm2(k)) => sm2_verify(k, id, msg, sig, *format),
            (SignatureScheme::Rsa2, Self::Rsa(k)) => k.verify(msg, sig),
            _ => Err(CryptoError::InvalidKey(format!("key type does not match {}", scheme.label()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_reads_from_configuration() {
        let s: SignatureScheme = serde_json::from_str(r#"{"algorithm":"sm2","format":"raw"}"#).unwrap();
        assert_eq!(s, SignatureScheme::sm2(Sm2SignatureFormat::Raw));
        let r: SignatureScheme = serde_json::from_str(r#"{"algorithm":"rsa2"}"#).unwrap();
        assert_eq!(r.label(), "RSA2");
    }

    #[test]
    fn mismatched_key_and_scheme_is_a_clear_error() {
        let k = PrivateKey::Sm2(Sm2PrivateKey::generate().unwrap());
        let e = k.sign(&SignatureScheme::Rsa2, b"x").unwrap_err();
        assert!(e.to_string().contains("SM2 key cannot sign with RSA2"), "{e}");
    }
}
