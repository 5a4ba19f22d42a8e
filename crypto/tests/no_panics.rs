//! No input makes the envelope and key functions panic (a panic in a server is a DoS): property
//! tests over garbage, truncated and oversized inputs. Every rejection is a typed error.

use medpay_crypto::envelope::bank_gateway::{BankGatewayEnvelope, BankGatewayProfile};
use medpay_crypto::envelope::diagnose::diagnose_mid_platform;
use medpay_crypto::envelope::mid_platform::{MidPlatformEnvelope, MidPlatformProfile};
use medpay_crypto::rsa2::{RsaPrivate, RsaPublic};
use medpay_crypto::signer::{PrivateKey, PublicKey};
use medpay_crypto::sm2::{Sm2PrivateKey, Sm2PublicKey};
use medpay_crypto::symmetric::SymmetricCipher;
use medpay_schemas::Secret;
use proptest::prelude::*;
use serde_json::json;
use std::collections::BTreeMap;

fn mid() -> MidPlatformEnvelope {
    MidPlatformEnvelope::new(
        MidPlatformProfile::default(),
        "43AF047BBA47FC8A1AE8EFB232BDBBCB",
        Secret::new("4117E877F5FA0A0188891283E4B617D5".into()),
    )
    .unwrap()
}

fn key() -> PrivateKey {
    PrivateKey::Sm2(
        Sm2PrivateKey::from_text("211fee8c3c5fee2fad3dc926fc9403366d2def02cdd0bb5bd683ca015d99db7f").unwrap(),
    )
}

fn bank() -> BankGatewayEnvelope {
    let p = BankGatewayProfile { encrypt: Some(SymmetricCipher::SM4_ECB), ..Default::default() };
    BankGatewayEnvelope::new(p, "APP1", Some(Secret::new(vec![1u8; 16]))).unwrap()
}

/// A valid sealed message, to be truncated or mutated.
fn sealed_body() -> String {
    let e = mid();
    e.seal(e.request_fields(0), &json!({"payOrdId":"ORD1","amt":"1.00"}), &key()).unwrap().body.to_string()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn mid_platform_open_and_diagnose_never_panic(s in "\\PC{0,300}") {
        let e = mid();
        let pk = key().public_key();
        let _ = e.open(&s, &pk);
        let _ = diagnose_mid_platform(&e, &s, &pk, Some(&s));
    }

    #[test]
    fn truncated_or_mutated_messages_are_rejected(cut in 0usize..2000, pos in 0usize..2000, byte in any::<u8>()) {
        let body = sealed_body();
        let e = mid();
        let pk = key().public_key();
        let truncated = &body.as_bytes()[..cut.min(body.len())];
        if let Ok(t) = std::str::from_utf8(truncated) && t.len() < body.len() {
            prop_assert!(e.open(t, &pk).is_err());
        }
        let mut mutated = body.clone().into_bytes();
        let p = pos % mutated.len();
        if mutated[p] != byte && byte.is_ascii_graphic() && mutated[p] != b'"' && byte != b'"' && byte != b'\\' {
            mutated[p] = byte;
            if let Ok(m) = String::from_utf8(mutated) {
                // Any change either still parses to the same content (e.g. whitespace) or fails.
                if let Ok(opened) = e.open(&m, &pk) {
                    prop_assert_eq!(opened.data, e.open(&body, &pk).unwrap().data);
                }
            }
        }
    }

    #[test]
    fn bank_gateway_functions_never_panic(s in "\\PC{0,300}", sig in "[A-Za-z0-9+/=]{0,120}") {
        let b = bank();
        let pk = key().public_key();
        let _ = b.open_response(&s, &pk);
        let _ = b.open_callback_ack(&s, "m", &pk);
        let mut params = BTreeMap::new();
        params.insert("biz_content".to_string(), s.clone());
        params.insert("sign".to_string(), sig);
        let _ = b.open_request("/api/x/V1", params, &pk);
    }

    #[test]
    fn key_parsers_never_panic(s in "\\PC{0,400}", bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Sm2PrivateKey::from_text(&s);
        let _ = Sm2PublicKey::from_text(&s);
        let _ = Sm2PrivateKey::from_raw(&bytes);
        let _ = Sm2PublicKey::from_raw(&bytes);
        let _ = RsaPrivate::from_text(&s);
        let _ = RsaPublic::from_text(&s);
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{s}\n-----END PRIVATE KEY-----");
        let _ = Sm2PrivateKey::from_text(&pem);
        let _ = PublicKey::from_text(&medpay_crypto::signer::SignatureScheme::Rsa2, &s);
    }

    #[test]
    fn oversized_data_round_trips(n in prop_oneof![Just(0usize), 1usize..20_000]) {
        let e = mid();
        let data = json!({"blob": "中".repeat(n)});
        let sealed = e.seal(e.request_fields(0), &data, &key()).unwrap();
        let opened = e.open(&sealed.body.to_string(), &key().public_key()).unwrap();
        // encData carries the pruned data: an empty string disappears.
        prop_assert_eq!(opened.data.unwrap(), if n == 0 { json!({}) } else { data });
    }
}
