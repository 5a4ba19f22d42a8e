//! The clearing bank's open-platform gateway envelope (ICBC style, docs/PROTOCOLS.md §4.1):
//! a form POST of `app_id, msg_id, format, charset, sign_type, timestamp, [encrypt_type],
//! biz_content, sign`, signed over `<path>?k=v&...` with the parameters sorted by key. Replies
//! are `{"response_biz_content":{...},"sign":"..."}`, verified over the raw bytes of the
//! `response_biz_content` value as received (never re-serialised). The acknowledgement we
//! return to the bank's callbacks is signed over the literal fragment
//! `"response_biz_content":{...},"sign_type":"..."`.
//!
//! Algorithms are the profile's: SM2 by default, RSA2 for legacy banks (REQ B-1); `biz_content`
//! optionally encrypted with SM4 or AES (REQ S-4.1b).

use super::time::TimestampFormat;
use crate::error::CryptoError;
use crate::signer::{PrivateKey, PublicKey, SignatureScheme};
use crate::sm2::Sm2SignatureFormat;
use crate::symmetric::SymmetricCipher;
use crate::text::{decode_base64, encode_base64};
use medpay_schemas::Secret;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BankGatewayProfile {
    pub sign: SignatureScheme,
    /// `biz_content` encryption, `None` for plaintext JSON.
    pub encrypt: Option<SymmetricCipher>,
    /// Label sent as `encrypt_type` ("SM4", "AES").
    pub encrypt_label: String,
    pub timestamp: TimestampFormat,
    pub charset: String,
    pub format: String,
    /// Whether the sign string starts with `<path>?` (ICBC) or is only the sorted parameters
    /// (Alipay's open platform).
    pub path_in_sign_string: bool,
    /// The reply's business field (`response_biz_content`, or Alipay's `<method>_response`).
    pub response_field: String,
}

impl Default for BankGatewayProfile {
    fn default() -> Self {
        Self {
            sign: SignatureScheme::sm2(Sm2SignatureFormat::Der),
            encrypt: None,
            encrypt_label: "SM4".into(),
            timestamp: TimestampFormat::Dashed,
            charset: "UTF-8".into(),
            format: "json".into(),
            path_in_sign_string: true,
            response_field: "response_biz_content".into(),
        }
    }
}

impl BankGatewayProfile {
    /// The legacy profile: SHA256withRSA, no encryption.
    pub fn legacy_rsa2() -> Self {
        Self { sign: SignatureScheme::Rsa2, ..Self::default() }
    }

