//! Test harness: a sandbox on a free port with its own data dir, the hospital-side adapters
//! (the same ones medpay's activities use), a hospital HTTPS endpoint that receives and
//! acknowledges the bank's callbacks, and a driver for a whole payment.
#![allow(dead_code)]

use medpay_activities::bank::BankClient;
use medpay_activities::bank::transformers::{BankOrders, Merchant, mixed_order_query};
use medpay_activities::channel::WechatClient;
use medpay_activities::core::CoreClient;
use medpay_activities::http::{PartyError, https_client};
use medpay_activities::mid_platform::MidPlatformClient;
use medpay_activities::mid_platform::transformers::{FeeUpload, UploadedOrder};
use medpay_activities::parties::onboarding::{HospitalConfig, Party};
use medpay_crypto::envelope::bank_gateway::{BankGatewayEnvelope, BankGatewayProfile};
use medpay_crypto::envelope::mid_platform::{MidPlatformEnvelope, MidPlatformProfile};
use medpay_crypto::signer::{PrivateKey, PublicKey};
use medpay_sandbox::{SandboxConfig, SandboxHandle};
use medpay_schemas::time::BeijingDate;
use medpay_schemas::wire::bank::*;
use medpay_schemas::wire::mid_platform::*;
use medpay_schemas::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Env {
    pub sandbox: SandboxHandle,
    pub http: reqwest::Client,
    pub wechat: WechatClient,
    pub core: CoreClient,
    pub mid: MidPlatformClient,
    pub bank: BankClient,
    pub callbacks: Arc<Mutex<Vec<Received>>>,
    pub callback_url: String,
    pub dir: std::path::PathBuf,
}

#[derive(Clone, Debug)]
pub struct Received {
    pub verified: bool,
    pub mix_trade_no: String,
    pub status: String,
}

