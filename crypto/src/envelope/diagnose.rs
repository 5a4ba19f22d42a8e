//! The envelope debugger behind `medpay envelope verify`: opens a captured mid-platform message
//! step by step and, when the signature does not verify, tries the variants integrators
//! usually disagree on (numbers as strings, DER vs raw, empty SM2 ID, an unpruned `data`) to
//! say exactly which step differs. Signature mismatches are the most common failure in these
//! integrations (docs/PROTOCOLS.md §6).

use super::canonical::{NumberStyle, to_sorted_json};
use super::mid_platform::{MidPlatformEnvelope, sign_string};
use crate::signer::{PublicKey, SignatureScheme};
use crate::sm2::{Sm2SignatureFormat, sm2_digest, sm2_verify};
use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Step {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Diagnosis {
    pub steps: Vec<Step>,
    /// One sentence: verified, or which step disagrees and what to change.
    pub verdict: String,
    pub verified: bool,
}

impl Diagnosis {
    fn push(&mut self, name: &'static str, ok: bool, detail: impl Into<String>) {
        self.steps.push(Step { name, ok, detail: detail.into() });
    }

    fn fail(mut self, verdict: impl Into<String>) -> Self {
        self.verdict = verdict.into();
        self
    }
}

/// Where two sign strings first differ, with some context, for people comparing logs.
pub fn first_difference(ours: &str, theirs: &str) -> Option<String> {
    let (a, b) = (ours.as_bytes(), theirs.as_bytes());
    let at =
        a.iter().zip(b).position(|(x, y)| x != y).or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len())))?;
    let ctx = |s: &str| {
        let start = s.floor_char_boundary(at.saturating_sub(20));
        let end = s.ceil_char_boundary((at + 20).min(s.len()));
        s[start..end].to_string()
    };
    Some(format!("byte {at}: ours …{}… vs theirs …{}…", ctx(ours), ctx(theirs)))
}

/// The message's fields with `data` decrypted in place of `encData`, and its `signData`; on
/// the way, a step per check. Err: the verdict when the message cannot be opened.
fn opened(env: &MidPlatformEnvelope, raw: &str, d: &mut Diagnosis) -> Result<(Map<String, Value>, String), String> {
    let mut fields = match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(m)) => {
            d.push("parse", true, format!("JSON object with fields {:?}", m.keys().collect::<Vec<_>>()));
            m
        }
        other => {
            d.push("parse", false, format!("{other:?}"));
            return Err("the message is not a JSON object".into());
        }
    };
    let app_id = fields.get("appId").and_then(Value::as_str).unwrap_or_default().to_string();
    d.push("appId", app_id == env.app_id, format!("message {app_id:?}, configured {:?}", env.app_id));
    d.push(
        "data key",
        true,
        format!("{} (ASCII {:?})", hex::encode_upper(env.data_key()), String::from_utf8_lossy(env.data_key())),
    );
    let (Some(Value::String(enc)), Some(Value::String(sig_text))) =
        (fields.remove("encData"), fields.remove("signData"))
    else {
        d.push("fields", false, "encData or signData missing".to_string());
        return Err("the message carries no encData/signData (an unsigned failure reply?)".into());
    };
    let data = match env.decrypt_data(&enc) {
        Ok(json) => {
            d.push("decrypt encData", true, json.clone());
            match serde_json::from_str::<Value>(&json) {
                Ok(v) => v,
                Err(e) => {
                    d.push("data JSON", false, e.to_string());
                    return Err("encData decrypts but is not JSON: the data key or the padding differ".into());
                }
            }
        }
        Err(e) => {
            d.push("decrypt encData", false, e.to_string());
            return Err(
                "encData does not decrypt: appId/appSecret (hence the data key) differ from the sender's".into()
            );
        }
    };
    fields.insert("data".into(), data);
    Ok((fields, sig_text))
}

