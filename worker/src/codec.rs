//! The Temporal payload codec: every payload (workflow and activity inputs and results, signal
//! and update arguments, failure details) is SM4-GCM encrypted before it leaves the process, so
//! the server's history — and the Web UI — never hold personal data in clear (REQ S-4.1b,
//! S-4.1e). Ids, type names and search attributes are not payloads: keep personal data out of
//! them.
//!
//! Keys live in a key file (never in the config file or the environment): one `id=hex` line per
//! key, 16-byte keys, the first line is the key that encrypts; the others still decrypt, so keys
//! rotate without breaking running workflows. The key id travels in the payload metadata and is
//! authenticated as associated data.

use futures::future::BoxFuture;
use medpay_crypto::symmetric::SymmetricCipher;
use medpay_schemas::Secret;
use prost::Message;
use std::collections::BTreeMap;
use std::path::Path;
use temporalio_common::data_converters::{PayloadCodec, PayloadConversionError, SerializationContextData};
use temporalio_common::protos::temporal::api::common::v1::Payload;

pub const ENCODING: &[u8] = b"binary/encrypted";
const META_ENCODING: &str = "encoding";
const META_KEY_ID: &str = "encryption-key-id";
const META_CIPHER: &str = "encryption-cipher";
const CIPHER: &[u8] = b"SM4-GCM";

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read payload key file {0}: {1}")]
    Read(String, std::io::Error),
    #[error("payload key file {file} line {line}: {reason}")]
    Bad { file: String, line: usize, reason: &'static str },
    #[error("payload key file {0} has no key")]
    Empty(String),
}

#[derive(Clone)]
pub struct Sm4GcmCodec {
    current: String,
    keys: BTreeMap<String, Secret<[u8; 16]>>,
}

impl std::fmt::Debug for Sm4GcmCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sm4GcmCodec(current={}, keys={:?})", self.current, self.keys.keys().collect::<Vec<_>>())
    }
}

impl Sm4GcmCodec {
    pub fn from_key_file(path: &Path) -> Result<Self, KeyFileError> {
        let file = path.display().to_string();
        let text = medpay_crypto::sealed::read_secret_file(path)
            .map_err(|e| KeyFileError::Read(file.clone(), std::io::Error::other(e.to_string())))?;
        let mut current = None;
        let mut keys = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |reason| KeyFileError::Bad { file: file.clone(), line: i + 1, reason };
            let (id, hex_key) = line.split_once('=').ok_or_else(|| bad("expected id=hex"))?;
            let bytes = hex::decode(hex_key.trim()).map_err(|_| bad("key is not hex"))?;
            let key: [u8; 16] = bytes.try_into().map_err(|_| bad("key must be 16 bytes (32 hex characters)"))?;
            let id = id.trim().to_string();
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return Err(bad("key id must be letters, digits, '-' or '_'"));
            }
            current.get_or_insert_with(|| id.clone());
            keys.insert(id, Secret::new(key));
        }
        let current = current.ok_or_else(|| KeyFileError::Empty(file.clone()))?;
        Ok(Self { current, keys })
    }

    /// A fresh key file body with one random key.
    pub fn generate_key_file(id: &str) -> Result<String, medpay_crypto::CryptoError> {
        let key = medpay_crypto::random::random_bytes::<16>()?;
        Ok(format!(
            "# medpay payload keys: first line encrypts, all decrypt. Keep secret.\n{id}={}\n",
            hex::encode(key)
        ))
    }

    pub fn seal(&self, p: &Payload) -> Result<Payload, PayloadConversionError> {
        let key = self.keys.get(&self.current).ok_or(PayloadConversionError::WrongEncoding)?;
        let data = SymmetricCipher::SM4_GCM
            .encrypt_with_aad(key.expose(), &p.encode_to_vec(), self.current.as_bytes())
            .map_err(|e| PayloadConversionError::EncodingError(Box::new(e)))?;
        let mut metadata = std::collections::HashMap::new();
        metadata.insert(META_ENCODING.to_string(), ENCODING.to_vec());
        metadata.insert(META_KEY_ID.to_string(), self.current.as_bytes().to_vec());
        metadata.insert(META_CIPHER.to_string(), CIPHER.to_vec());
        Ok(Payload { metadata, data, ..Default::default() })
    }

    pub fn open(&self, p: Payload) -> Result<Payload, PayloadConversionError> {
        // Payloads written before the codec was switched on stay readable.
        if p.metadata.get(META_ENCODING).map(Vec::as_slice) != Some(ENCODING) {
            return Ok(p);
        }
        let id = p.metadata.get(META_KEY_ID).map(|v| String::from_utf8_lossy(v).into_owned()).unwrap_or_default();
        let key = self.keys.get(&id).ok_or_else(|| {
            PayloadConversionError::EncodingError(
                format!("payload encrypted with key {id:?}, which is not in the key file").into(),
            )
        })?;
        let plain = SymmetricCipher::SM4_GCM
            .decrypt_with_aad(key.expose(), &p.data, id.as_bytes())
            .map_err(|e| PayloadConversionError::EncodingError(Box::new(e)))?;
        Payload::decode(plain.as_slice()).map_err(|e| PayloadConversionError::EncodingError(Box::new(e)))
    }
}

