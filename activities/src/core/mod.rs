//! The insurance core adapter: 9001 sign-in and 1101 / queryPsninfobyZFB person info
//! (docs/PROTOCOLS.md §2).

pub mod transformers;

use crate::http::{LocalStage, PartyError, now_ms, send};
use medpay_crypto::envelope::core as signature;
use medpay_crypto::envelope::time::TimestampFormat;
use medpay_crypto::signer::{PrivateKey, PublicKey, SignatureScheme};
use medpay_schemas::MsgId;
use medpay_schemas::Secret;
use medpay_schemas::wire::core::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

const PARTY: &str = "core";

#[derive(Clone)]
pub struct CoreClient {
    pub http: reqwest::Client,
    /// Full URL of the callService endpoint.
    pub url: String,
    pub org_code: medpay_schemas::OrgCode,
    pub org_name: String,
    /// Insured-area of the hospital (就医地), e.g. 510100.
    pub mdtrtarea_admvs: String,
    /// "1101" or "queryPsninfobyZFB" (Sichuan's mobile-pay variant).
    pub person_info_infno: String,
    /// Today's sign-in (9001), shared by every call of this process: the core keeps one current
    /// `sign_no` per institution, so signing in per payment would invalidate the payments
    /// running beside it.
    pub session: std::sync::Arc<tokio::sync::Mutex<Option<SignIn>>>,
    /// The hospital's signature on calls and the core's on replies (REQ S-4.1a), unless the
    /// hospital's core profile is unsigned.
    pub signature: Option<CoreSignature>,
}

/// The keys of the core's message signature.
#[derive(Clone)]
pub struct CoreSignature {
    pub scheme: SignatureScheme,
    pub hospital_key: PrivateKey,
    pub core_public: PublicKey,
}

/// A 9001 sign-in and the Beijing date it was made on.
#[derive(Clone, Debug)]
pub struct SignIn {
    pub date: medpay_schemas::time::BeijingDate,
    pub sign_no: String,
}

impl CoreClient {
    /// msgid = org code (padded to 12) + yyyyMMddHHmmss + a 4-digit sequence. The sequence is
    /// process-wide so two messages in the same second never share a msgid.
    fn msgid(&self) -> Result<MsgId, PartyError> {
        static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ts = TimestampFormat::Compact.render(now_ms());
        MsgId::parse(format!("{:0<12}{ts}{:04}", self.org_code, seq % 10_000)).map_err(LocalStage::Encode.of(PARTY))
    }

    async fn call<I: Serialize, O: DeserializeOwned>(
        &self,
        infno: &str,
        sign_no: &str,
        input: I,
    ) -> Result<O, PartyError> {
        let req = CoreRequest {
            infno: infno.into(),
            msgid: self.msgid()?,
            mdtrtarea_admvs: self.mdtrtarea_admvs.clone(),
            insuplc_admdvs: String::new(),
            recer_sys_code: "MBS_LOCAL".into(),
            dev_no: String::new(),
            dev_safe_info: String::new(),
            cainfo: String::new(),
            signtype: String::new(),
            infver: medpay_schemas::wire::core::codes::INTERFACE_VERSION.into(),
            opter_type: medpay_schemas::wire::core::codes::OPERATOR_MOBILE.into(),
            opter: "medpay".into(),
            opter_name: "medpay".into(),
            inf_time: TimestampFormat::Dashed.render(now_ms()),
            fixmedins_code: self.org_code.clone(),
            fixmedins_name: self.org_name.clone(),
            sign_no: sign_no.into(),
            input,
        };
        let mut body = serde_json::to_value(&req).map_err(LocalStage::Encode.of(PARTY))?;
        if let Some(sig) = &self.signature {
            signature::sign(&mut body, &sig.scheme, &sig.hospital_key).map_err(LocalStage::Sign.of(PARTY))?;
        }
        let (status, text) = send(PARTY, self.http.post(&self.url).json(&body)).await?;
        let unreadable = |e: serde_json::Error| PartyError::Unknown {
            party: PARTY,
            detail: format!("HTTP {status}, unreadable reply: {e}"),
        };
        let raw: serde_json::Value = serde_json::from_str(&text).map_err(unreadable)?;
        // A reply is believed only under the core's signature, refusals included: a forged
        // refusal would fail a payment as surely as a forged success would mislead it.
        if let Some(sig) = &self.signature {
            signature::verify(&raw, &sig.scheme, &sig.core_public).map_err(|e| PartyError::Integrity {
                party: PARTY,
                detail: format!("reply to {infno} (msgid {}): {e}", req.msgid.as_str()),
            })?;
        }
        let reply: CoreResponse<O> = serde_json::from_value(raw).map_err(unreadable)?;
        if reply.infcode != "0" {
            return Err(PartyError::Rejected {
                party: PARTY,
                code: reply.infcode,
                message: reply.err_msg.unwrap_or_default(),
            });
        }
        reply.output.ok_or_else(|| PartyError::Unknown { party: PARTY, detail: "success without output".into() })
    }

    pub async fn sign_in(&self) -> Result<String, PartyError> {
        let input = transformers::sign_in();
        let out: SignInOutput = self.call("9001", "", input).await?;
        Ok(out.signinoutb.sign_no)
    }

    /// Today's sign_no: the cached one, or a new sign-in (one at a time).
    pub async fn current_sign_no(&self) -> Result<String, PartyError> {
        let mut session = self.session.lock().await;
        let today = medpay_schemas::time::BeijingDate::of(now_ms());
        if let Some(s) = session.as_ref().filter(|s| s.date == today) {
            return Ok(s.sign_no.clone());
        }
        let sign_no = self.sign_in().await?;
        *session = Some(SignIn { date: today, sign_no: sign_no.clone() });
        Ok(sign_no)
    }

    /// Person info under today's sign-in. A refusal with a cached sign_no is tried once more
    /// after a fresh sign-in (another process, or the core's restart, may have replaced it).
    pub async fn person_info_signed(&self, pay_auth_no: &Secret<String>) -> Result<PersonInfoOutput, PartyError> {
        let sign_no = self.current_sign_no().await?;
        match self.person_info(&sign_no, pay_auth_no).await {
            Err(PartyError::Rejected { .. }) => {
                {
                    let mut session = self.session.lock().await;
                    if session.as_ref().is_some_and(|s| s.sign_no == sign_no) {
                        *session = None;
                    }
                }
                let fresh = self.current_sign_no().await?;
                self.person_info(&fresh, pay_auth_no).await
            }
            other => other,
        }
    }

    pub async fn person_info(
        &self,
        sign_no: &str,
        pay_auth_no: &Secret<String>,
    ) -> Result<PersonInfoOutput, PartyError> {
        let input = transformers::person_info(pay_auth_no);
        self.call(&self.person_info_infno.clone(), sign_no, input).await
    }
}
