//! The mid-platform envelope (docs/PROTOCOLS.md §3.2; REQ S-4.1a/b):
//! `{appId, encType, signType, timestamp, version, encData, signData}` where `encData` is the
//! SM4-ECB encrypted `data` (key derived from appId/appSecret) and `signData` is an SM2
//! signature over the canonical sign string `k=v&...&data=<canonical json>&key=<appSecret>`.
//!
//! The same code seals and opens in both directions: the hospital seals requests and opens
//! replies; the sandbox opens requests and seals replies. Which party signs is only a question
//! of whose key is passed.

use super::canonical::{NumberStyle, canonical_data, to_sorted_json};
use super::time::TimestampFormat;
use crate::error::CryptoError;
use crate::signer::{PrivateKey, PublicKey, SignatureScheme};
use crate::sm2::Sm2SignatureFormat;
use crate::symmetric::SymmetricCipher;
use crate::text::TextEncoding;
use medpay_schemas::Secret;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Fields that never enter the sign string.
const UNSIGNED_FIELDS: [&str; 3] = ["signData", "encData", "extra"];

/// The knobs in which provinces and SDK versions differ. Defaults follow the reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MidPlatformProfile {
    pub timestamp: TimestampFormat,
    pub numbers: NumberStyle,
    pub version: String,
    pub sign: SignatureScheme,
    /// How `signData` is written (Base64 of raw r||s by default).
    pub signature_text: TextEncoding,
    pub enc_type: String,
    pub cipher: SymmetricCipher,
    /// How `encData` is written (upper-case hex by default).
    pub enc_text: TextEncoding,
}

impl Default for MidPlatformProfile {
    fn default() -> Self {
        Self {
            timestamp: TimestampFormat::Compact,
            numbers: NumberStyle::Literal,
            version: "2.0.1".into(),
            sign: SignatureScheme::sm2(Sm2SignatureFormat::Raw),
            signature_text: TextEncoding::Base64,
            enc_type: "SM4".into(),
            cipher: SymmetricCipher::SM4_ECB,
            enc_text: TextEncoding::HexUpper,
        }
    }
}

/// Which step of opening an envelope failed. The debugger prints these; activities map them to
/// retry decisions (a bad signature is "query again", never "trust it", REQ S-4.1d).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the message is not a JSON object: {0}")]
    NotJson(String),
    #[error("the message has no {0:?} field")]
    MissingField(&'static str),
    #[error("appId {got:?} is not ours ({expected:?})")]
    AppIdMismatch { expected: String, got: String },
    #[error("encData does not decrypt with the data key of this appId/appSecret")]
    DecryptFailed,
    #[error("decrypted data is not JSON: {0}")]
    DataNotJson(String),
    #[error("signData is malformed: {0}")]
    SignatureMalformed(String),
    #[error("signData does not verify over the sign string {sign_string:?}")]
    SignatureMismatch { sign_string: String },
    #[error("crypto: {0}")]
    Crypto(#[from] CryptoError),
}

/// What [`MidPlatformEnvelope::seal`] produced, with its intermediate values for diagnostics.
#[derive(Debug, Clone)]
pub struct Sealed {
    /// The JSON body to send.
    pub body: Value,
    pub sign_string: String,
    /// The cleaned data JSON that was encrypted.
    pub data_json: String,
    pub signature: Vec<u8>,
}

/// An opened (decrypted and verified) message.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    /// Top-level fields other than encData/signData (code, message, success, appId, ...).
    pub fields: Map<String, Value>,
    /// The decrypted business data; `None` for unsigned failure replies.
    pub data: Option<Value>,
    /// False only for a failure reply that carried neither encData nor signData.
    pub signed: bool,
}

impl Opened {
    /// `code` as a number when present (0 = ok).
    pub fn code(&self) -> Option<i64> {
        match self.fields.get("code")? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    pub fn message(&self) -> String {
        self.fields.get("message").and_then(Value::as_str).unwrap_or_default().to_string()
    }
}

/// One hospital's connection to the mid-platform.
#[derive(Clone)]
pub struct MidPlatformEnvelope {
    pub profile: MidPlatformProfile,
    pub app_id: String,
    app_secret: Secret<String>,
    data_key: Secret<Vec<u8>>,
}

impl std::fmt::Debug for MidPlatformEnvelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MidPlatformEnvelope")
            .field("app_id", &self.app_id)
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

/// key₁ = ASCII(appId[0..16]); dataKey = ASCII(first 16 chars of HEX(SM4-ECB(key₁, appSecret))).
pub fn derive_data_key(app_id: &str, app_secret: &str) -> Result<[u8; 16], CryptoError> {
    let key1 = app_id.as_bytes().get(..16).ok_or_else(|| {
        CryptoError::InvalidKey(format!("appId must have at least 16 characters, has {}", app_id.len()))
    })?;
    let ct = SymmetricCipher::SM4_ECB.encrypt(key1, app_secret.as_bytes())?;
    let hex = hex::encode_upper(ct);
    let mut key = [0u8; 16];
    key.copy_from_slice(&hex.as_bytes()[..16]);
    Ok(key)
}

/// Renders a top-level value in the sign string: strings raw, everything else as sorted JSON.
fn sign_value(v: &Value, numbers: NumberStyle) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => to_sorted_json(other, numbers),
    }
}