/// Diagnoses a captured mid-platform message signed by the holder of `peer`.
/// `expected_sign_string` is the counterparty's sign string from its logs, when known.
pub fn diagnose_mid_platform(
    env: &MidPlatformEnvelope,
    raw: &str,
    peer: &PublicKey,
    expected_sign_string: Option<&str>,
) -> Diagnosis {
    let mut d = Diagnosis { steps: vec![], verdict: String::new(), verified: false };
    let (fields, sig_text) = match opened(env, raw, &mut d) {
        Ok(v) => v,
        Err(why) => return d.fail(why),
    };
    let profile = &env.profile;
    let ours = sign_string(&fields, env.app_secret(), profile.numbers);
    d.push("sign string", true, ours.clone());
    if let Some(theirs) = expected_sign_string {
        match first_difference(&ours, theirs) {
            None => d.push("compare sign string", true, "identical to the expected sign string"),
            Some(diff) => d.push("compare sign string", false, diff),
        }
    }
    let sig = match profile.signature_text.decode(&sig_text) {
        Ok(s) => s,
        Err(e) => {
            d.push("decode signData", false, e.to_string());
            return d.fail(format!("signData is not {:?} text", profile.signature_text));
        }
    };
    let (id, format) = match &profile.sign {
        SignatureScheme::Sm2 { id, format } => (id.clone(), *format),
        SignatureScheme::Rsa2 => {
            let ok = peer.verify(&profile.sign, ours.as_bytes(), &sig).is_ok();
            d.push("verify RSA2", ok, String::new());
            d.verified = ok;
            return if ok { d.fail("verified") } else { d.fail("RSA2 signature does not verify over our sign string") };
        }
    };
    let PublicKey::Sm2(pk) = peer else {
        d.push("key", false, "an RSA key was given for an SM2 profile");
        return d.fail("the public key type does not match the profile");
    };
    let detected = Sm2SignatureFormat::detect(&sig);
    d.push(
        "signature encoding",
        detected == format,
        format!("{} bytes, looks {detected:?}, profile says {format:?}", sig.len()),
    );
    if let Ok(e) = sm2_digest(pk, &id, ours.as_bytes()) {
        d.push("SM3 digest e=SM3(Z||M)", true, hex::encode(e));
    }
    if sm2_verify(pk, &id, ours.as_bytes(), &sig, format).is_ok() {
        d.push("verify", true, "signature verifies");
        d.verified = true;
        return d.fail("verified");
    }
    d.push("verify", false, "signature does not verify with the configured profile");

    if let Some(what) = verifying_variant(env, &fields, &ours, pk, &id, format, detected, &sig) {
        d.push("variant", true, format!("verifies with {what}"));
        return d.fail(format!("the sender signed with {what}: align the profile (or the sender) on this step"));
    }
    if let Some(theirs) = expected_sign_string
        && sm2_verify(pk, &id, theirs.as_bytes(), &sig, detected).is_ok()
    {
        return d.fail("the signature covers the expected sign string, not ours: see 'compare sign string' for the first differing byte");
    }
    d.fail("no variant verifies: the public key is not the signer's, or the signed content differs beyond the known variants")
}

/// The variant senders disagree on that makes the signature verify, if one does: numbers
/// signed the other way, the other signature encoding, an empty SM2 ID, unpruned data, no
/// `&key=` suffix. Tried one at a time.
#[allow(clippy::too_many_arguments)]
fn verifying_variant(
    env: &MidPlatformEnvelope,
    fields: &Map<String, Value>,
    ours: &str,
    pk: &crate::sm2::Sm2PublicKey,
    id: &str,
    format: Sm2SignatureFormat,
    detected: Sm2SignatureFormat,
    sig: &[u8],
) -> Option<String> {
    let flipped_numbers = match env.profile.numbers {
        NumberStyle::Literal => NumberStyle::String,
        NumberStyle::String => NumberStyle::Literal,
    };
    let candidates: Vec<(String, String, String, Sm2SignatureFormat)> = vec![
        (
            format!("numbers signed as {flipped_numbers:?}"),
            sign_string(fields, env.app_secret(), flipped_numbers),
            id.to_string(),
            format,
        ),
        (format!("signature encoded as {detected:?}"), ours.to_string(), id.to_string(), detected),
        ("an empty SM2 ID (OpenSSL's default)".into(), ours.to_string(), String::new(), detected),
        (
            "data signed without pruning empty values".into(),
            unpruned_sign_string(fields, env.app_secret(), env.profile.numbers),
            id.to_string(),
            detected,
        ),
        (
            "no \"&key=appSecret\" suffix".into(),
            ours.trim_end_matches(&format!("&key={}", env.app_secret())).to_string(),
            id.to_string(),
            detected,
        ),
    ];
    candidates
        .into_iter()
        .find(|(_, msg, cid, cformat)| sm2_verify(pk, cid, msg.as_bytes(), sig, *cformat).is_ok())
        .map(|(what, ..)| what)
}

