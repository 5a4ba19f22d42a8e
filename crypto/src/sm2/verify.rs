//! SM2 signature verification against a counterparty's public key that stays the same for the
//! life of the configuration (GB/T 32918.2 §7, steps B1-B7; REQ S-4.1a/S-4.1d).
//!
//! The sm2 crate verifies with a constant-time double-scalar multiplication from scratch: 256
//! doublings per signature. Verification handles only public values (the signature, the message,
//! the public key), so it may run in variable time, and the public key is fixed, so its multiples
//! can be computed once: [s]G comes from the crate's generator table and [t]P from a table of
//! P's multiples built on the key's first verification (33 windows of 8 points, ~25 KiB, about
//! the cost of one verification of the old kind). A bank repeating callbacks and every party
//! reply the worker checks then cost about a third of what they did.

use crate::error::{CryptoError, Result};
use primeorder::{LookupTable, Radix16Decomposition, Radix16Digits};
use sm2::dsa::Signature;
use sm2::elliptic_curve::group::Group;
use sm2::elliptic_curve::ops::{MulByGeneratorVartime, Reduce};
use sm2::elliptic_curve::point::AffineCoordinates;
use sm2::{FieldBytes, ProjectivePoint, Scalar, Sm2};

/// Windows of 8 bits: one per scalar byte, plus one for the recentred digits' carry.
const WINDOWS: usize = 33;

/// `[j · 2^(8i)] P` for j in 1..=8 and every window i.
pub(crate) struct PointTable(Box<[LookupTable<ProjectivePoint>; WINDOWS]>);

impl PointTable {
    pub(crate) fn new(point: ProjectivePoint) -> Self {
        let mut base = point;
        Self(Box::new(std::array::from_fn(|_| {
            let window = LookupTable::new(base);
            for _ in 0..8 {
                base = base.double();
            }
            window
        })))
    }

    /// `[k] P` in variable time: signed radix-16 digits, the odd ones summed apart and shifted
    /// by four doublings at the end (each window covers two digits).
    fn mul_vartime(&self, k: &Scalar) -> ProjectivePoint {
        let digits = Radix16Decomposition::<Radix16Digits<Sm2>>::new(k);
        let last = WINDOWS - 1;
        let mut even = self.0[last].select_vartime(digits[2 * last]);
        let mut odd = ProjectivePoint::IDENTITY;
        for i in (0..last).rev() {
            if digits[2 * i + 1] != 0 {
                odd += self.0[i].select_vartime(digits[2 * i + 1]);
            }
            if digits[2 * i] != 0 {
                even += self.0[i].select_vartime(digits[2 * i]);
            }
        }
        for _ in 0..4 {
            odd = odd.double();
        }
        even + odd
    }
}

/// Steps B5-B7 for the digest `e = SM3(Z || M)`; r and s are already in [1, n-1] (B1, B2) because
/// `Signature` holds them as non-zero scalars.
pub(crate) fn verify_digest(public: &PointTable, e: &[u8; 32], signature: &Signature) -> Result<()> {
    let (r, s) = (*signature.r(), *signature.s());
    let t: Scalar = r + s;
    if bool::from(t.is_zero()) {
        return Err(CryptoError::BadSignature);
    }
    let point = ProjectivePoint::mul_by_generator_vartime(&s) + public.mul_vartime(&t);
    if bool::from(point.is_identity()) {
        return Err(CryptoError::BadSignature);
    }
    let x1 = point.to_affine().x();
    let e = <Scalar as Reduce<FieldBytes>>::reduce(&FieldBytes::from(*e));
    if r == e + <Scalar as Reduce<FieldBytes>>::reduce(&x1) { Ok(()) } else { Err(CryptoError::BadSignature) }
}

#[cfg(test)]
mod tests {
    use crate::error::CryptoError;
    use crate::sm2::keys::{DEFAULT_SM2_ID, Sm2PrivateKey};
    use crate::sm2::sign::{Sm2SignatureFormat, sm2_sign, sm2_verify};
    use proptest::prelude::*;
    use sm2::dsa::signature::Verifier;
    use sm2::dsa::{Signature, VerifyingKey};

