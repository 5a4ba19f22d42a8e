//! SM2/SM3/SM4 and legacy RSA2/AES, and the wire envelopes of each counterparty (REQ S-4.1a,
//! S-4.1b, B-1), held to the counterparties' implementations by golden vectors (docs/vectors/)
//! and by OpenSSL in both directions (`tests/openssl_cross.rs`).
//!
//! Nothing here panics on untrusted input: every entry point returns [`CryptoError`].

pub mod envelope;
pub mod error;
pub mod id_digest;
pub mod random;
pub mod rsa2;
pub mod sealed;
pub mod signer;
pub mod sm2;
pub mod sm3;
pub mod symmetric;
pub mod text;
pub mod x509;

pub use error::{CryptoError, Result};
