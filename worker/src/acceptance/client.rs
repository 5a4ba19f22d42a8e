//! How the acceptance run reaches the product and the patient: the HIS API (as the hospital's
//! HIS calls it, with its API key) and the patient's part — against the sandbox, its patient
//! endpoints; against real parties, a patient link the test person opens on the phone.

use anyhow::Context;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

pub struct His {
    http: reqwest::Client,
    pub base: String,
    key: Option<String>,
}

/// The HIS's call, as a HIS that cannot afford to lose one makes it: connection errors (medpay
/// restarting) and 429/502/503/504 retried every 250 ms for `secs`; any other answer returned
/// with its JSON body (or its text as a JSON string). The acceptance run's, and `medpay-tools`'
/// soak and drills'.
pub async fn call(
    http: &reqwest::Client,
    key: Option<&str>,
    method: reqwest::Method,
    url: &str,
    body: Option<&Value>,
    secs: u64,
) -> anyhow::Result<(u16, Value)> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let mut req = http.request(method.clone(), url);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let last = match req.send().await {
            Ok(r) if ![429, 502, 503, 504].contains(&r.status().as_u16()) => {
                let status = r.status().as_u16();
                let text = r.text().await.unwrap_or_default();
                return Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))));
            }
            Ok(r) => format!("HTTP {}", r.status()),
            Err(e) => e.to_string(),
        };
        anyhow::ensure!(Instant::now() < deadline, "{url}: still failing after {secs} s: {last}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

impl His {
    pub fn new(base: &str, key: Option<String>, ca: Option<&std::path::Path>) -> anyhow::Result<Self> {
        let mut b = reqwest::Client::builder().timeout(Duration::from_secs(60));
        if let Some(ca) = ca {
            let pem = std::fs::read(ca).with_context(|| format!("cannot read {}", ca.display()))?;
            b = b.add_root_certificate(reqwest::Certificate::from_pem(&pem)?);
        }
        Ok(Self { http: b.build()?, base: base.trim_end_matches('/').to_string(), key })
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        call(&self.http, self.key.as_deref(), reqwest::Method::GET, &format!("{}{path}", self.base), None, 60).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        call(&self.http, self.key.as_deref(), reqwest::Method::POST, &format!("{}{path}", self.base), Some(body), 60)
            .await
    }

    /// Reads the payment until its state is none of `while_in` (the API's long poll).
    pub async fn payment_after(&self, org: &str, ord: &str, while_in: &str, within: Duration) -> anyhow::Result<Value> {
        let deadline = Instant::now() + within;
        loop {
            let (status, v) = self
                .get(&format!("/v1/payments/{org}/{ord}?view=false&exchanges=false&wait_secs=20&wait_while={while_in}"))
                .await?;
            anyhow::ensure!(status == 200, "reading payment {org}/{ord}: HTTP {status} {v}");
            let state = v["state"].as_str().unwrap_or("");
            if !while_in.split(',').any(|s| s == state) {
                return Ok(v);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "payment {org}/{ord} still {state} after {} s",
                within.as_secs()
            );
        }
    }

    /// Polls `path` until `done` holds.
    pub async fn poll(
        &self,
        path: &str,
        what: &str,
        within: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let deadline = Instant::now() + within;
        loop {
            let (status, v) = self.get(path).await?;
            if status == 200 && done(&v) {
                return Ok(v);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{what}: not there after {} s (last: HTTP {status} {})",
                within.as_secs(),
                v.to_string().chars().take(300).collect::<String>()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// The sandbox's patient and control endpoints.
pub struct Sandbox {
    http: reqwest::Client,
    base: String,
}

impl Sandbox {
    pub fn new(base: &str, ca: &std::path::Path) -> anyhow::Result<Self> {
        let pem = std::fs::read(ca).with_context(|| format!("cannot read the sandbox's CA {}", ca.display()))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .add_root_certificate(reqwest::Certificate::from_pem(&pem)?)
            .build()?;
        Ok(Self { http, base: base.trim_end_matches('/').to_string() })
    }

    async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let (status, v) =
            call(&self.http, None, reqwest::Method::POST, &format!("{}{path}", self.base), Some(body), 30).await?;
        anyhow::ensure!(status == 200, "sandbox {path}: HTTP {status} {v}");
        Ok(v)
    }

    /// The test person authorises at the channel: an authCode.
    pub async fn authorise(&self, persona: &str, channel: &str) -> anyhow::Result<String> {
        let v = self.post("/sandbox/patient/authorize", &json!({"persona": persona, "channel": channel})).await?;
        v["authCode"].as_str().map(str::to_string).context("the sandbox's authorisation gave no authCode")
    }

    /// The test person pays at the channel's cashier.
    pub async fn pay(&self, mix_trade_no: &str) -> anyhow::Result<()> {
        self.post("/sandbox/patient/pay", &json!({"mix_trade_no": mix_trade_no})).await.map(drop)
    }

    /// Plants a lost callback for one HIS order (keeping the other fault settings).
    pub async fn lose_callback(&self, med_org_ord: &str) -> anyhow::Result<()> {
        let url = format!("{}/sandbox/control/faults", self.base);
        let mut faults: Value = self.http.get(&url).send().await?.json().await?;
        faults["orders"][med_org_ord] = json!({"callback": {"lost": true}});
        let r = self.http.put(&url).json(&faults).send().await?;
        anyhow::ensure!(r.status().is_success(), "sandbox faults: HTTP {}", r.status());
        Ok(())
    }

    /// The bank's (or the platform's) statement of `day`, published now.
    pub async fn publish_statement(&self, kind: &str, day: &str) -> anyhow::Result<()> {
        self.post("/sandbox/control/statements", &json!({"kind": kind, "period": day})).await.map(drop)
    }
}
