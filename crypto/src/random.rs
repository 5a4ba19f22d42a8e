//! OS randomness for IVs and nonces. Kept in one place so a failure is one typed error.

use crate::error::{CryptoError, Result};

pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| CryptoError::InvalidInput(format!("OS random source failed: {e}")))?;
    Ok(buf)
}
