//! The self-check activity: proves that a worker picked the task up and that its crypto build
//! reproduces the golden vectors (docs/vectors/mid-platform-envelope.md) before
//! any real money flows through it.

use medpay_crypto::envelope::mid_platform::derive_data_key;
use medpay_crypto::sm2::{DEFAULT_SM2_ID, Sm2PrivateKey, Sm2PublicKey, Sm2SignatureFormat, sm2_sign, sm2_verify};
use medpay_crypto::symmetric::SymmetricCipher;
use medpay_schemas::diagnostics::{CheckResult, SelfCheckReport, SelfCheckRequest};
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

pub struct DiagnosticsActivities;

const VECTOR_PUBLIC_KEY: &str = "0417cc16abaebedc7f87b2e0a508c0cb93631761db7fa19adece712c6aade1d673e389b5e902df7a2e6fe3917b0f55747e00d74e36e939ecc3e7967b7058a91858";
const VECTOR_MESSAGE: &str = "高平市人民医院-SM2交叉验证消息-0123456789";
const VECTOR_SIGNATURE_RAW: &str = "c26647c279a6180bf418dd06c2d081632b709139c9b1fa883aba35ddec3128ce2ff4c93011cf4ded0ba3784c4699369edb8cee986271f70d35c1cdffc7b5fb4d";

fn check(name: &str, result: Result<String, String>) -> CheckResult {
    match result {
        Ok(detail) => CheckResult { name: name.into(), ok: true, detail },
        Err(detail) => CheckResult { name: name.into(), ok: false, detail },
    }
}

/// The checks themselves, without Temporal, so unit tests and the CLI can run them too.
pub fn run_self_checks() -> Vec<CheckResult> {
    let data_key = derive_data_key("43AF047BBA47FC8A1AE8EFB232BDBBCB", "4117E877F5FA0A0188891283E4B617D5")
        .map_err(|e| e.to_string())
        .and_then(|k| {
            if &k == b"863B5F40C70B71EA" {
                Ok("golden data key reproduced".to_string())
            } else {
                Err(format!("got {k:?}"))
            }
        });
    let vector_sig = Sm2PublicKey::from_text(VECTOR_PUBLIC_KEY)
        .and_then(|pk| {
            let sig = hex::decode(VECTOR_SIGNATURE_RAW)
                .map_err(|e| medpay_crypto::CryptoError::InvalidInput(e.to_string()))?;
            sm2_verify(&pk, DEFAULT_SM2_ID, VECTOR_MESSAGE.as_bytes(), &sig, Sm2SignatureFormat::Raw)
        })
        .map(|()| "OpenSSL-made SM2 signature verifies".to_string())
        .map_err(|e| e.to_string());
    let round_trip = Sm2PrivateKey::generate()
        .and_then(|k| {
            let sig = sm2_sign(&k, DEFAULT_SM2_ID, b"self-check", Sm2SignatureFormat::Der)?;
            sm2_verify(&k.public_key(), DEFAULT_SM2_ID, b"self-check", &sig, Sm2SignatureFormat::Der)?;
            let key = medpay_crypto::random::random_bytes::<16>()?;
            let ct = SymmetricCipher::SM4_GCM.encrypt(&key, b"self-check")?;
            if SymmetricCipher::SM4_GCM.decrypt(&key, &ct)? == b"self-check" {
                Ok("SM2 sign/verify and SM4-GCM round trip".to_string())
            } else {
                Err(medpay_crypto::CryptoError::DecryptFailed)
            }
        })
        .map_err(|e| e.to_string());
    vec![
        check("mid-platform data key vector", data_key),
        check("SM2 signature vector", vector_sig),
        check("crypto round trip", round_trip),
    ]
}

#[activities]
impl DiagnosticsActivities {
    #[activity]
    pub async fn self_check(
        _ctx: ActivityContext,
        request: SelfCheckRequest,
    ) -> Result<SelfCheckReport, ActivityError> {
        tracing::info!(requested_by = %request.requested_by, "running self-check");
        Ok(SelfCheckReport { worker_version: env!("CARGO_PKG_VERSION").to_string(), checks: run_self_checks() })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn all_checks_pass_on_this_build() {
        let checks = super::run_self_checks();
        assert_eq!(checks.len(), 3);
        for c in checks {
            assert!(c.ok, "{c:?}");
        }
    }
}
