//! Secrets sealed at rest (REQ S-4.1e): a credentials file (counterparty parameters with
//! private keys and appSecrets, the payload codec's keys, API keys, the HIS notice key, the
//! codec token) may be stored sealed: `medpay-sealed:v1:` + Base64(SM4-GCM(master key, file)),
//! with the AAD binding the file's purpose, so a sealed codec key file cannot be swapped in as
//! the parameters file. The 16-byte master key comes from the environment
//! (`MEDPAY_MASTER_KEY`, 32 hex digits, as container platforms inject secrets) or from a file
//! (`MEDPAY_MASTER_KEY_FILE`, e.g. a tmpfs mount), never from the configuration file itself.
//! Plain files still load (development), and [`is_sealed`] lets start-up warn about them.

use crate::error::CryptoError;
use crate::symmetric::SymmetricCipher;
use zeroize::{Zeroize, Zeroizing};

pub const SEALED_PREFIX: &str = "medpay-sealed:v1:";
const AAD: &[u8] = b"medpay-sealed-file-v1";

#[derive(Debug, thiserror::Error)]
pub enum SealedError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error(
        "{path} is sealed but no master key is set: export MEDPAY_MASTER_KEY (32 hex digits) or MEDPAY_MASTER_KEY_FILE"
    )]
    NoMasterKey { path: String },
    #[error("the master key is malformed: {0} (expected 32 hex digits)")]
    BadMasterKey(String),
    #[error("{path} does not open with this master key (wrong key, or the file was altered)")]
    Open { path: String },
}

/// The master key from `MEDPAY_MASTER_KEY` or `MEDPAY_MASTER_KEY_FILE`, if either is set.
pub fn master_key_from_env() -> Result<Option<Zeroizing<[u8; 16]>>, SealedError> {
    let text = match (std::env::var("MEDPAY_MASTER_KEY"), std::env::var_os("MEDPAY_MASTER_KEY_FILE")) {
        (Ok(v), _) => Zeroizing::new(v),
        (Err(_), Some(path)) => Zeroizing::new(
            std::fs::read_to_string(&path)
                .map_err(|source| SealedError::Read { path: path.to_string_lossy().into(), source })?,
        ),
        _ => return Ok(None),
    };
    parse_master_key(text.trim()).map(Some)
}

pub fn parse_master_key(hex_text: &str) -> Result<Zeroizing<[u8; 16]>, SealedError> {
    let mut bytes =
        Zeroizing::new(crate::text::decode_hex(hex_text).map_err(|_| SealedError::BadMasterKey("not hex".into()))?);
    let key: [u8; 16] =
        bytes.as_slice().try_into().map_err(|_| SealedError::BadMasterKey(format!("{} bytes", bytes.len())))?;
    bytes.zeroize();
    Ok(Zeroizing::new(key))
}

pub fn is_sealed(text: &str) -> bool {
    text.trim_start().starts_with(SEALED_PREFIX)
}

pub fn seal(master: &[u8; 16], plaintext: &[u8]) -> Result<String, CryptoError> {
    let sealed = SymmetricCipher::SM4_GCM.encrypt_with_aad(master, plaintext, AAD)?;
    Ok(format!("{SEALED_PREFIX}{}\n", crate::text::encode_base64(&sealed)))
}

pub fn open(master: &[u8; 16], text: &str, path: &str) -> Result<Zeroizing<String>, SealedError> {
    let body = text.trim().strip_prefix(SEALED_PREFIX).ok_or_else(|| SealedError::Open { path: path.into() })?;
    let raw = crate::text::decode_base64(body).map_err(|_| SealedError::Open { path: path.into() })?;
    let plain = Zeroizing::new(
        SymmetricCipher::SM4_GCM
            .decrypt_with_aad(master, &raw, AAD)
            .map_err(|_| SealedError::Open { path: path.into() })?,
    );
    String::from_utf8(plain.to_vec()).map(Zeroizing::new).map_err(|_| SealedError::Open { path: path.into() })
}

/// A secret file's content: opened with the master key when sealed, as is when plain.
pub fn read_secret_file(path: &std::path::Path) -> Result<Zeroizing<String>, SealedError> {
    let shown = path.display().to_string();
    let text = Zeroizing::new(
        std::fs::read_to_string(path).map_err(|source| SealedError::Read { path: shown.clone(), source })?,
    );
    if !is_sealed(&text) {
        return Ok(text);
    }
    let master = master_key_from_env()?.ok_or(SealedError::NoMasterKey { path: shown.clone() })?;
    open(&master, &text, &shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_files_open_only_with_their_key_and_unaltered() {
        let key = parse_master_key("00112233445566778899aabbccddeeff").unwrap();
        let sealed = seal(&key, b"{\"app_secret\":\"S3CRET\"}").unwrap();
        assert!(is_sealed(&sealed) && !sealed.contains("S3CRET"));
        assert_eq!(open(&key, &sealed, "f").unwrap().as_str(), "{\"app_secret\":\"S3CRET\"}");
        let other = parse_master_key("ffeeddccbbaa99887766554433221100").unwrap();
        assert!(matches!(open(&other, &sealed, "f"), Err(SealedError::Open { .. })));
        let mut altered = sealed.clone().into_bytes();
        let at = SEALED_PREFIX.len() + 20;
        altered[at] = if altered[at] == b'A' { b'B' } else { b'A' };
        assert!(open(&key, std::str::from_utf8(&altered).unwrap(), "f").is_err());
        assert!(matches!(parse_master_key("0011"), Err(SealedError::BadMasterKey(_))));
    }
}