/// The sign string over top-level `fields` (with `data` already the decrypted/plain value).
pub fn sign_string(fields: &Map<String, Value>, app_secret: &str, numbers: NumberStyle) -> String {
    let mut keys: Vec<&String> = fields.keys().filter(|k| !UNSIGNED_FIELDS.contains(&k.as_str())).collect();
    keys.sort();
    let mut parts = Vec::with_capacity(keys.len() + 1);
    for k in keys {
        let v = &fields[k];
        let rendered = if k == "data" { canonical_data(v, numbers) } else { sign_value(v, numbers) };
        if v.is_null() || rendered.is_empty() || (k != "data" && matches!(rendered.as_str(), "{}" | "[]")) {
            continue;
        }
        parts.push(format!("{k}={rendered}"));
    }
    parts.push(format!("key={app_secret}"));
    parts.join("&")
}

impl MidPlatformEnvelope {
    pub fn new(
        profile: MidPlatformProfile,
        app_id: impl Into<String>,
        app_secret: Secret<String>,
    ) -> Result<Self, CryptoError> {
        let app_id = app_id.into();
        let data_key = derive_data_key(&app_id, app_secret.expose())?.to_vec();
        Ok(Self { profile, app_id, app_secret, data_key: Secret::new(data_key) })
    }

    pub fn app_secret(&self) -> &str {
        self.app_secret.expose()
    }

    pub fn data_key(&self) -> &[u8] {
        self.data_key.expose()
    }

    pub fn encrypt_data(&self, data_json: &str) -> Result<String, CryptoError> {
        let ct = self.profile.cipher.encrypt(self.data_key.expose(), data_json.as_bytes())?;
        Ok(self.profile.enc_text.encode(&ct))
    }

    pub fn decrypt_data(&self, enc_data: &str) -> Result<String, EnvelopeError> {
        let ct = self.profile.enc_text.decode(enc_data).map_err(|_| EnvelopeError::DecryptFailed)?;
        let pt = self.profile.cipher.decrypt(self.data_key.expose(), &ct).map_err(|_| EnvelopeError::DecryptFailed)?;
        String::from_utf8(pt).map_err(|_| EnvelopeError::DataNotJson("not UTF-8".into()))
    }

    /// The top-level fields of a request, before sealing.
    pub fn request_fields(&self, timestamp_millis: i64) -> Map<String, Value> {
        self.request_fields_at(&self.profile.timestamp.render(timestamp_millis))
    }

    /// The same with the timestamp text given verbatim (replaying a captured message).
    pub fn request_fields_at(&self, timestamp: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("appId".into(), Value::String(self.app_id.clone()));
        m.insert("encType".into(), Value::String(self.profile.enc_type.clone()));
        m.insert("signType".into(), Value::String(self.profile.sign.label().into()));
        m.insert("timestamp".into(), Value::String(timestamp.to_string()));
        m.insert("version".into(), Value::String(self.profile.version.clone()));
        m
    }

    /// Signs and encrypts: `fields` are the top-level fields (see [`Self::request_fields`], plus
    /// `code`/`message`/`success` for a reply), `data` the business payload.
    pub fn seal(&self, fields: Map<String, Value>, data: &Value, key: &PrivateKey) -> Result<Sealed, CryptoError> {
        let data_json = canonical_data(data, NumberStyle::Literal);
        let mut signed_fields = fields.clone();
        signed_fields.insert("data".into(), data.clone());
        let sign_string = sign_string(&signed_fields, self.app_secret.expose(), self.profile.numbers);
        let signature = key.sign(&self.profile.sign, sign_string.as_bytes())?;
        let mut body = fields;
        body.insert("encData".into(), Value::String(self.encrypt_data(&data_json)?));
        body.insert("signData".into(), Value::String(self.profile.signature_text.encode(&signature)));
        Ok(Sealed { body: Value::Object(body), sign_string, data_json, signature })
    }