pub fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("medpay-sbx-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

pub async fn start(name: &str, tweak: impl FnOnce(&mut SandboxConfig)) -> Env {
    let dir = scratch(name);
    let mut config = SandboxConfig {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.clone(),
        callback_retry: vec![Duration::from_millis(300); 3],
        ..SandboxConfig::default()
    };
    tweak(&mut config);
    let sandbox = medpay_sandbox::start(config).await.expect("sandbox starts");
    let http = https_client(&[&sandbox.ca_cert], Duration::from_secs(3)).unwrap();
    let h = sandbox.credentials.hospitals[0].clone();
    let base = sandbox.base_url.clone();
    let mid_profile = MidPlatformProfile::default();
    let legacy = sandbox.app.config.bank_legacy_rsa2;
    let bank_profile = if legacy { BankGatewayProfile::legacy_rsa2() } else { BankGatewayProfile::default() };
    let (bank_key, bank_pub) = match (&h.bank.legacy_rsa, legacy) {
        (Some(rsa), true) => (rsa.hospital_private_key.clone(), rsa.bank_public_key.clone()),
        _ => (h.bank.hospital_private_key.clone(), h.bank.bank_public_key.clone()),
    };
    // The endpoints as the payment path builds them: the sandbox's layout (`sandbox_layout`).
    let org_code: medpay_schemas::OrgCode = h.org_code.parse().unwrap();
    let layout = HospitalConfig::sandbox_layout(
        org_code.clone(),
        &h.org_name,
        Path::new("credentials.json"),
        &base,
        &sandbox.ca_cert,
    );
    let wechat = WechatClient {
        http: http.clone(),
        user_query_url: layout
            .channel
            .endpoint(Party::Channel)
            .url("user_query")
            .replace("{partner_id}", &h.channel.partner_id),
        partner_id: h.channel.partner_id.clone(),
        partner_secret: Secret::new(h.channel.partner_secret.clone()),
    };
    let core = CoreClient {
        http: http.clone(),
        url: layout.core.endpoint(Party::Core).url("call_service"),
        org_code,
        org_name: h.org_name.clone(),
        mdtrtarea_admvs: "510100".into(),
        person_info_infno: "queryPsninfobyZFB".into(),
        session: Default::default(),
        signature: h.core.as_ref().map(|k| medpay_activities::core::CoreSignature {
            scheme: medpay_sandbox::app::core_scheme(),
            hospital_key: PrivateKey::from_text(&medpay_sandbox::app::core_scheme(), &k.hospital_private_key).unwrap(),
            core_public: PublicKey::from_text(&medpay_sandbox::app::core_scheme(), &k.core_public_key).unwrap(),
        }),
    };
    let mid = MidPlatformClient {
        http: http.clone(),
        endpoint: layout.mid_platform.endpoint(Party::MidPlatform),
        envelope: MidPlatformEnvelope::new(
            mid_profile.clone(),
            h.mid_platform.app_id.clone(),
            Secret::new(h.mid_platform.app_secret.clone()),
        )
        .unwrap(),
        hospital_key: PrivateKey::from_text(&mid_profile.sign, &h.mid_platform.hospital_private_key).unwrap(),
        platform_public: PublicKey::from_text(&mid_profile.sign, &h.mid_platform.platform_public_key).unwrap(),
    };
    let bank = BankClient {
        http: http.clone(),
        endpoint: layout.bank.endpoint(Party::Bank),
        envelope: BankGatewayEnvelope::new(bank_profile.clone(), h.bank.app_id.clone(), None).unwrap(),
        hospital_key: PrivateKey::from_text(&bank_profile.sign, &bank_key).unwrap(),
        bank_public: PublicKey::from_text(&bank_profile.sign, &bank_pub).unwrap(),
    };
    let callbacks = Arc::new(Mutex::new(vec![]));
    let callback_url = hospital_endpoint(&sandbox, bank.clone(), callbacks.clone()).await;
    Env { sandbox, http, wechat, core, mid, bank, callbacks, callback_url, dir }
}

/// The hospital's HTTPS callback endpoint (certificate from the sandbox CA): verifies the bank's
/// signature, records the notice, and acknowledges only what verified.
async fn hospital_endpoint(sandbox: &SandboxHandle, bank: BankClient, seen: Arc<Mutex<Vec<Received>>>) -> String {
    use axum::routing::post;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&sandbox.hospital_cert, &sandbox.hospital_key)
        .await
        .unwrap();
    let app = axum::Router::new().route(
        "/callback",
        post(move |body: String| {
            let bank = bank.clone();
            let seen = seen.clone();
            async move {
                let params: BTreeMap<String, String> =
                    url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
                match bank.verify_callback(params) {
                    Ok((msg_id, notice)) => {
                        let (mix_trade_no, status) = match notice {
                            BankNotice::Mixed(cb) => {
                                (cb.state.mix_trade_no.to_string(), cb.state.mix_pay_status.code().to_string())
                            }
                            BankNotice::SelfPay(n) => (format!("selfpay:{}", n.out_trade_no), "SELF_PAY_NOTICE".into()),
                        };
                        seen.lock().unwrap().push(Received { verified: true, mix_trade_no, status });
                        (axum::http::StatusCode::OK, bank.acknowledge(&msg_id).unwrap())
                    }
                    Err(e) => {
                        seen.lock().unwrap().push(Received {
                            verified: false,
                            mix_trade_no: String::new(),
                            status: e.to_string(),
                        });
                        (axum::http::StatusCode::BAD_REQUEST, e.to_string())
                    }
                }
            }
        }),
    );
    tokio::spawn(axum_server::from_tcp_rustls(listener, tls).unwrap().serve(app.into_make_service()));
    format!("https://{addr}/callback")
}