    /// Alipay's open-platform gateway for `alipay.commerce.medical.authinfo.auth.query`: bare
    /// sorted parameters, SM2 signature (DER, Base64), reply under `<method>_response`.
    pub fn alipay_auth_query() -> Self {
        Self {
            path_in_sign_string: false,
            response_field: "alipay_commerce_medical_authinfo_auth_query_response".into(),
            charset: "utf-8".into(),
            format: "JSON".into(),
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    #[error("missing parameter {0:?}")]
    MissingParam(&'static str),
    #[error("the reply is not the gateway's JSON shape: {0}")]
    NotJson(String),
    #[error("sign is not Base64: {0}")]
    SignatureMalformed(String),
    #[error("signature does not verify over {signed:?}")]
    SignatureMismatch { signed: String },
    #[error("biz_content does not decrypt with the configured key")]
    DecryptFailed,
    #[error("biz_content is not JSON: {0}")]
    BizNotJson(String),
    #[error("crypto: {0}")]
    Crypto(#[from] CryptoError),
}

/// `<path>?k1=v1&k2=v2...`, keys sorted, `sign` excluded, empty values skipped; an empty
/// `path` gives the bare sorted parameters (Alipay).
pub fn sign_string(path: &str, params: &BTreeMap<String, String>) -> String {
    let query: Vec<String> =
        params.iter().filter(|(k, v)| k.as_str() != "sign" && !v.is_empty()).map(|(k, v)| format!("{k}={v}")).collect();
    if path.is_empty() { query.join("&") } else { format!("{path}?{}", query.join("&")) }
}

/// One connection to a bank gateway: profile, our app id, and the `biz_content` key if any.
#[derive(Clone)]
pub struct BankGatewayEnvelope {
    pub profile: BankGatewayProfile,
    pub app_id: String,
    biz_key: Option<Secret<Vec<u8>>>,
}

impl std::fmt::Debug for BankGatewayEnvelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BankGatewayEnvelope")
            .field("app_id", &self.app_id)
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

/// A request ready to send, with the sign string kept for diagnostics and the event log.
#[derive(Debug, Clone)]
pub struct SealedRequest {
    pub params: BTreeMap<String, String>,
    pub sign_string: String,
}

/// Where a request's `biz_content` came from, after [`BankGatewayEnvelope::open_request`].
#[derive(Debug, Clone, PartialEq)]
pub struct OpenedRequest {
    pub params: BTreeMap<String, String>,
    /// The decrypted business JSON.
    pub biz_content: serde_json::Value,
}

impl BankGatewayEnvelope {
    pub fn new(
        profile: BankGatewayProfile,
        app_id: impl Into<String>,
        biz_key: Option<Secret<Vec<u8>>>,
    ) -> Result<Self, CryptoError> {
        if profile.encrypt.is_some() && biz_key.is_none() {
            return Err(CryptoError::InvalidKey("the profile encrypts biz_content but no key is configured".into()));
        }
        Ok(Self { profile, app_id: app_id.into(), biz_key })
    }

    fn signed_path<'a>(&self, path: &'a str) -> &'a str {
        if self.profile.path_in_sign_string { path } else { "" }
    }

    fn encrypt_biz(&self, json: &str) -> Result<String, CryptoError> {
        match (&self.profile.encrypt, &self.biz_key) {
            (Some(c), Some(k)) => Ok(encode_base64(&c.encrypt(k.expose(), json.as_bytes())?)),
            _ => Ok(json.to_string()),
        }
    }

    fn decrypt_biz(&self, text: &str) -> Result<serde_json::Value, GatewayError> {
        let json = match (&self.profile.encrypt, &self.biz_key) {
            (Some(c), Some(k)) => {
                let ct = decode_base64(text).map_err(|_| GatewayError::DecryptFailed)?;
                let pt = c.decrypt(k.expose(), &ct).map_err(|_| GatewayError::DecryptFailed)?;
                String::from_utf8(pt).map_err(|_| GatewayError::DecryptFailed)?
            }
            _ => text.to_string(),
        };
        serde_json::from_str(&json).map_err(|e| GatewayError::BizNotJson(e.to_string()))
    }

    /// Builds the signed form parameters of a call to `path`.
    pub fn seal_request(
        &self,
        path: &str,
        msg_id: &str,
        timestamp_millis: i64,
        biz_content: &serde_json::Value,
        key: &PrivateKey,
    ) -> Result<SealedRequest, CryptoError> {
        self.seal_form(path, msg_id, timestamp_millis, biz_content, key, &[])
    }

    /// The same with extra signed parameters, e.g. a callback's `from` and `api`.
    pub fn seal_form(
        &self,
        path: &str,
        msg_id: &str,
        timestamp_millis: i64,
        biz_content: &serde_json::Value,
        key: &PrivateKey,
        extra: &[(&str, &str)],
    ) -> Result<SealedRequest, CryptoError> {
        let mut params: BTreeMap<String, String> =
            extra.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect();
        params.insert("app_id".to_string(), self.app_id.clone());
        if !msg_id.is_empty() {
            params.insert("msg_id".to_string(), msg_id.to_string());
        }
        params.insert("format".to_string(), self.profile.format.clone());
        params.insert("charset".to_string(), self.profile.charset.clone());
        params.insert("sign_type".to_string(), self.profile.sign.label().to_string());
        params.insert("timestamp".to_string(), self.profile.timestamp.render(timestamp_millis));
        if self.profile.encrypt.is_some() {
            params.insert("encrypt_type".to_string(), self.profile.encrypt_label.clone());
        }
        params.insert("biz_content".to_string(), self.encrypt_biz(&biz_content.to_string())?);
        let sign_string = sign_string(self.signed_path(path), &params);
        let sig = key.sign(&self.profile.sign, sign_string.as_bytes())?;
        params.insert("sign".to_string(), encode_base64(&sig));
        Ok(SealedRequest { params, sign_string })
    }

    /// Verifies and decrypts a signed form: a request at the bank (sandbox) or a callback the
    /// bank sends us (where `path` is the callback's `api` parameter).
    pub fn open_request(
        &self,
        path: &str,
        params: BTreeMap<String, String>,
        peer: &PublicKey,
    ) -> Result<OpenedRequest, GatewayError> {
        let sig_text = params.get("sign").ok_or(GatewayError::MissingParam("sign"))?;
        let biz = params.get("biz_content").ok_or(GatewayError::MissingParam("biz_content"))?;
        let signed = sign_string(self.signed_path(path), &params);
        let sig = decode_base64(sig_text).map_err(|e| GatewayError::SignatureMalformed(e.to_string()))?;
        verify(peer, &self.profile.sign, &signed, &sig)?;
        let biz_content = self.decrypt_biz(biz)?;
        Ok(OpenedRequest { params, biz_content })
    }

    /// A reply: `{"response_biz_content":<biz>,"sign":"..."}`, signed over the raw `<biz>` text.
    pub fn seal_response(&self, biz: &serde_json::Value, key: &PrivateKey) -> Result<String, CryptoError> {
        let raw_value = match self.profile.encrypt {
            Some(_) => serde_json::Value::String(self.encrypt_biz(&biz.to_string())?).to_string(),
            None => biz.to_string(),
        };
        let sig = key.sign(&self.profile.sign, raw_value.as_bytes())?;
        Ok(format!(r#"{{"{}":{raw_value},"sign":"{}"}}"#, self.profile.response_field, encode_base64(&sig)))
    }

    /// Verifies a reply over the raw text of `response_biz_content` and returns the business JSON.
    pub fn open_response(&self, raw: &str, peer: &PublicKey) -> Result<serde_json::Value, GatewayError> {
        let reply: BTreeMap<String, &RawValue> =
            serde_json::from_str(raw).map_err(|e| GatewayError::NotJson(e.to_string()))?;
        let field =
            reply.get(&self.profile.response_field).ok_or(GatewayError::MissingParam("response_biz_content"))?;
        let sign: String = reply
            .get("sign")
            .map(|r| serde_json::from_str(r.get()))
            .transpose()
            .map_err(|e| GatewayError::NotJson(e.to_string()))?
            .ok_or(GatewayError::MissingParam("sign"))?;
        let signed = field.get();
        let sig = decode_base64(&sign).map_err(|e| GatewayError::SignatureMalformed(e.to_string()))?;
        verify(peer, &self.profile.sign, signed, &sig)?;
        match serde_json::from_str::<serde_json::Value>(signed) {
            Ok(serde_json::Value::String(ct)) if self.profile.encrypt.is_some() => self.decrypt_biz(&ct),
            Ok(v) => Ok(v),
            Err(e) => Err(GatewayError::BizNotJson(e.to_string())),
        }
    }

    /// Our acknowledgement of a bank callback: return_code 0 echoing the callback's msg_id,
    /// signed over the fragment `"response_biz_content":{...},"sign_type":"..."`.
    pub fn seal_callback_ack(&self, callback_msg_id: &str, key: &PrivateKey) -> Result<String, CryptoError> {
        let biz = serde_json::json!({"return_code": 0, "return_msg": "success", "msg_id": callback_msg_id});
        let fragment = format!(r#""response_biz_content":{biz},"sign_type":"{}""#, self.profile.sign.label());
        let sig = key.sign(&self.profile.sign, fragment.as_bytes())?;
        Ok(format!(r#"{{{fragment},"sign":"{}"}}"#, encode_base64(&sig)))
    }

    /// The bank's side of [`Self::seal_callback_ack`]: is this a valid acknowledgement of `msg_id`?
    pub fn open_callback_ack(&self, raw: &str, msg_id: &str, peer: &PublicKey) -> Result<(), GatewayError> {
        let start = raw.find(r#""response_biz_content""#).ok_or(GatewayError::MissingParam("response_biz_content"))?;
        let sign_at = raw.rfind(r#","sign":""#).ok_or(GatewayError::MissingParam("sign"))?;
        if sign_at < start {
            return Err(GatewayError::NotJson("sign precedes response_biz_content".into()));
        }
        let fragment = &raw[start..sign_at];
        #[derive(Deserialize)]
        struct Ack {
            response_biz_content: AckBiz,
            sign: String,
        }
        #[derive(Deserialize)]
        struct AckBiz {
            return_code: i64,
            msg_id: String,
        }
        let ack: Ack = serde_json::from_str(raw).map_err(|e| GatewayError::NotJson(e.to_string()))?;
        let sig = decode_base64(&ack.sign).map_err(|e| GatewayError::SignatureMalformed(e.to_string()))?;
        verify(peer, &self.profile.sign, fragment, &sig)?;
        if ack.response_biz_content.return_code != 0 || ack.response_biz_content.msg_id != msg_id {
            return Err(GatewayError::NotJson(format!(
                "ack has return_code {} for msg_id {:?}, expected 0 for {msg_id:?}",
                ack.response_biz_content.return_code, ack.response_biz_content.msg_id
            )));
        }
        Ok(())
    }
}

fn verify(peer: &PublicKey, scheme: &SignatureScheme, signed: &str, sig: &[u8]) -> Result<(), GatewayError> {
    match peer.verify(scheme, signed.as_bytes(), sig) {
        Ok(()) => Ok(()),
        Err(CryptoError::BadSignature) => Err(GatewayError::SignatureMismatch { signed: signed.to_string() }),
        Err(CryptoError::MalformedSignature(m)) => Err(GatewayError::SignatureMalformed(m)),
        Err(e) => Err(GatewayError::Crypto(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sm2::Sm2PrivateKey;
    use crate::symmetric::{BlockCipherKind, CipherMode, IvPolicy};
    use serde_json::json;

    const PATH: &str = "/api/mimp/mixorder/V1";

    fn keys() -> (PrivateKey, PrivateKey) {
        (PrivateKey::Sm2(Sm2PrivateKey::generate().unwrap()), PrivateKey::Sm2(Sm2PrivateKey::generate().unwrap()))
    }

    #[test]
    fn sign_string_sorts_and_skips_sign_and_empty() {
        let mut p = BTreeMap::new();
        for (k, v) in
            [("msg_id", "m1"), ("app_id", "A"), ("sign", "x"), ("encrypt_type", ""), ("biz_content", "{\"a\":1}")]
        {
            p.insert(k.to_string(), v.to_string());
        }
        assert_eq!(sign_string("/api/x/V1", &p), "/api/x/V1?app_id=A&biz_content={\"a\":1}&msg_id=m1");
    }

    #[test]
    fn request_and_reply_round_trip_plain_and_encrypted() {
        let (hospital, bank) = keys();
        for encrypt in
            [None, Some(SymmetricCipher { cipher: BlockCipherKind::Sm4, mode: CipherMode::Cbc { iv: IvPolicy::Zero } })]
        {
            let profile = BankGatewayProfile { encrypt, ..Default::default() };
            let env = BankGatewayEnvelope::new(profile, "APP1", encrypt.map(|_| Secret::new(vec![9u8; 16]))).unwrap();
            let biz = json!({"out_trade_no":"SP1","total_fee":"3000"});
            let req = env.seal_request(PATH, "msg-1", 1_764_000_000_000, &biz, &hospital).unwrap();
            assert_eq!(req.params["timestamp"], "2025-11-25 00:00:00");
            let opened = env.open_request(PATH, req.params.clone(), &hospital.public_key()).unwrap();
            assert_eq!(opened.biz_content, biz);
            // Same params to another path: the path is signed.
            assert!(matches!(
                env.open_request("/api/other/V1", req.params, &hospital.public_key()),
                Err(GatewayError::SignatureMismatch { .. })
            ));

            let reply = env.seal_response(&json!({"return_code":0,"mix_trade_no":"MIX1"}), &bank).unwrap();
            assert_eq!(env.open_response(&reply, &bank.public_key()).unwrap()["mix_trade_no"], "MIX1");
            let tampered = reply.replace("MIX1", "MIX2");
            if encrypt.is_none() {
                assert!(matches!(
                    env.open_response(&tampered, &bank.public_key()),
                    Err(GatewayError::SignatureMismatch { .. })
                ));
            }
        }
    }

    #[test]
    fn reply_is_verified_over_raw_bytes_not_a_reserialisation() {
        let (_, bank) = keys();
        let env = BankGatewayEnvelope::new(BankGatewayProfile::default(), "APP1", None).unwrap();
        // Key order and spacing as a Java bank would send them: must verify as received.
        let raw_biz = r#"{ "z":1, "a":"中" }"#;
        let sig = bank.sign(&env.profile.sign, raw_biz.as_bytes()).unwrap();
        let raw = format!(r#"{{"response_biz_content":{raw_biz},"sign":"{}"}}"#, encode_base64(&sig));
        assert_eq!(env.open_response(&raw, &bank.public_key()).unwrap()["a"], "中");
    }

    #[test]
    fn callback_ack_round_trip() {
        let (hospital, _) = keys();
        let env = BankGatewayEnvelope::new(BankGatewayProfile::default(), "APP1", None).unwrap();
        let ack = env.seal_callback_ack("cb-42", &hospital).unwrap();
        assert!(ack.starts_with(r#"{"response_biz_content":{"#));
        env.open_callback_ack(&ack, "cb-42", &hospital.public_key()).unwrap();
        assert!(env.open_callback_ack(&ack, "cb-43", &hospital.public_key()).is_err());
    }

    #[test]
    fn alipay_style_profile_signs_bare_parameters_and_reads_its_response_field() {
        let (hospital, platform) = keys();
        let profile = BankGatewayProfile {
            path_in_sign_string: false,
            response_field: "alipay_commerce_medical_authinfo_auth_query_response".into(),
            ..Default::default()
        };
        let env = BankGatewayEnvelope::new(profile, "2021000000000001", None).unwrap();
        let req = env
            .seal_form(
                "/gateway.do",
                "",
                0,
                &json!({"auth_code":"AC1"}),
                &hospital,
                &[("method", "alipay.commerce.medical.authinfo.auth.query")],
            )
            .unwrap();
        assert!(req.sign_string.starts_with("app_id=2021000000000001&biz_content="), "{}", req.sign_string);
        assert!(!req.params.contains_key("msg_id"));
        env.open_request("/gateway.do", req.params, &hospital.public_key()).unwrap();
        let reply = env.seal_response(&json!({"code":"10000","auth_stas":"1"}), &platform).unwrap();
        assert!(reply.starts_with(r#"{"alipay_commerce_medical_authinfo_auth_query_response":"#));
        assert_eq!(env.open_response(&reply, &platform.public_key()).unwrap()["auth_stas"], "1");
    }

    #[test]
    fn encrypting_profile_needs_a_key() {
        let p = BankGatewayProfile { encrypt: Some(SymmetricCipher::SM4_ECB), ..Default::default() };
        assert!(BankGatewayEnvelope::new(p, "APP1", None).is_err());
    }
}