    /// Parses, decrypts and verifies a message signed by the holder of `peer`. A failure reply
    /// without encData/signData is returned unsigned (`signed == false`) so its code and
    /// message can be reported; a message claiming success must be signed.
    pub fn open(&self, raw: &str, peer: &PublicKey) -> Result<Opened, EnvelopeError> {
        let mut fields = match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err(EnvelopeError::NotJson("top level is not an object".into())),
            Err(e) => return Err(EnvelopeError::NotJson(e.to_string())),
        };
        let enc = fields.remove("encData");
        let sig = fields.remove("signData");
        let (enc, sig) = match (enc, sig) {
            (Some(Value::String(e)), Some(Value::String(s))) => (e, s),
            (None, None) if is_failure(&fields) => return Ok(Opened { fields, data: None, signed: false }),
            (e, _) => return Err(EnvelopeError::MissingField(if e.is_none() { "encData" } else { "signData" })),
        };
        if let Some(Value::String(app_id)) = fields.get("appId")
            && *app_id != self.app_id
        {
            return Err(EnvelopeError::AppIdMismatch { expected: self.app_id.clone(), got: app_id.clone() });
        }
        let data_json = self.decrypt_data(&enc)?;
        let data: Value = serde_json::from_str(&data_json).map_err(|e| EnvelopeError::DataNotJson(e.to_string()))?;
        let mut signed_fields = fields.clone();
        signed_fields.insert("data".into(), data.clone());
        let sign_string = sign_string(&signed_fields, self.app_secret.expose(), self.profile.numbers);
        let signature =
            self.profile.signature_text.decode(&sig).map_err(|e| EnvelopeError::SignatureMalformed(e.to_string()))?;
        match peer.verify(&self.profile.sign, sign_string.as_bytes(), &signature) {
            Ok(()) => Ok(Opened { fields, data: Some(data), signed: true }),
            Err(CryptoError::MalformedSignature(m)) => Err(EnvelopeError::SignatureMalformed(m)),
            Err(CryptoError::BadSignature) => Err(EnvelopeError::SignatureMismatch { sign_string }),
            Err(other) => Err(EnvelopeError::Crypto(other)),
        }
    }
}