impl Env {
    pub fn hospital(&self) -> &medpay_sandbox::credentials::HospitalCredentials {
        &self.sandbox.credentials.hospitals[0]
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self.http.post(format!("{}{path}", self.sandbox.base_url)).json(&body).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn put_faults(&self, faults: Value) {
        let r = self
            .http
            .put(format!("{}/sandbox/control/faults", self.sandbox.base_url))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }

    pub async fn state(&self) -> Value {
        self.http
            .get(format!("{}/sandbox/control/state", self.sandbox.base_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The patient authorises at the channel; the hospital exchanges the authCode.
    pub async fn authorise(&self, persona: &str) -> Secret<String> {
        let (status, v) = self.post("/sandbox/patient/authorize", json!({"persona": persona})).await;
        assert_eq!(status, 200, "{v}");
        let code = Secret::new(v["authCode"].as_str().unwrap().to_string());
        self.wechat.user_query(&code, "openid-test", "req-1").await.unwrap().pay_auth_no
    }

    /// An outpatient bill of `lines` (fen each) at the sandbox hospital, as an HIS sends it.
    pub fn bill(&self, med_org_ord: &str, lines: &[i64]) -> payment_flow::PaymentRequest {
        let line = |(i, fen): (usize, &i64)| payment_flow::BillLine {
            code: format!("H{i:04}"),
            name: "沙箱药品".into(),
            amount_fen: *fen,
            catalogue_code: format!("XA01{i:04}"),
            quantity: "1".into(),
            unit_price_fen: Some(*fen),
            fee_time: None,
            rx_no: None,
        };
        payment_flow::PaymentRequest {
            org_code: self.hospital().org_code.parse().unwrap(),
            med_org_ord: med_org_ord.parse().unwrap(),
            scene: payment_flow::Scene::Outpatient,
            channel: Default::default(),
            access: None,
            // Spent at the channel before any of the requests built from the bill.
            auth_code: Secret::new(String::new()),
            openid: "openid-test".into(),
            lines: lines.iter().enumerate().map(line).collect(),
            visit: Some(payment_flow::Visit {
                dept_code: "A03".into(),
                dept_name: "全科医疗科".into(),
                doctor_code: "D0001".into(),
                doctor_name: "李医生".into(),
                diagnoses: vec![payment_flow::Diagnosis {
                    code: "J06.900".into(), name: "急性上呼吸道感染".into()
                }],
                med_type: None,
                charge_batch_no: None,
                begin_time: Some("2026-11-26 09:00:00".into()),
            }),
            use_personal_account: true,
        }
    }

    /// The sandbox persona as the core identifies them.
    pub fn identity(&self, persona: &str, pay_auth_no: &Secret<String>) -> payment_flow::Identity {
        let p = medpay_sandbox::persons::by_persona(persona).unwrap();
        payment_flow::Identity {
            pay_auth_no: pay_auth_no.clone(),
            psn_no: PsnNo::parse(p.psn_no).unwrap(),
            insutype: p.insutype.into(),
            insu_code: p.insuplc_admdvs.into(),
            id_no: Secret::new(p.id_no.into()),
            name: Secret::new(p.name.into()),
            for_relative: false,
        }
    }

    /// A request about the persona's uploaded order (6301, 6401), built as the payment's
    /// activities build it.
    pub fn for_uploaded<T: for<'a> From<UploadedOrder<'a>>>(
        &self,
        persona: &str,
        med_org_ord: &str,
        pay_ord_id: PayOrdId,
        pay_token: Secret<String>,
    ) -> T {
        let no_code = Secret::new(String::new());
        let (request, identity) = (self.bill(med_org_ord, &[1]), self.identity(persona, &no_code));
        let uploaded = payment_flow::Uploaded { pay_ord_id, pay_token };
        T::from(UploadedOrder { request: &request, identity: &identity, uploaded: &uploaded })
    }

    /// 6201 for the persona's bill, built as the payment's upload builds it.
    pub fn upload_request(
        &self,
        persona: &str,
        med_org_ord: &str,
        pay_auth_no: &Secret<String>,
        lines: &[i64],
    ) -> UploadFeeDetailsRequest {
        let (request, identity) = (self.bill(med_org_ord, lines), self.identity(persona, pay_auth_no));
        UploadFeeDetailsRequest::try_from(FeeUpload { request: &request, identity: &identity, created_at_ms: 0 })
            .unwrap()
    }
}

/// Everything a completed pre-settlement and bank ordering produced.
pub struct Ordered {
    pub med_org_ord: String,
    pub pay_auth_no: Secret<String>,
    pub pay_ord_id: PayOrdId,
    pub pay_token: Secret<String>,
    pub split: SettlementSplit,
    pub out_trade_no: OutTradeNo,
    pub mix_trade_no: MixTradeNo,
    pub created_date: BeijingDate,
}

/// REQ 6.1 steps 4-9 against the sandbox, as the payment workflow will do them.
pub async fn order(env: &Env, persona: &str, med_org_ord: &str, lines: &[i64]) -> Result<Ordered, PartyError> {
    let pay_auth_no = env.authorise(persona).await;
    let sign_no = env.core.sign_in().await?;
    let info = env.core.person_info(&sign_no, &pay_auth_no).await?;
    assert_eq!(info.baseinfo.psn_no.as_str(), medpay_sandbox::persons::by_persona(persona).unwrap().psn_no);
    let (request, identity) = (env.bill(med_org_ord, lines), env.identity(persona, &pay_auth_no));
    let fee_upload = FeeUpload { request: &request, identity: &identity, created_at_ms: 0 };
    let upload: UploadFeeDetailsResponse =
        env.mid.call(MidPlatformOp::UploadFeeDetails, &UploadFeeDetailsRequest::try_from(fee_upload).unwrap()).await?;
    let h = env.hospital();
    let uploaded =
        payment_flow::Uploaded { pay_ord_id: upload.pay_ord_id.clone(), pay_token: upload.pay_token.clone() };
    let pre_settle = UploadedOrder { request: &request, identity: &identity, uploaded: &uploaded };
    let pre: PayOrderResponse =
        env.mid.call(MidPlatformOp::PayOrder, &PayOrderRequest::try_from(pre_settle).unwrap()).await?;
    pre.split.check().unwrap();
    let (org_code, sub_mchid): (OrgCode, SubMchId) = (h.org_code.parse().unwrap(), h.bank.sub_mchid.parse().unwrap());
    let orders = BankOrders {
        merchant: Merchant {
            mer_id: &h.bank.mer_id,
            hospital_id: &h.bank.hospital_id,
            sub_mchid: &sub_mchid,
            org_code: &org_code,
            org_name: &h.org_name,
            app_id: &h.bank.shop_appid,
            callback_url: &env.callback_url,
            id_digest: medpay_crypto::id_digest::IdDigest::Md5,
            joint_test: false,
        },
        request: &request,
        identity: &identity,
        uploaded: &uploaded,
        split: &pre.split,
        created_at_ms: medpay_schemas::time::now_ms(),
    };
    let out_trade_no = orders.out_trade_no();
    let mut prepay_id = None;
    if orders.has_self_pay() {
        let sp: SelfPayOrderResponse =
            env.bank.call(BankOp::SelfPayOrder, &format!("m-sp-{med_org_ord}"), &orders.self_pay()).await?;
        prepay_id = sp.wx_data_package.map(|p| p.package.trim_start_matches("prepay_id=").to_string());
    }
    let mixed: MixedOrderResponse =
        env.bank.call(BankOp::MixedOrder, &format!("m-mix-{med_org_ord}"), &orders.mixed(prepay_id).unwrap()).await?;
    Ok(Ordered {
        med_org_ord: med_org_ord.into(),
        pay_auth_no,
        pay_ord_id: upload.pay_ord_id,
        pay_token: upload.pay_token,
        split: pre.split,
        out_trade_no,
        mix_trade_no: mixed.mix_trade_no.unwrap(),
        created_date: BeijingDate::of(medpay_schemas::time::now_ms()),
    })
}

/// A patient's refund of `cash` fen of payment `o`, as the HIS asks it.
pub fn patient_refund(o: &Ordered, org_code: &str, refund_no: &str, cash: i64) -> medpay_schemas::refund::RefundInput {
    medpay_schemas::refund::RefundInput {
        org_code: org_code.parse().unwrap(),
        med_org_ord: o.med_org_ord.parse().unwrap(),
        refund_no: refund_no.parse().unwrap(),
        kind: medpay_schemas::refund::RefundKind::Patient,
        amounts: medpay_schemas::refund::RefundAmounts { cash: Money::from_fen(cash), ..Default::default() },
        auth_code: None,
        openid: None,
        channel: Default::default(),
        reason: None,
        attention_after_secs: 60,
    }
}

pub fn today() -> String {
    medpay_schemas::time::BeijingDate::of(medpay_schemas::time::now_ms()).to_string()
}

pub async fn query(env: &Env, o: &Ordered, date: &BeijingDate) -> Result<MixedOrderQueryResponse, PartyError> {
    query_with(&env.bank, env, o, date).await
}

/// The compensating query (step 12), built as the payment's `query_bank` builds it.
pub async fn query_with(
    bank: &BankClient,
    env: &Env,
    o: &Ordered,
    date: &BeijingDate,
) -> Result<MixedOrderQueryResponse, PartyError> {
    let h = env.hospital();
    let sub_mchid: SubMchId = h.bank.sub_mchid.parse().unwrap();
    let req = mixed_order_query(&h.bank.hospital_id, &sub_mchid, &o.mix_trade_no, *date);
    bank.call(BankOp::MixedOrderQuery, &format!("m-q-{}-{date}", o.med_org_ord), &req).await
}

pub async fn wait_for<T>(what: &str, secs: u64, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
