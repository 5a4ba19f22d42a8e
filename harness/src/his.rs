//! The HIS's and the patient's side of a payment against a `Stack`: an authCode from the
//! sandbox channel, the HIS's create and confirm, the patient paying at the sandbox cashier.

use crate::stack::{Stack, curl_json, poll};
use crate::{SANDBOX_ORG, http};
use serde_json::{Value, json};

impl Stack {
    /// A fresh authCode for a persona, as the patient's authorisation page hands it out.
    pub fn auth_code(&self, persona: &str) -> Value {
        self.auth_code_in("wechat", persona)
    }

    /// The same, from the given channel's authorisation (`wechat` or `alipay`).
    pub fn auth_code_in(&self, channel: &str, persona: &str) -> Value {
        curl_json(
            &self.ca,
            &self.sandbox_url("/sandbox/patient/authorize"),
            &json!({"persona": persona, "channel": channel}),
        )["authCode"]
            .clone()
    }

    /// Creates a payment; returns its status path.
    pub fn create(&self, persona: &str, ord: &str, scene: &str, fen: &[i64]) -> String {
        self.create_in("wechat", persona, ord, scene, fen)
    }

    /// Creates a payment the patient authorised in `channel`; returns its status path.
    pub fn create_in(&self, channel: &str, persona: &str, ord: &str, scene: &str, fen: &[i64]) -> String {
        let lines: Vec<Value> = fen
            .iter()
            .enumerate()
            .map(|(i, f)| json!({"code": format!("L{i}"), "name": "项目", "amount_fen": f}))
            .collect();
        let mut body = json!({"org_code": SANDBOX_ORG, "med_org_ord": ord, "scene": scene, "auth_code": self.auth_code_in(channel, persona), "openid": "o", "lines": lines});
        if channel != "wechat" {
            body["channel"] = json!(channel);
        }
        medpay_schemas::bill::sample::complete(&mut body);
        let (status, created) = http("POST", &self.api, "/v1/payments", Some(&body.to_string())).unwrap();
        assert!(status == 201 || status == 200, "{status} {created}");
        format!("/v1/payments/{SANDBOX_ORG}/{ord}")
    }

    /// Waits for the pre-settlement, confirms (or declines) it; returns the mixed order no.
    pub fn confirm(&self, path: &str, confirm: bool) -> Option<String> {
        poll(&self.api, path, "the pre-settlement", 60, |v| v["state"] == "PreSettled");
        let c = json!({"confirm": confirm}).to_string();
        assert_eq!(http("POST", &self.api, &format!("{path}/confirm"), Some(&c)).unwrap().0, 202);
        if !confirm {
            return None;
        }
        let ordered =
            poll(&self.api, path, "the mixed order", 60, |v| v["workflow"]["cashier"]["mix_trade_no"].is_string());
        ordered["workflow"]["cashier"]["mix_trade_no"].as_str().map(String::from)
    }

    /// Creates, pre-settles and confirms a payment; returns the status path and mixed order no.
    pub fn order(&self, persona: &str, ord: &str, scene: &str, fen: &[i64], confirm: bool) -> (String, Option<String>) {
        let path = self.create(persona, ord, scene, fen);
        let mix = self.confirm(&path, confirm);
        (path, mix)
    }

    /// The patient pays at the sandbox cashier.
    pub fn pay(&self, mix: &str) -> Value {
        curl_json(&self.ca, &self.sandbox_url("/sandbox/patient/pay"), &json!({"mix_trade_no": mix}))
    }

    /// A paid payment (order, pay, wait for Paid); returns its status path.
    pub fn paid(&self, persona: &str, ord: &str, fen: &[i64]) -> String {
        let (path, mix) = self.order(persona, ord, "outpatient", fen, true);
        self.pay(&mix.expect("ordered"));
        poll(&self.api, &path, "paid", 60, |v| v["state"] == "Paid");
        path
    }
}