/// The payload key seals the authCode exchanges the instances share through the ledger.
impl medpay_activities::pay_auth_cache::ExchangeSealer for Sm4GcmCodec {
    fn seal(&self, plain: &[u8]) -> Result<Vec<u8>, String> {
        let sealed = Sm4GcmCodec::seal(self, &Payload { data: plain.to_vec(), ..Default::default() })
            .map_err(|e| e.to_string())?;
        Ok(sealed.encode_to_vec())
    }

    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, String> {
        let p = Payload::decode(sealed).map_err(|e| e.to_string())?;
        if p.metadata.is_empty() {
            return Err("not a sealed exchange".into());
        }
        Ok(Sm4GcmCodec::open(self, p).map_err(|e| e.to_string())?.data)
    }
}

impl PayloadCodec for Sm4GcmCodec {
    fn encode(
        &self,
        _: &SerializationContextData,
        payloads: Vec<Payload>,
    ) -> BoxFuture<'static, Result<Vec<Payload>, PayloadConversionError>> {
        let out = payloads.iter().map(|p| self.seal(p)).collect();
        Box::pin(async move { out })
    }

    fn decode(
        &self,
        _: &SerializationContextData,
        payloads: Vec<Payload>,
    ) -> BoxFuture<'static, Result<Vec<Payload>, PayloadConversionError>> {
        let out = payloads.into_iter().map(|p| self.open(p)).collect();
        Box::pin(async move { out })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec(text: &str) -> Sm4GcmCodec {
        let path = std::env::temp_dir().join(format!("medpay-keys-{}-{}", std::process::id(), text.len()));
        std::fs::write(&path, text).unwrap();
        let c = Sm4GcmCodec::from_key_file(&path);
        let _ = std::fs::remove_file(&path);
        c.unwrap()
    }

    fn json_payload(s: &str) -> Payload {
        let mut metadata = std::collections::HashMap::new();
        metadata.insert("encoding".to_string(), b"json/plain".to_vec());
        Payload { metadata, data: s.as_bytes().to_vec(), ..Default::default() }
    }

    #[test]
    fn round_trip_hides_the_content_and_rotates_keys() {
        let old = codec("k1=000102030405060708090a0b0c0d0e0f\n");
        let p = json_payload(r#"{"payAuthNo":"AUTH-SECRET","idNo":"510104199001011234"}"#);
        let sealed = old.seal(&p).unwrap();
        assert!(!String::from_utf8_lossy(&sealed.data).contains("AUTH-SECRET"));
        assert_eq!(sealed.metadata["encoding"], ENCODING);
        assert_eq!(old.open(sealed.clone()).unwrap(), p);
        // Rotation: a new current key, the old one still decrypts.
        let rotated = codec("k2=ffeeddccbbaa99887766554433221100\nk1=000102030405060708090a0b0c0d0e0f\n");
        assert_eq!(rotated.open(sealed.clone()).unwrap(), p);
        assert_eq!(rotated.seal(&p).unwrap().metadata["encryption-key-id"], b"k2");
        // Without the key: a clear error, never garbage.
        let other = codec("k3=ffeeddccbbaa99887766554433221100\n");
        assert!(other.open(sealed.clone()).is_err());
        // Tampered key id (authenticated as associated data) fails.
        let mut relabelled = sealed;
        relabelled.metadata.insert("encryption-key-id".into(), b"k2".to_vec());
        assert!(rotated.open(relabelled).is_err());
        // Plain payloads pass through (histories from before the codec).
        assert_eq!(old.open(p.clone()).unwrap(), p);
    }

    #[test]
    fn shared_authcode_exchanges_are_sealed_with_the_payload_key() {
        use medpay_activities::pay_auth_cache::ExchangeSealer;
        let c = codec("k1=000102030405060708090a0b0c0d0e0f\n");
        let sealed = ExchangeSealer::seal(&c, br#"{"pay_auth_no":"AUTH-SECRET"}"#).unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("AUTH-SECRET"));
        assert_eq!(ExchangeSealer::open(&c, &sealed).unwrap(), br#"{"pay_auth_no":"AUTH-SECRET"}"#);
        assert!(
            ExchangeSealer::open(&codec("k3=ffeeddccbbaa99887766554433221100\n"), &sealed).is_err(),
            "another key opens nothing"
        );
        assert!(ExchangeSealer::open(&c, b"not sealed").is_err());
    }

    #[test]
    fn bad_key_files_are_named() {
        for (text, needle) in [
            ("", "no key"),
            ("k1=zz\n", "not hex"),
            ("k1=0011\n", "16 bytes"),
            ("nokey\n", "id=hex"),
            ("k 1=000102030405060708090a0b0c0d0e0f", "key id"),
        ] {
            let path = std::env::temp_dir().join(format!("medpay-badkeys-{}", std::process::id()));
            std::fs::write(&path, text).unwrap();
            let e = Sm4GcmCodec::from_key_file(&path).unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
        assert!(Sm4GcmCodec::generate_key_file("k1").unwrap().lines().nth(1).unwrap().starts_with("k1="));
    }
}
