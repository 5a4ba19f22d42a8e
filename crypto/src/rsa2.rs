//! Legacy RSA2 = SHA256withRSA (PKCS#1 v1.5), for parties still configured as legacy (REQ B-1).
//! Keys from PKCS#8 / PKCS#1 PEM, or Base64 DER as Java integrations ship them.

use crate::error::{CryptoError, Result};
use crate::text::decode_base64;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{PrivateKey as RsaPrivateKey, PublicKey as RsaPublicKey};

#[derive(Clone)]
pub struct RsaPrivate(RsaPrivateKey);

impl std::fmt::Debug for RsaPrivate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RsaPrivate(***)")
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RsaPublic(RsaPublicKey);

impl RsaPrivate {
    pub fn from_text(text: &str) -> Result<Self> {
        let t = text.trim();
        let parsed = if t.contains("BEGIN RSA PRIVATE KEY") {
            RsaPrivateKey::from_pkcs1_pem(t).map_err(|e| e.to_string())
        } else if t.starts_with("-----BEGIN") {
            RsaPrivateKey::from_pkcs8_pem(t).map_err(|e| e.to_string())
        } else {
            let der = decode_base64(t)?;
            RsaPrivateKey::from_pkcs8_der(&der)
                .map_err(|e| e.to_string())
                .or_else(|_| RsaPrivateKey::from_pkcs1_der(&der).map_err(|e| e.to_string()))
        };
        parsed.map(Self).map_err(|e| CryptoError::InvalidKey(format!("RSA private key: {e}")))
    }

    pub fn public_key(&self) -> RsaPublic {
        RsaPublic(self.0.to_public_key())
    }

    /// SHA256withRSA. Deterministic: the same key and message always give the same bytes.
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>> {
        let sk = SigningKey::<Sha256>::new(self.0.clone());
        sk.try_sign(msg).map(|s| s.to_vec()).map_err(|_| CryptoError::SignFailed)
    }
}

impl RsaPublic {
    pub fn from_text(text: &str) -> Result<Self> {
        let t = text.trim();
        let parsed = if t.contains("BEGIN RSA PUBLIC KEY") {
            RsaPublicKey::from_pkcs1_pem(t).map_err(|e| e.to_string())
        } else if t.starts_with("-----BEGIN") {
            RsaPublicKey::from_public_key_pem(t).map_err(|e| e.to_string())
        } else {
            let der = decode_base64(t)?;
            RsaPublicKey::from_public_key_der(&der)
                .map_err(|e| e.to_string())
                .or_else(|_| RsaPublicKey::from_pkcs1_der(&der).map_err(|e| e.to_string()))
        };
        parsed.map(Self).map_err(|e| CryptoError::InvalidKey(format!("RSA public key: {e}")))
    }

    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<()> {
        let sig =
            Signature::try_from(sig).map_err(|_| CryptoError::MalformedSignature("not an RSA signature".into()))?;
        VerifyingKey::<Sha256>::new(self.0.clone()).verify(msg, &sig).map_err(|_| CryptoError::BadSignature)
    }
}
