//! SM2: keys, signatures and public-key encryption.

pub mod cipher;
pub mod keys;
pub mod sign;
mod verify;

pub use cipher::{Sm2CipherFormat, Sm2CipherLayout, sm2_decrypt, sm2_encrypt};
pub use keys::{DEFAULT_SM2_ID, Sm2PrivateKey, Sm2PublicKey};
pub use sign::{Sm2SignatureFormat, sm2_digest, sm2_sign, sm2_verify};
