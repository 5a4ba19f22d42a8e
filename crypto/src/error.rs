//! The crypto crate's one error type. Every function on untrusted input returns it instead of
//! panicking; messages say which step failed so an integrator can act on them.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("invalid key: {0}")]
    InvalidKey(String),
    #[error("signature does not verify")]
    BadSignature,
    #[error("malformed signature: {0}")]
    MalformedSignature(String),
    #[error("decryption failed (wrong key, wrong layout or tampered ciphertext)")]
    DecryptFailed,
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("bad {encoding} text: {detail}")]
    Encoding { encoding: &'static str, detail: String },
    #[error("signing failed; retry")]
    SignFailed,
}

pub type Result<T> = std::result::Result<T, CryptoError>;
