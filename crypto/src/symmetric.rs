//! Symmetric ciphers: SM4 (REQ S-4.1b) and legacy AES (REQ B-1), in ECB or CBC with PKCS#7 —
//! the modes the existing insurance and bank APIs mandate — and GCM for our own data at rest
//! (the Temporal payload codec). Which one a counterparty uses is configuration.
//!
//! ECB/CBC are unauthenticated: every decrypt failure maps to the one `DecryptFailed` error so
//! a caller cannot become a padding oracle.

use crate::error::{CryptoError, Result};
use crate::random::random_bytes;
use aes_gcm::aead::{Aead, KeyInit as AeadKeyInit, Payload};
use serde::{Deserialize, Serialize};
use sm4::cipher::{
    BlockCipherDecrypt, BlockCipherEncrypt, BlockModeDecrypt, BlockModeEncrypt, KeyInit, KeyIvInit,
    block_padding::Pkcs7, consts::U12,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockCipherKind {
    Sm4,
    /// AES-128/192/256, chosen by key length.
    Aes,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum CipherMode {
    Ecb,
    /// CBC; `iv` says where the IV comes from.
    Cbc {
        iv: IvPolicy,
    },
    /// GCM with a fresh 12-byte nonce: output is nonce || ciphertext || 16-byte tag.
    Gcm,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IvPolicy {
    /// An all-zero IV, as some bank gateways use for `biz_content` (deterministic, legacy only).
    Zero,
    /// A fresh random IV, prepended to the ciphertext.
    RandomPrefixed,
}

/// A configured symmetric cipher, e.g. SM4-ECB for the mid-platform's encData.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymmetricCipher {
    pub cipher: BlockCipherKind,
    #[serde(flatten)]
    pub mode: CipherMode,
}

impl SymmetricCipher {
    pub const SM4_ECB: Self = Self { cipher: BlockCipherKind::Sm4, mode: CipherMode::Ecb };
    pub const SM4_GCM: Self = Self { cipher: BlockCipherKind::Sm4, mode: CipherMode::Gcm };

    pub fn encrypt(&self, key: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        self.encrypt_with_aad(key, plaintext, &[])
    }

    pub fn decrypt(&self, key: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>> {
        self.decrypt_with_aad(key, ciphertext, &[])
    }

    /// `aad` is authenticated in GCM and must be empty for ECB/CBC.
    pub fn encrypt_with_aad(&self, key: &[u8], plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        if !aad.is_empty() && self.mode != CipherMode::Gcm {
            return Err(CryptoError::InvalidInput("associated data needs GCM".into()));
        }
        match self.cipher {
            BlockCipherKind::Sm4 => encrypt_with::<sm4::Sm4>(self.mode, key, plaintext, aad),
            BlockCipherKind::Aes => match key.len() {
                16 => encrypt_with::<aes::Aes128>(self.mode, key, plaintext, aad),
                24 => encrypt_with::<aes::Aes192>(self.mode, key, plaintext, aad),
                32 => encrypt_with::<aes::Aes256>(self.mode, key, plaintext, aad),
                n => Err(bad_key_len(n, "16, 24 or 32")),
            },
        }
    }

    pub fn decrypt_with_aad(&self, key: &[u8], ciphertext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        match self.cipher {
            BlockCipherKind::Sm4 => decrypt_with::<sm4::Sm4>(self.mode, key, ciphertext, aad),
            BlockCipherKind::Aes => match key.len() {
                16 => decrypt_with::<aes::Aes128>(self.mode, key, ciphertext, aad),
                24 => decrypt_with::<aes::Aes192>(self.mode, key, ciphertext, aad),
                32 => decrypt_with::<aes::Aes256>(self.mode, key, ciphertext, aad),
                n => Err(bad_key_len(n, "16, 24 or 32")),
            },
        }
    }
}

fn bad_key_len(n: usize, want: &str) -> CryptoError {
    CryptoError::InvalidKey(format!("symmetric key is {n} bytes, expected {want}"))
}

type Gcm<C> = aes_gcm::AesGcm<C, U12>;
const BLOCK: usize = 16;
const NONCE: usize = 12;

fn encrypt_with<C>(mode: CipherMode, key: &[u8], plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>>
where
    C: BlockCipherEncrypt
        + BlockCipherDecrypt
        + KeyInit
        + sm4::cipher::BlockSizeUser<BlockSize = sm4::cipher::consts::U16>,
{
    let key_err = |_| bad_key_len(key.len(), "the cipher's key size");
    match mode {
        CipherMode::Ecb => {
            Ok(ecb::Encryptor::<C>::new_from_slice(key).map_err(key_err)?.encrypt_padded_vec::<Pkcs7>(plaintext))
        }
        CipherMode::Cbc { iv } => {
            let iv_bytes = match iv {
                IvPolicy::Zero => [0u8; BLOCK],
                IvPolicy::RandomPrefixed => random_bytes::<BLOCK>()?,
            };
            let ct = cbc::Encryptor::<C>::new_from_slices(key, &iv_bytes)
                .map_err(key_err)?
                .encrypt_padded_vec::<Pkcs7>(plaintext);
            Ok(match iv {
                IvPolicy::Zero => ct,
                IvPolicy::RandomPrefixed => [iv_bytes.as_slice(), &ct].concat(),
            })
        }
        CipherMode::Gcm => {
            let gcm = <Gcm<C> as AeadKeyInit>::new_from_slice(key).map_err(key_err)?;
            let nonce = random_bytes::<NONCE>()?;
            let ct = gcm
                .encrypt(&nonce.into(), Payload { msg: plaintext, aad })
                .map_err(|_| CryptoError::InvalidInput("plaintext too long for GCM".into()))?;
            Ok([nonce.as_slice(), &ct].concat())
        }
    }
}

fn decrypt_with<C>(mode: CipherMode, key: &[u8], ciphertext: &[u8], aad: &[u8]) -> Result<Vec<u8>>
where
    C: BlockCipherEncrypt
        + BlockCipherDecrypt
        + KeyInit
        + sm4::cipher::BlockSizeUser<BlockSize = sm4::cipher::consts::U16>,
{
    let key_err = |_| bad_key_len(key.len(), "the cipher's key size");
    match mode {
        CipherMode::Ecb => {
            if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(BLOCK) {
                return Err(CryptoError::DecryptFailed);
            }
            ecb::Decryptor::<C>::new_from_slice(key)
                .map_err(key_err)?
                .decrypt_padded_vec::<Pkcs7>(ciphertext)
                .map_err(|_| CryptoError::DecryptFailed)
        }
        CipherMode::Cbc { iv } => {
            let (iv_bytes, body) = match iv {
                IvPolicy::Zero => ([0u8; BLOCK], ciphertext),
                IvPolicy::RandomPrefixed => {
                    if ciphertext.len() < BLOCK {
                        return Err(CryptoError::DecryptFailed);
                    }
                    let (iv, body) = ciphertext.split_at(BLOCK);
                    let mut arr = [0u8; BLOCK];
                    arr.copy_from_slice(iv);
                    (arr, body)
                }
            };
            if body.is_empty() || !body.len().is_multiple_of(BLOCK) {
                return Err(CryptoError::DecryptFailed);
            }
            cbc::Decryptor::<C>::new_from_slices(key, &iv_bytes)
                .map_err(key_err)?
                .decrypt_padded_vec::<Pkcs7>(body)
                .map_err(|_| CryptoError::DecryptFailed)
        }
        CipherMode::Gcm => {
            if ciphertext.len() < NONCE + 16 {
                return Err(CryptoError::DecryptFailed);
            }
            let gcm = <Gcm<C> as AeadKeyInit>::new_from_slice(key).map_err(key_err)?;
            let (nonce, body) = ciphertext.split_at(NONCE);
            let nonce: [u8; NONCE] = nonce.try_into().map_err(|_| CryptoError::DecryptFailed)?;
            gcm.decrypt(&nonce.into(), Payload { msg: body, aad }).map_err(|_| CryptoError::DecryptFailed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SM4_CBC_RANDOM: SymmetricCipher =
        SymmetricCipher { cipher: BlockCipherKind::Sm4, mode: CipherMode::Cbc { iv: IvPolicy::RandomPrefixed } };

    #[test]
    fn sm4_standard_vector_gb_t_32907() {
        // One block, no padding involved: compare the first block of ECB output.
        let key = hex::decode("0123456789abcdeffedcba9876543210").unwrap();
        let ct = SymmetricCipher::SM4_ECB.encrypt(&key, &key).unwrap();
        assert_eq!(hex::encode(&ct[..16]), "681edf34d206965e86b3e94f536e4246");
    }

    #[test]
    fn sm4_gcm_rfc8998_vector_decrypts() {
        // RFC 8998 A.1: key, nonce, aad and expected ciphertext||tag.
        let key = hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap();
        let nonce = hex::decode("00001234567800000000ABCD").unwrap();
        let aad = hex::decode("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2").unwrap();
        let pt = hex::decode("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDDEEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA").unwrap();
        let ct = hex::decode("17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D83DE3541E4C2B58177E065A9BF7B62EC").unwrap();
        let mut input = nonce.clone();
        input.extend_from_slice(&ct);
        let out = SymmetricCipher::SM4_GCM.decrypt_with_aad(&key, &input, &aad).unwrap();
        assert_eq!(out, pt);
    }

    #[test]
    fn every_mode_round_trips_and_rejects_tampering() {
        let sm4_key = [7u8; 16];
        let modes = [
            SymmetricCipher::SM4_ECB,
            SM4_CBC_RANDOM,
            SymmetricCipher { cipher: BlockCipherKind::Sm4, mode: CipherMode::Cbc { iv: IvPolicy::Zero } },
            SymmetricCipher::SM4_GCM,
        ];
        for m in modes {
            for len in [0usize, 1, 15, 16, 17, 100] {
                let pt = vec![0xA5u8; len];
                let ct = m.encrypt(&sm4_key, &pt).unwrap();
                assert_eq!(m.decrypt(&sm4_key, &ct).unwrap(), pt, "{m:?} len {len}");
            }
        }
        let ct = SymmetricCipher::SM4_GCM.encrypt(&sm4_key, b"payToken").unwrap();
        let mut bad = ct.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(SymmetricCipher::SM4_GCM.decrypt(&sm4_key, &bad), Err(CryptoError::DecryptFailed));
    }

    #[test]
    fn aes_key_sizes() {
        for n in [16, 24, 32] {
            let m = SymmetricCipher { cipher: BlockCipherKind::Aes, mode: CipherMode::Cbc { iv: IvPolicy::Zero } };
            let key = vec![1u8; n];
            assert_eq!(m.decrypt(&key, &m.encrypt(&key, b"biz").unwrap()).unwrap(), b"biz");
        }
        assert!(matches!(
            SymmetricCipher { cipher: BlockCipherKind::Aes, mode: CipherMode::Ecb }.encrypt(&[0u8; 10], b"x"),
            Err(CryptoError::InvalidKey(_))
        ));
    }

    proptest! {
        #[test]
        fn decrypt_never_panics_on_garbage(data in proptest::collection::vec(any::<u8>(), 0..200), key_len in 0usize..40) {
            let key = vec![3u8; key_len];
            for m in [SymmetricCipher::SM4_ECB, SM4_CBC_RANDOM, SymmetricCipher::SM4_GCM,
                      SymmetricCipher { cipher: BlockCipherKind::Aes, mode: CipherMode::Gcm }] {
                let _ = m.decrypt(&key, &data);
            }
        }
    }
}
