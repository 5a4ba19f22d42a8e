//! SM2 public-key encryption for sensitive fields. The ciphertext layout cannot be detected
//! syntactically (crypto-evaluation.md §6.2-6.3), so it is configured per counterparty.

use super::keys::{Sm2PrivateKey, Sm2PublicKey};
use crate::error::{CryptoError, Result};
use serde::{Deserialize, Serialize};
use sm2::pke::{DecryptingKey, EncryptingKey, Mode};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sm2CipherLayout {
    /// GB/T 32918.4-2016 order, the default.
    #[default]
    C1c3c2,
    /// The older order (BouncyCastle's default engine, libsm).
    C1c2c3,
    /// GM/T 0009 ASN.1 DER (OpenSSL's only format).
    Asn1,
}

/// Layout plus whether C1 carries the 0x04 point prefix (npm sm-crypto omits it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sm2CipherFormat {
    pub layout: Sm2CipherLayout,
    #[serde(default = "yes")]
    pub point_prefix: bool,
}

fn yes() -> bool {
    true
}

impl Default for Sm2CipherFormat {
    fn default() -> Self {
        Self { layout: Sm2CipherLayout::C1c3c2, point_prefix: true }
    }
}

fn mode(layout: Sm2CipherLayout) -> Mode {
    match layout {
        Sm2CipherLayout::C1c2c3 => Mode::C1C2C3,
        _ => Mode::C1C3C2,
    }
}

pub fn sm2_encrypt(key: &Sm2PublicKey, plaintext: &[u8], format: Sm2CipherFormat) -> Result<Vec<u8>> {
    if plaintext.is_empty() {
        // Libraries disagree on empty input (error, panic, empty output): refuse it up front.
        return Err(CryptoError::InvalidInput("SM2 cannot encrypt an empty plaintext".into()));
    }
    let ek = EncryptingKey::new_with_mode(*key.inner(), mode(format.layout));
    let mut rng = sm2::elliptic_curve::common::getrandom::SysRng;
    let ct = match format.layout {
        Sm2CipherLayout::Asn1 => ek.encrypt_der(&mut rng, plaintext),
        _ => ek.encrypt(&mut rng, plaintext),
    }
    .map_err(|_| CryptoError::InvalidInput("SM2 encryption failed".into()))?;
    Ok(match (format.layout, format.point_prefix) {
        (Sm2CipherLayout::Asn1, _) | (_, true) => ct,
        (_, false) => ct[1..].to_vec(),
    })
}

pub fn sm2_decrypt(key: &Sm2PrivateKey, ciphertext: &[u8], format: Sm2CipherFormat) -> Result<Vec<u8>> {
    let dk = DecryptingKey::new_with_mode(key.inner().to_nonzero_scalar(), mode(format.layout));
    let prefixed;
    let input = match (format.layout, format.point_prefix) {
        (Sm2CipherLayout::Asn1, _) | (_, true) => ciphertext,
        (_, false) => {
            prefixed = [&[4u8][..], ciphertext].concat();
            &prefixed[..]
        }
    };
    // C1 (65) + C3 (32) at least; the crate checks the rest (point on curve, C3).
    if format.layout != Sm2CipherLayout::Asn1 && input.len() < 65 + 32 {
        return Err(CryptoError::DecryptFailed);
    }
    let out = match format.layout {
        Sm2CipherLayout::Asn1 => dk.decrypt_der(input),
        _ => dk.decrypt(input),
    };
    out.map_err(|_| CryptoError::DecryptFailed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn formats() -> Vec<Sm2CipherFormat> {
        let mut v = vec![];
        for layout in [Sm2CipherLayout::C1c3c2, Sm2CipherLayout::C1c2c3, Sm2CipherLayout::Asn1] {
            for point_prefix in [true, false] {
                v.push(Sm2CipherFormat { layout, point_prefix });
            }
        }
        v
    }

    #[test]
    fn every_layout_round_trips_and_detects_tampering() {
        let k = Sm2PrivateKey::generate().unwrap();
        for f in formats() {
            for pt in [&b"\x00\x00leading zeros survive"[..], "身份证号".as_bytes(), &[0u8; 1]] {
                let ct = sm2_encrypt(&k.public_key(), pt, f).unwrap();
                assert_eq!(sm2_decrypt(&k, &ct, f).unwrap(), pt, "{f:?}");
                let mut bad = ct.clone();
                let last = bad.len() - 1;
                bad[last] ^= 0x01;
                assert!(sm2_decrypt(&k, &bad, f).is_err(), "{f:?} accepted a tampered ciphertext");
            }
        }
    }

    #[test]
    fn a_wrong_layout_is_an_error_not_garbage() {
        let k = Sm2PrivateKey::generate().unwrap();
        let ct = sm2_encrypt(&k.public_key(), b"secret", Sm2CipherFormat::default()).unwrap();
        let old = Sm2CipherFormat { layout: Sm2CipherLayout::C1c2c3, point_prefix: true };
        assert_eq!(sm2_decrypt(&k, &ct, old), Err(CryptoError::DecryptFailed));
        assert!(sm2_encrypt(&k.public_key(), b"", Sm2CipherFormat::default()).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn garbage_ciphertexts_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let k = Sm2PrivateKey::from_text("211fee8c3c5fee2fad3dc926fc9403366d2def02cdd0bb5bd683ca015d99db7f").unwrap();
            for f in formats() {
                prop_assert!(sm2_decrypt(&k, &data, f).is_err());
            }
        }
    }
}
