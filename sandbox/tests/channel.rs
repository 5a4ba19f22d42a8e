//! The channel's two profiles: WeChat (HMAC headers) and Alipay (signed open-platform form),
//! both turning a single-use authCode into a payAuthNo, including paying for a relative.

mod common;
use common::*;
use medpay_activities::channel::AlipayClient;
use medpay_crypto::envelope::bank_gateway::{BankGatewayEnvelope, BankGatewayProfile};
use medpay_crypto::signer::{PrivateKey, PublicKey};
use medpay_crypto::sm2::Sm2PrivateKey;
use medpay_schemas::Secret;
use medpay_schemas::wire::channel::ChannelKind;
use serde_json::json;

fn alipay(env: &Env) -> AlipayClient {
    let h = env.hospital();
    let profile = BankGatewayProfile::alipay_auth_query();
    AlipayClient {
        http: env.http.clone(),
        url: format!("{}{}", env.sandbox.base_url, medpay_sandbox::alipay_gateway_path()),
        envelope: BankGatewayEnvelope::new(profile.clone(), h.channel.alipay_app_id.clone(), None).unwrap(),
        hospital_key: PrivateKey::from_text(&profile.sign, &h.channel.alipay_hospital_private_key).unwrap(),
        alipay_public: PublicKey::from_text(&profile.sign, &h.channel.alipay_platform_public_key).unwrap(),
        org_code: h.org_code.parse().unwrap(),
        org_chnl_crtf_code: h.channel.org_chnl_crtf_code.clone(),
    }
}

async fn auth_code(env: &Env, persona: &str, for_relative: bool) -> Secret<String> {
    let (_, v) = env
        .post(
            "/sandbox/patient/authorize",
            json!({"persona": persona, "channel": "alipay", "for_relative": for_relative}),
        )
        .await;
    Secret::new(v["authCode"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn alipay_and_wechat_authorisation() {
    let env = start("channel", |_| {}).await;
    let client = alipay(&env);
    let code = auth_code(&env, "resident", false).await;
    let auth = client.auth_query(&code, "REQ-1").await.unwrap();
    assert_eq!(auth.channel, ChannelKind::Alipay);
    assert!(!auth.for_relative);
    // The payAuthNo is usable at the core.
    let sign_no = env.core.sign_in().await.unwrap();
    let person = env.core.person_info(&sign_no, &auth.pay_auth_no).await.unwrap();
    assert_eq!(person.baseinfo.psn_no.as_str(), medpay_sandbox::persons::by_persona("resident").unwrap().psn_no);
    // Single use.
    assert_eq!(client.auth_query(&code, "REQ-2").await.unwrap_err().code(), Some("AUTH_CODE_INVALID"));
    // A request signed with another key is refused.
    let mut forged = client.clone();
    forged.hospital_key = PrivateKey::Sm2(Sm2PrivateKey::generate().unwrap());
    let code = auth_code(&env, "resident", false).await;
    assert_eq!(forged.auth_query(&code, "REQ-3").await.unwrap_err().code(), Some("isv.invalid-signature"));

    // Paying for a relative: Alipay's rels_pay_flag and WeChat's family_pay_auth_no.
    let rel = client.auth_query(&auth_code(&env, "relative-payer", true).await, "REQ-4").await.unwrap();
    assert!(rel.for_relative);
    let (_, v) =
        env.post("/sandbox/patient/authorize", json!({"persona": "relative-payer", "for_relative": true})).await;
    let wx = env.wechat.user_query(&Secret::new(v["authCode"].as_str().unwrap().to_string()), "o", "r").await.unwrap();
    assert!(wx.for_relative && wx.channel == ChannelKind::Wechat);
    env.sandbox.stop().await;
}