    /// The sm2 crate's own verifier, the reference this table-based one must agree with.
    fn reference(key: &crate::sm2::Sm2PublicKey, id: &str, msg: &[u8], sig: &[u8]) -> bool {
        let vk = VerifyingKey::new(id, *key.inner()).unwrap();
        Signature::from_slice(sig).is_ok_and(|s| vk.verify(msg, &s).is_ok())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Genuine signatures verify, and a signature over another message, under another ID or
        /// with any byte changed gets the same answer from both verifiers.
        #[test]
        fn agrees_with_the_crates_verifier(msg in proptest::collection::vec(any::<u8>(), 0..300), flip in 0usize..64, bit in 0u8..8) {
            let k = Sm2PrivateKey::generate().unwrap();
            let public = k.public_key();
            let sig = sm2_sign(&k, DEFAULT_SM2_ID, &msg, Sm2SignatureFormat::Raw).unwrap();
            prop_assert!(reference(&public, DEFAULT_SM2_ID, &msg, &sig));
            prop_assert_eq!(sm2_verify(&public, DEFAULT_SM2_ID, &msg, &sig, Sm2SignatureFormat::Raw), Ok(()));
            let mut other = msg.clone();
            other.push(b'x');
            prop_assert_eq!(sm2_verify(&public, DEFAULT_SM2_ID, &other, &sig, Sm2SignatureFormat::Raw), Err(CryptoError::BadSignature));
            prop_assert_eq!(sm2_verify(&public, "", &msg, &sig, Sm2SignatureFormat::Raw), Err(CryptoError::BadSignature));
            let mut tampered = sig.clone();
            tampered[flip] ^= 1 << bit;
            let ours = sm2_verify(&public, DEFAULT_SM2_ID, &msg, &tampered, Sm2SignatureFormat::Raw).is_ok();
            prop_assert_eq!(ours, reference(&public, DEFAULT_SM2_ID, &msg, &tampered));
            prop_assert!(!ours);
        }

        /// Arbitrary in-range (r, s) pairs: both verifiers reject them alike (a forged callback is
        /// exactly this).
        #[test]
        fn rejects_arbitrary_signatures_like_the_crate(raw in proptest::array::uniform32(any::<u8>()), raw2 in proptest::array::uniform32(any::<u8>())) {
            let k = Sm2PrivateKey::generate().unwrap();
            let sig = [raw, raw2].concat();
            let ours = sm2_verify(&k.public_key(), DEFAULT_SM2_ID, b"m", &sig, Sm2SignatureFormat::Raw).is_ok();
            prop_assert_eq!(ours, reference(&k.public_key(), DEFAULT_SM2_ID, b"m", &sig));
        }
    }

    /// The table is the key's: a clone shares it, and a second key gets its own (a signature by
    /// one key never verifies under another's table).
    #[test]
    fn each_key_verifies_with_its_own_multiples() {
        let (a, b) = (Sm2PrivateKey::generate().unwrap(), Sm2PrivateKey::generate().unwrap());
        let (pa, pb) = (a.public_key(), b.public_key());
        let sig = sm2_sign(&a, DEFAULT_SM2_ID, b"m", Sm2SignatureFormat::Der).unwrap();
        sm2_verify(&pa, DEFAULT_SM2_ID, b"m", &sig, Sm2SignatureFormat::Der).unwrap();
        assert_eq!(
            sm2_verify(&pb, DEFAULT_SM2_ID, b"m", &sig, Sm2SignatureFormat::Der),
            Err(CryptoError::BadSignature)
        );
        let clone = pa.clone();
        assert!(std::ptr::eq(clone.table(), pa.table()), "clones share the table built once");
        sm2_verify(&clone, DEFAULT_SM2_ID, b"m", &sig, Sm2SignatureFormat::Der).unwrap();
    }
}