fn is_failure(fields: &Map<String, Value>) -> bool {
    let code_ok = match fields.get("code") {
        Some(Value::Number(n)) => n.as_i64() == Some(0),
        Some(Value::String(s)) => s == "0",
        _ => false,
    };
    let success = fields.get("success").and_then(Value::as_bool).unwrap_or(false);
    !(code_ok || success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sm2::Sm2PrivateKey;
    use serde_json::json;

    const APP_ID: &str = "43AF047BBA47FC8A1AE8EFB232BDBBCB";
    const APP_SECRET: &str = "4117E877F5FA0A0188891283E4B617D5";

    fn envelope(version: &str) -> MidPlatformEnvelope {
        let profile = MidPlatformProfile { version: version.into(), ..Default::default() };
        MidPlatformEnvelope::new(profile, APP_ID, Secret::new(APP_SECRET.into())).unwrap()
    }

    fn spec_data() -> Value {
        json!({"appId":APP_ID,"appUserId":"o8z4C5avQXqC0aWFPf1Mzu6D7WCQ_bd","idNo":"350181199011193519",
               "idType":"01","phoneNumber":"13763873033","userName":"测试"})
    }

    #[test]
    fn data_key_vector() {
        assert_eq!(&derive_data_key(APP_ID, APP_SECRET).unwrap(), b"863B5F40C70B71EA");
        assert!(derive_data_key("short", APP_SECRET).is_err());
    }

    #[test]
    fn enc_data_vector_spec_example() {
        let e = envelope("1.0.0");
        let json = canonical_data(&spec_data(), NumberStyle::Literal);
        assert_eq!(
            e.encrypt_data(&json).unwrap(),
            "64A9C5A7AB3AEA5FC01DE87025F999521C08D25DA13BD715D7E036A7D7C1DBCB6AB7914898A23A99C97EBEFE5277247AD7D0DD9B18F4DCC71A2C280C5143F25B857C795E6BA9F399652C3A4264FC2CBBA7E06B08E151362301659FC3F377348019010E5EA11342846470277652953B35C2CA95C9975090885AB286BB736BA3BB98F3540962552F40C8350926B93CD21CB7A624E6C4E41E349627E7B36B5C1B5F2A3E846EEB254C6DCD536A5D25825E8E0A4E1A6424F4D8B4116AEF8D0699C425"
        );
    }

    #[test]
    fn sign_string_vector_spec_example() {
        let mut f = Map::new();
        for (k, v) in [
            ("appId", APP_ID),
            ("encType", "SM4"),
            ("signType", "SM2"),
            ("timestamp", "20200207175759"),
            ("version", "1.0.0"),
        ] {
            f.insert(k.into(), json!(v));
        }
        f.insert("data".into(), spec_data());
        assert_eq!(
            sign_string(&f, APP_SECRET, NumberStyle::Literal),
            r#"appId=43AF047BBA47FC8A1AE8EFB232BDBBCB&data={"appId":"43AF047BBA47FC8A1AE8EFB232BDBBCB","appUserId":"o8z4C5avQXqC0aWFPf1Mzu6D7WCQ_bd","idNo":"350181199011193519","idType":"01","phoneNumber":"13763873033","userName":"测试"}&encType=SM4&signType=SM2&timestamp=20200207175759&version=1.0.0&key=4117E877F5FA0A0188891283E4B617D5"#
        );
    }

    #[test]
    fn edge_case_vector_sign_string_and_enc_data() {
        let data = json!({"emptyString":"","nullValue":null,"emptyDict":{},"emptyList":[],
            "nested":{"b":2,"a":1,"deep":{"z":"","y":[1,"",null,{"k":"值"}]}},
            "boolTrue":true,"boolFalse":false,"number":123,"chinese":"高平市人民医院"});
        let mut f = Map::new();
        for (k, v) in [
            ("appId", APP_ID),
            ("encType", "SM4"),
            ("signType", "SM2"),
            ("timestamp", "20260903000000"),
            ("version", "2.0.1"),
            ("extra", "should-be-excluded"),
        ] {
            f.insert(k.into(), json!(v));
        }
        f.insert("data".into(), data.clone());
        assert_eq!(
            sign_string(&f, APP_SECRET, NumberStyle::Literal),
            r#"appId=43AF047BBA47FC8A1AE8EFB232BDBBCB&data={"boolFalse":false,"boolTrue":true,"chinese":"高平市人民医院","nested":{"a":1,"b":2,"deep":{"y":[1,{"k":"值"}]}},"number":123}&encType=SM4&signType=SM2&timestamp=20260903000000&version=2.0.1&key=4117E877F5FA0A0188891283E4B617D5"#
        );
        let e = envelope("2.0.1");
        assert_eq!(
            e.encrypt_data(&canonical_data(&data, NumberStyle::Literal)).unwrap(),
            "F8B6D0EE9B2BBD4C15FB93D134536C51F1D611E1709EBBD7C55DA0E66CA8CA15799897233519F644B0B887A3499BDE42342F95ACA31A7481661752DA66259506A807ACB78800CDE6128D813451AE8B120567A9454E19C20859172CB3EC677B2B3EF8062D261F382FA553D13C9336C0F23190EEC5C8A5CB0298B03C37A37B173788D1656BDA4A973DCC3B4154158592C7"
        );
    }

    #[test]
    fn seal_then_open_round_trips_and_detects_every_tampering() {
        let e = envelope("2.0.1");
        let hospital = PrivateKey::Sm2(Sm2PrivateKey::generate().unwrap());
        let sealed =
            e.seal(e.request_fields(1_764_000_000_000), &json!({"payOrdId":"ORD1","amt":"12.30"}), &hospital).unwrap();
        assert_eq!(sealed.signature.len(), 64, "raw r||s");
        let raw = sealed.body.to_string();
        let opened = e.open(&raw, &hospital.public_key()).unwrap();
        assert_eq!(opened.data.unwrap()["amt"], "12.30");

        let mut tampered = sealed.body.clone();
        tampered["timestamp"] = json!("20000101000000");
        assert!(matches!(
            e.open(&tampered.to_string(), &hospital.public_key()),
            Err(EnvelopeError::SignatureMismatch { .. })
        ));
        let other = PrivateKey::Sm2(Sm2PrivateKey::generate().unwrap());
        assert!(matches!(e.open(&raw, &other.public_key()), Err(EnvelopeError::SignatureMismatch { .. })));
        let mut bad_enc = sealed.body.clone();
        bad_enc["encData"] = json!("00");
        assert_eq!(e.open(&bad_enc.to_string(), &hospital.public_key()), Err(EnvelopeError::DecryptFailed));
        let mut foreign = sealed.body;
        foreign["appId"] = json!("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF");
        assert!(matches!(
            e.open(&foreign.to_string(), &hospital.public_key()),
            Err(EnvelopeError::AppIdMismatch { .. })
        ));
    }

    #[test]
    fn unsigned_failure_replies_are_reported_but_unsigned_success_is_refused() {
        let e = envelope("2.0.1");
        let k = PrivateKey::Sm2(Sm2PrivateKey::generate().unwrap()).public_key();
        let fail = e.open(r#"{"code":-1,"message":"payAuthNo expired","success":false}"#, &k).unwrap();
        assert!(!fail.signed);
        assert_eq!(fail.code(), Some(-1));
        assert_eq!(fail.message(), "payAuthNo expired");
        assert_eq!(e.open(r#"{"code":0,"success":true}"#, &k), Err(EnvelopeError::MissingField("encData")));
        assert!(matches!(e.open("[1]", &k), Err(EnvelopeError::NotJson(_))));
    }
}