/// The sign string with `data` sorted but not pruned (a common mistake of senders).
fn unpruned_sign_string(fields: &Map<String, Value>, app_secret: &str, numbers: NumberStyle) -> String {
    let mut f = fields.clone();
    if let Some(data) = f.get("data").cloned() {
        f.insert("data".into(), Value::String(to_sorted_json(&data, numbers)));
    }
    sign_string(&f, app_secret, numbers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::mid_platform::MidPlatformProfile;
    use crate::signer::PrivateKey;
    use crate::sm2::Sm2PrivateKey;
    use medpay_schemas::Secret;
    use serde_json::json;

    fn env(numbers: NumberStyle) -> MidPlatformEnvelope {
        let profile = MidPlatformProfile { numbers, ..Default::default() };
        MidPlatformEnvelope::new(
            profile,
            "43AF047BBA47FC8A1AE8EFB232BDBBCB",
            Secret::new("4117E877F5FA0A0188891283E4B617D5".into()),
        )
        .unwrap()
    }

    #[test]
    fn names_the_number_style_as_the_disagreeing_step() {
        let key = PrivateKey::Sm2(Sm2PrivateKey::generate().unwrap());
        let sender = env(NumberStyle::String);
        let sealed = sender.seal(sender.request_fields(0), &json!({"cnt": 2, "name": "x"}), &key).unwrap();
        let receiver = env(NumberStyle::Literal);
        let d = diagnose_mid_platform(&receiver, &sealed.body.to_string(), &key.public_key(), None);
        assert!(!d.verified);
        assert!(d.verdict.contains("numbers signed as String"), "{}", d.verdict);
        let ok = diagnose_mid_platform(&sender, &sealed.body.to_string(), &key.public_key(), Some(&sealed.sign_string));
        assert!(ok.verified, "{ok:?}");
    }

    #[test]
    fn wrong_key_and_wrong_secret_are_told_apart() {
        let key = PrivateKey::Sm2(Sm2PrivateKey::generate().unwrap());
        let e = env(NumberStyle::Literal);
        let sealed = e.seal(e.request_fields(0), &json!({"a": "b"}), &key).unwrap();
        let other = PrivateKey::Sm2(Sm2PrivateKey::generate().unwrap());
        let d = diagnose_mid_platform(&e, &sealed.body.to_string(), &other.public_key(), None);
        assert!(d.verdict.contains("public key is not the signer's"), "{}", d.verdict);
        let wrong_secret = MidPlatformEnvelope::new(
            MidPlatformProfile::default(),
            "43AF047BBA47FC8A1AE8EFB232BDBBCB",
            Secret::new("0000".into()),
        )
        .unwrap();
        let d = diagnose_mid_platform(&wrong_secret, &sealed.body.to_string(), &key.public_key(), None);
        assert!(d.verdict.contains("encData does not decrypt"), "{}", d.verdict);
    }

    #[test]
    fn first_difference_points_at_the_byte() {
        assert_eq!(first_difference("abc", "abc"), None);
        assert!(first_difference("a=1&b=2", "a=1&b=3").unwrap().starts_with("byte 6"));
        assert!(first_difference("a=中", "a=").unwrap().starts_with("byte 2"));
    }
}
