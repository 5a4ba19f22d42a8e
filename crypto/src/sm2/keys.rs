//! Loading SM2 keys from what counterparties actually ship: PKCS#8 / SPKI PEM, SEC1 PEM (incl.
//! OpenSSL's "SM2 PRIVATE KEY" label), raw hex or Base64 of the 32-byte scalar (a 33-byte value
//! with a leading 0x00 is stripped), and public keys as 04||X||Y, X||Y, hex or Base64.

use super::verify::PointTable;
use crate::error::{CryptoError, Result};
use crate::text::decode_hex_or_base64;
use sm2::dsa::SigningKey;
use sm2::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use sm2::{PublicKey, SecretKey};

/// The SM2 distinguishing ID every party in this domain uses. Always passed explicitly: OpenSSL
/// and some Go libraries silently sign with an empty ID otherwise (crypto-evaluation.md §6.1).
pub const DEFAULT_SM2_ID: &str = "1234567812345678";

/// An SM2 private key. Debug never prints the scalar.
///
/// The signing key for the first distinguishing ID it signs with is built once and kept beside
/// the scalar: building one costs a scalar multiplication (d·G), as much as the signature itself,
/// and every party call and signed acknowledgement signs (the sm2 crate's `SigningKey` does not
/// zeroize; it lives exactly as long as this key, which lives as long as the configuration).
#[derive(Clone)]
pub struct Sm2PrivateKey(SecretKey, std::sync::Arc<std::sync::OnceLock<(String, SigningKey)>>);

impl std::fmt::Debug for Sm2PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sm2PrivateKey(public={})", self.public_key().to_hex())
    }
}

/// An SM2 public key. The table of its multiples that verification uses is built on the first
/// verification and shared by clones (see `verify.rs`).
#[derive(Clone)]
pub struct Sm2PublicKey(PublicKey, std::sync::Arc<std::sync::OnceLock<PointTable>>);

impl PartialEq for Sm2PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for Sm2PublicKey {}

impl std::fmt::Debug for Sm2PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sm2PublicKey({})", self.to_hex())
    }
}

impl Sm2PrivateKey {
    /// Any of the accepted text forms (PEM, hex, Base64), detected from the text.
    pub fn from_text(text: &str) -> Result<Self> {
        let t = text.trim();
        if t.starts_with("-----BEGIN") {
            return Self::from_pem(t);
        }
        Self::from_raw(&decode_hex_or_base64(t)?)
    }

    pub fn from_pem(pem: &str) -> Result<Self> {
        if pem.contains("BEGIN PRIVATE KEY") {
            return SecretKey::from_pkcs8_pem(pem)
                .map(Self::wrap)
                .map_err(|e| CryptoError::InvalidKey(format!("PKCS#8 SM2 private key: {e}")));
        }
        // `openssl ec` writes SEC1 bodies under an "SM2 PRIVATE KEY" label.
        let relabelled = pem.replace("SM2 PRIVATE KEY", "EC PRIVATE KEY");
        if relabelled.contains("BEGIN EC PRIVATE KEY") {
            return SecretKey::from_sec1_pem(&relabelled)
                .map(Self::wrap)
                .map_err(|e| CryptoError::InvalidKey(format!("SEC1 SM2 private key: {e}")));
        }
        Err(CryptoError::InvalidKey("PEM is neither PRIVATE KEY nor EC/SM2 PRIVATE KEY".into()))
    }

    /// The raw scalar d: 32 bytes, or 33 with a leading 0x00 (Java BigInteger sign byte).
    pub fn from_raw(bytes: &[u8]) -> Result<Self> {
        let d = match bytes {
            [0, rest @ ..] if rest.len() == 32 => rest,
            d if d.len() == 32 => d,
            other => {
                return Err(CryptoError::InvalidKey(format!(
                    "SM2 private key is {} bytes, expected 32 (or 33 with a leading 0x00)",
                    other.len()
                )));
            }
        };
        SecretKey::from_slice(d)
            .map(Self::wrap)
            .map_err(|_| CryptoError::InvalidKey("SM2 private key is out of range".into()))
    }

    fn wrap(secret: SecretKey) -> Self {
        Self(secret, Default::default())
    }

    pub fn public_key(&self) -> Sm2PublicKey {
        match self.1.get() {
            Some((_, sk)) => Sm2PublicKey::wrap(
                PublicKey::from_affine(*sk.verifying_key().as_affine()).unwrap_or_else(|_| self.0.public_key()),
            ),
            None => Sm2PublicKey::wrap(self.0.public_key()),
        }
    }

    /// Runs `f` with the signing key for `id`: the cached one, or (another ID) a fresh one.
    pub(crate) fn with_signing_key<R>(&self, id: &str, f: impl FnOnce(&SigningKey) -> R) -> Result<R> {
        let build = || {
            SigningKey::new(id, &self.0).map_err(|_| CryptoError::InvalidKey("SM2 distinguishing ID too long".into()))
        };
        if self.1.get().is_none() {
            let sk = build()?;
            let _ = self.1.set((id.to_string(), sk));
        }
        match self.1.get() {
            Some((cached_id, sk)) if cached_id == id => Ok(f(sk)),
            _ => Ok(f(&build()?)),
        }
    }

