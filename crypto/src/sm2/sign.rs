//! SM2 signatures with SM3 and the Z value over an explicit distinguishing ID (REQ S-4.1a).
//! Signatures travel as DER or as raw r||s (64 bytes) depending on the party.

use super::keys::{Sm2PrivateKey, Sm2PublicKey};
use crate::error::{CryptoError, Result};
use serde::{Deserialize, Serialize};
use sm2::dsa::Signature;
use sm2::dsa::signature::RandomizedSigner;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sm2SignatureFormat {
    /// ASN.1 SEQUENCE { r, s }: BouncyCastle, OpenSSL, tjfoc.
    #[default]
    Der,
    /// r||s, 32 bytes each: the mid-platform envelope and npm sm-crypto.
    Raw,
}

impl Sm2SignatureFormat {
    /// For verifying what a party sent when its format is not configured: exactly 64 bytes is
    /// raw, anything else must be strict DER (crypto-evaluation.md §6.4).
    pub fn detect(bytes: &[u8]) -> Self {
        if bytes.len() == 64 { Self::Raw } else { Self::Der }
    }
}

/// Signs `msg` with hedged RFC 6979 nonces (RNG + deterministic), the ID given explicitly.
pub fn sm2_sign(key: &Sm2PrivateKey, id: &str, msg: &[u8], format: Sm2SignatureFormat) -> Result<Vec<u8>> {
    let mut rng = sm2::elliptic_curve::common::getrandom::SysRng;
    // The crate returns Err in negligible-probability cases instead of retrying; retry once here.
    let sig: Signature = key
        .with_signing_key(id, |sk| {
            sk.try_sign_with_rng(&mut rng, msg).or_else(|_| sk.try_sign_with_rng(&mut rng, msg))
        })?
        .map_err(|_| CryptoError::SignFailed)?;
    Ok(match format {
        Sm2SignatureFormat::Der => sig.to_der().as_bytes().to_vec(),
        Sm2SignatureFormat::Raw => sig.to_bytes().to_vec(),
    })
}

pub fn decode_signature(sig: &[u8], format: Sm2SignatureFormat) -> Result<Signature> {
    match format {
        Sm2SignatureFormat::Raw => Signature::from_slice(sig).map_err(|_| {
            CryptoError::MalformedSignature(format!(
                "raw r||s must be 64 bytes with r,s in range, got {} bytes",
                sig.len()
            ))
        }),
        Sm2SignatureFormat::Der => Signature::from_der(sig)
            .map_err(|_| CryptoError::MalformedSignature(format!("{} bytes are not a DER SM2 signature", sig.len()))),
    }
}

pub fn sm2_verify(key: &Sm2PublicKey, id: &str, msg: &[u8], sig: &[u8], format: Sm2SignatureFormat) -> Result<()> {
    let sig = decode_signature(sig, format)?;
    super::verify::verify_digest(key.table(), &sm2_digest(key, id, msg)?, &sig)
}

/// The value SM2 actually signs, e = SM3(Z || M); also what the envelope debugger shows: two
/// parties whose digests differ disagree on the message, the ID or the public key, not on the
/// signature.
pub fn sm2_digest(key: &Sm2PublicKey, id: &str, msg: &[u8]) -> Result<[u8; 32]> {
    let mut hash = crate::sm3::Sm3Stream::default();
    hash.update(&z_value(key, id)?);
    hash.update(msg);
    Ok(hash.finish())
}

/// Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA) (GB/T 32918.2 §5.5).
pub fn z_value(key: &Sm2PublicKey, id: &str) -> Result<[u8; 32]> {
    const CURVE: &str = concat!(
        "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC",
        "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93",
        "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7",
        "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0",
    );
    let entl = u16::try_from(id.len() * 8).map_err(|_| CryptoError::InvalidInput("SM2 ID too long".into()))?;
    let mut input = entl.to_be_bytes().to_vec();
    input.extend_from_slice(id.as_bytes());
    input.extend_from_slice(&hex::decode(CURVE).map_err(|_| CryptoError::InvalidInput("curve constants".into()))?);
    input.extend_from_slice(&key.to_sec1()[1..]);
    Ok(crate::sm3::sm3(&input))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sm2::keys::DEFAULT_SM2_ID;
    use proptest::prelude::*;
    use sm2::dsa::VerifyingKey;
    use sm2::dsa::signature::hazmat::PrehashVerifier;

    const PUB: &str = "0417cc16abaebedc7f87b2e0a508c0cb93631761db7fa19adece712c6aade1d673e389b5e902df7a2e6fe3917b0f55747e00d74e36e939ecc3e7967b7058a91858";
    const MSG: &str = "高平市人民医院-SM2交叉验证消息-0123456789";
    const SIG_DER: &str = "3045022100c26647c279a6180bf418dd06c2d081632b709139c9b1fa883aba35ddec3128ce02202ff4c93011cf4ded0ba3784c4699369edb8cee986271f70d35c1cdffc7b5fb4d";
    const SIG_RAW: &str = "c26647c279a6180bf418dd06c2d081632b709139c9b1fa883aba35ddec3128ce2ff4c93011cf4ded0ba3784c4699369edb8cee986271f70d35c1cdffc7b5fb4d";

    #[test]
    fn verifies_the_openssl_vector_in_both_encodings() {
        let pk = Sm2PublicKey::from_text(PUB).unwrap();
        sm2_verify(&pk, DEFAULT_SM2_ID, MSG.as_bytes(), &hex::decode(SIG_DER).unwrap(), Sm2SignatureFormat::Der)
            .unwrap();
        sm2_verify(&pk, DEFAULT_SM2_ID, MSG.as_bytes(), &hex::decode(SIG_RAW).unwrap(), Sm2SignatureFormat::Raw)
            .unwrap();
        // Same signature, empty ID (the OpenSSL default): must not verify.
        assert_eq!(
            sm2_verify(&pk, "", MSG.as_bytes(), &hex::decode(SIG_RAW).unwrap(), Sm2SignatureFormat::Raw),
            Err(CryptoError::BadSignature)
        );
    }

    #[test]
    fn digest_is_what_the_signature_covers() {
        let pk = Sm2PublicKey::from_text(PUB).unwrap();
        let e = sm2_digest(&pk, DEFAULT_SM2_ID, MSG.as_bytes()).unwrap();
        let vk = VerifyingKey::new(DEFAULT_SM2_ID, *pk.inner()).unwrap();
        let sig = Signature::from_slice(&hex::decode(SIG_RAW).unwrap()).unwrap();
        vk.verify_prehash(&e, &sig).unwrap();
    }

    #[test]
    fn sign_then_verify_and_reject_tampering() {
        let k = Sm2PrivateKey::generate().unwrap();
        for f in [Sm2SignatureFormat::Der, Sm2SignatureFormat::Raw] {
            let sig = sm2_sign(&k, DEFAULT_SM2_ID, b"payload", f).unwrap();
            assert_eq!(Sm2SignatureFormat::detect(&sig), f);
            sm2_verify(&k.public_key(), DEFAULT_SM2_ID, b"payload", &sig, f).unwrap();
            assert_eq!(
                sm2_verify(&k.public_key(), DEFAULT_SM2_ID, b"payloaD", &sig, f),
                Err(CryptoError::BadSignature)
            );
        }
    }

    /// The key caches its signing key for the first ID it signs with; a second ID must still
    /// sign with its own Z value, not the cached one's.
    #[test]
    fn a_key_signs_correctly_under_a_second_id_after_the_first_is_cached() {
        let k = Sm2PrivateKey::generate().unwrap();
        let public_before = k.public_key();
        let sig = sm2_sign(&k, DEFAULT_SM2_ID, b"m", Sm2SignatureFormat::Raw).unwrap();
        sm2_verify(&k.public_key(), DEFAULT_SM2_ID, b"m", &sig, Sm2SignatureFormat::Raw).unwrap();
        assert_eq!(k.public_key(), public_before, "the cached public key is d·G");
        let other = sm2_sign(&k, "ALICE123@YAHOO.COM", b"m", Sm2SignatureFormat::Raw).unwrap();
        sm2_verify(&k.public_key(), "ALICE123@YAHOO.COM", b"m", &other, Sm2SignatureFormat::Raw).unwrap();
        assert_eq!(
            sm2_verify(&k.public_key(), DEFAULT_SM2_ID, b"m", &other, Sm2SignatureFormat::Raw),
            Err(CryptoError::BadSignature)
        );
        let clone = k.clone();
        sm2_verify(
            &k.public_key(),
            DEFAULT_SM2_ID,
            b"m",
            &sm2_sign(&clone, DEFAULT_SM2_ID, b"m", Sm2SignatureFormat::Der).unwrap(),
            Sm2SignatureFormat::Der,
        )
        .unwrap();
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn garbage_signatures_are_errors_not_panics(sig in proptest::collection::vec(any::<u8>(), 0..140)) {
            let pk = Sm2PublicKey::from_text(PUB).unwrap();
            for f in [Sm2SignatureFormat::Der, Sm2SignatureFormat::Raw] {
                prop_assert!(sm2_verify(&pk, DEFAULT_SM2_ID, MSG.as_bytes(), &sig, f).is_err());
            }
        }

        #[test]
        fn flipping_any_bit_breaks_the_signature(byte in 0usize..64, bit in 0u8..8) {
            let pk = Sm2PublicKey::from_text(PUB).unwrap();
            let mut sig = hex::decode(SIG_RAW).unwrap();
            sig[byte] ^= 1 << bit;
            prop_assert!(sm2_verify(&pk, DEFAULT_SM2_ID, MSG.as_bytes(), &sig, Sm2SignatureFormat::Raw).is_err());
        }
    }
}
