//! Driving one payment of the matrix through the HIS API, with the sandbox playing the patient
//! or a test person opening a patient link.

use super::cases::{Patient, Run, Split, bill};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

impl Run<'_> {
    pub(super) fn ord(&self, channel: &str, n: usize) -> String {
        format!("{}{}{n:02}", self.prefix, if channel == "alipay" { "A" } else { "W" })
    }

    /// Creates the payment (or has the person open its link) and drives it to a final state.
    pub(super) async fn pay(&self, p: &Pay<'_>) -> anyhow::Result<Value> {
        let Pay { channel, ord, scene, split, total, confirm, lose_callback } = *p;
        let mut body = bill(scene, total);
        body["org_code"] = json!(self.org);
        body["med_org_ord"] = json!(ord);
        body["channel"] = json!(channel);
        body["openid"] = json!(self.openid);
        body["use_personal_account"] = json!(split != Split::Mixed);
        match &self.patient {
            Patient::Sandbox(sb) => {
                if lose_callback {
                    sb.lose_callback(ord).await?;
                }
                body["auth_code"] = json!(sb.authorise(split.persona(), channel).await?);
                let (status, v) = self.his.post("/v1/payments", &body).await?;
                anyhow::ensure!(
                    status == 201 || status == 200,
                    "create: HTTP {status} {}: {}",
                    v["code"].as_str().unwrap_or(""),
                    v["message"].as_str().unwrap_or(&v.to_string())
                );
                let v = self.pre_settled(ord).await?;
                anyhow::ensure!(v["state"] == "PreSettled", "after create: {} ({})", v["state"], v["failure_reason"]);
                let (status, v) = self
                    .his
                    .post(&format!("/v1/payments/{}/{ord}/confirm", self.org), &json!({"confirm": confirm}))
                    .await?;
                anyhow::ensure!(status == 202, "confirm: HTTP {status} {v}");
                if confirm {
                    let v = self
                        .his
                        .payment_after(&self.org, ord, "PreSettled,Confirmed", Duration::from_secs(120))
                        .await?;
                    let mix = v["mix_trade_no"]
                        .as_str()
                        .with_context_str(|| format!("no mixed order: {} ({})", v["state"], v["failure_reason"]))?;
                    sb.pay(mix).await?;
                }
            }
            Patient::Person { wait } => {
                let bill = json!({"scene": scene, "channel": channel, "openid": self.openid, "lines": body["lines"], "visit": body["visit"]});
                let (status, link) = self
                    .his
                    .post(&format!("/v1/payments/{}/{ord}/patient-link", self.org), &json!({"bill": bill}))
                    .await?;
                anyhow::ensure!(status == 201, "patient link: HTTP {status} {link}");
                let act = if confirm { "pay" } else { "decline the bill" };
                println!(
                    "    → a test person whose insurance makes this {}: open {} in {channel} and {act} (waiting {} min)",
                    split.label(),
                    link["url"].as_str().unwrap_or(""),
                    wait.as_secs() / 60
                );
                self.his
                    .poll(
                        &format!("/v1/payments/{}/{ord}?view=false&exchanges=false", self.org),
                        "the person's payment",
                        *wait,
                        |v| v["state"].is_string(),
                    )
                    .await?;
            }
        }
        // A test person confirms and pays at their own pace; the sandbox within seconds.
        let to_end = match &self.patient {
            Patient::Person { wait } => *wait,
            Patient::Sandbox(_) => Duration::from_secs(300),
        };
        self.his
            .payment_after(&self.org, ord, "Created,Authorised,Uploaded,PreSettled,Confirmed,Ordered", to_end)
            .await?;
        let (_, full) = self.his.get(&format!("/v1/payments/{}/{ord}", self.org)).await?;
        Ok(full)
    }
}

impl Run<'_> {
    /// Waits for the pre-settlement. A reply that fails its signature or decryption is
    /// retried by the workflow (the fault may be passing); the acceptance run does not wait for
    /// that: it names the exchange and cancels the payment so nothing keeps retrying.
    async fn pre_settled(&self, ord: &str) -> anyhow::Result<Value> {
        let path = format!("/v1/payments/{}/{ord}?view=false", self.org);
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let (status, v) = self.his.get(&path).await?;
            anyhow::ensure!(status == 200, "reading payment {ord}: HTTP {status} {v}");
            if !["Created", "Authorised", "Uploaded"].contains(&v["state"].as_str().unwrap_or("")) {
                return Ok(v);
            }
            let refused = v["exchanges"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|e| e["signature_ok"] == false || e["outcome"] == "integrity");
            let last = v["exchanges"].as_array().and_then(|a| a.last()).cloned();
            let stuck = match (refused, Instant::now() >= deadline) {
                (Some(e), _) => Some(e.clone()),
                (None, true) => Some(last.unwrap_or(Value::Null)),
                (None, false) => None,
            };
            if let Some(e) = stuck {
                let _ = self.his.post(&format!("/v1/payments/{}/{ord}/cancel", self.org), &json!({})).await;
                anyhow::bail!(
                    "stuck in {}: {} {} answered {} ({}); the payment was cancelled",
                    v["state"].as_str().unwrap_or("?"),
                    e["party"].as_str().unwrap_or("?"),
                    e["operation"].as_str().unwrap_or("?"),
                    e["outcome"].as_str().unwrap_or("nothing"),
                    e["detail"].as_str().unwrap_or("no exchange logged")
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// One payment of the matrix: `confirm` false declines the bill; `lose_callback` plants a lost
/// bank callback for the order first (sandbox only).
#[derive(Clone, Copy)]
pub(super) struct Pay<'a> {
    pub(super) channel: &'a str,
    pub(super) ord: &'a str,
    pub(super) scene: &'a str,
    pub(super) split: Split,
    pub(super) total: i64,
    pub(super) confirm: bool,
    pub(super) lose_callback: bool,
}

/// `Option` → `Result` with a lazily built message (anyhow's `Context` formats eagerly).
trait OrFail<T> {
    fn with_context_str(self, f: impl FnOnce() -> String) -> anyhow::Result<T>;
}

impl<T> OrFail<T> for Option<T> {
    fn with_context_str(self, f: impl FnOnce() -> String) -> anyhow::Result<T> {
        self.ok_or_else(|| anyhow::anyhow!(f()))
    }
}