    pub(crate) fn inner(&self) -> &SecretKey {
        &self.0
    }

    pub fn to_pkcs8_pem(&self) -> Result<String> {
        self.0
            .to_pkcs8_pem(LineEnding::LF)
            .map(|z| z.to_string())
            .map_err(|e| CryptoError::InvalidKey(format!("cannot encode PKCS#8: {e}")))
    }

    /// Lower-case hex of the scalar, for configuration files. Handle like the key it is.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    /// A fresh random key (sandbox and tests).
    pub fn generate() -> Result<Self> {
        loop {
            let d = crate::random::random_bytes::<32>()?;
            if let Ok(k) = SecretKey::from_slice(&d) {
                return Ok(Self::wrap(k));
            }
        }
    }
}

impl Sm2PublicKey {
    pub fn from_text(text: &str) -> Result<Self> {
        let t = text.trim();
        if t.starts_with("-----BEGIN") {
            return PublicKey::from_public_key_pem(t)
                .map(Self::wrap)
                .map_err(|e| CryptoError::InvalidKey(format!("SPKI SM2 public key: {e}")));
        }
        Self::from_raw(&decode_hex_or_base64(t)?)
    }

    /// 04||X||Y (65 bytes), X||Y (64 bytes) or a compressed point (33 bytes).
    pub fn from_raw(bytes: &[u8]) -> Result<Self> {
        let owned;
        let sec1 = if bytes.len() == 64 {
            owned = [&[4u8][..], bytes].concat();
            &owned[..]
        } else {
            bytes
        };
        PublicKey::from_sec1_bytes(sec1)
            .map(Self::wrap)
            .map_err(|_| CryptoError::InvalidKey(format!("{} bytes are not an SM2 public key point", bytes.len())))
    }

    /// Uncompressed 04||X||Y.
    pub fn to_sec1(&self) -> Vec<u8> {
        use sm2::elliptic_curve::sec1::ToSec1Point;
        self.0.to_sec1_point(false).as_bytes().to_vec()
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.to_sec1())
    }

    pub fn to_spki_pem(&self) -> Result<String> {
        self.0
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| CryptoError::InvalidKey(format!("cannot encode SPKI: {e}")))
    }

    pub(crate) fn inner(&self) -> &PublicKey {
        &self.0
    }

    fn wrap(point: PublicKey) -> Self {
        Self(point, Default::default())
    }

    /// The multiples of this key that verification adds up, built once per key.
    pub(crate) fn table(&self) -> &PointTable {
        self.1.get_or_init(|| PointTable::new(self.0.to_projective()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "211fee8c3c5fee2fad3dc926fc9403366d2def02cdd0bb5bd683ca015d99db7f";
    const PUB: &str = "0417cc16abaebedc7f87b2e0a508c0cb93631761db7fa19adece712c6aade1d673e389b5e902df7a2e6fe3917b0f55747e00d74e36e939ecc3e7967b7058a91858";

    #[test]
    fn the_vector_key_pair_matches_in_every_text_form() {
        let k = Sm2PrivateKey::from_text(D).unwrap();
        assert_eq!(k.public_key().to_hex(), PUB);
        let b64 = crate::text::encode_base64(&hex::decode(D).unwrap());
        assert_eq!(Sm2PrivateKey::from_text(&b64).unwrap().to_hex(), D);
        let with_sign_byte = crate::text::encode_base64(&[&[0u8][..], &hex::decode(D).unwrap()].concat());
        assert_eq!(Sm2PrivateKey::from_text(&with_sign_byte).unwrap().to_hex(), D);
        let pem = k.to_pkcs8_pem().unwrap();
        assert_eq!(Sm2PrivateKey::from_text(&pem).unwrap().to_hex(), D);
        let p = Sm2PublicKey::from_text(PUB).unwrap();
        assert_eq!(Sm2PublicKey::from_text(&PUB[2..]).unwrap(), p);
        assert_eq!(Sm2PublicKey::from_text(&p.to_spki_pem().unwrap()).unwrap(), p);
        assert!(!format!("{k:?}").contains(D));
    }

    #[test]
    fn rejects_bad_keys() {
        assert!(Sm2PrivateKey::from_text("00").is_err());
        assert!(Sm2PrivateKey::from_raw(&[0u8; 32]).is_err());
        assert!(Sm2PrivateKey::from_raw(&[1u8; 34]).is_err());
        assert!(Sm2PublicKey::from_raw(&[4u8; 65]).is_err());
        assert!(
            Sm2PrivateKey::from_text("-----BEGIN RSA PRIVATE KEY-----\nAA\n-----END RSA PRIVATE KEY-----").is_err()
        );
    }
}
