//! The insurance core's message signature (REQ S-4.1a):
//! calls carry the hospital's SM2 signature in `cainfo`, the core refuses unsigned or
//! mis-signed calls, and the hospital believes no reply the core did not sign.

mod common;
use common::*;
use medpay_crypto::signer::{PrivateKey, PublicKey};
use medpay_crypto::sm2::Sm2PrivateKey;

#[tokio::test]
async fn the_core_takes_only_signed_calls_and_its_replies_are_checked() {
    let env = start("core-signature", |_| {}).await;
    assert!(env.core.sign_in().await.is_ok(), "a signed sign-in is answered");

    let mut unsigned = env.core.clone();
    unsigned.signature = None;
    let refused = unsigned.sign_in().await.unwrap_err();
    assert!(refused.to_string().contains("unsigned"), "{refused}");

    let mut other_key = env.core.clone();
    other_key.signature.as_mut().unwrap().hospital_key = PrivateKey::Sm2(Sm2PrivateKey::generate().unwrap());
    let refused = other_key.sign_in().await.unwrap_err();
    assert!(refused.to_string().contains("does not verify"), "{refused}");

    // A reply under a key that is not the core's is an integrity failure, never a result.
    let mut wrong_core = env.core.clone();
    wrong_core.signature.as_mut().unwrap().core_public =
        PublicKey::Sm2(Sm2PrivateKey::generate().unwrap().public_key());
    let err = wrong_core.sign_in().await.unwrap_err();
    assert!(matches!(err, medpay_activities::http::PartyError::Integrity { .. }), "{err}");
    assert!(err.needs_query());
    env.sandbox.stop().await;
}
