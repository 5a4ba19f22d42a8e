//! Abuse protection in front of the HIS API and the bank callback (REQ S-4.1c): per-hospital
//! API keys (compared in constant time; a key only works for its own hospital's org code), token
//! buckets per client IP, per device id (`X-Device-Id`, forwarded by the HIS) and, separately,
//! for the bank callback so a flood elsewhere cannot starve real callbacks; repeated
//! authentication failures, or a burst of distinct new orders from one device (a script
//! probing order numbers or authCodes), block the IP or device for a while. Refusals are 401 / 403 / 429
//! in the error format, 429 with `Retry-After`.

use super::AppState;
use super::error::{ApiError, ErrorCode};
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use crate::config::{GuardConfig, Rate};

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct Guard {
    config: GuardConfig,
    /// (org code, key)
    keys: Vec<(String, Vec<u8>)>,
    buckets: Mutex<HashMap<String, Bucket>>,
    failures: Mutex<HashMap<String, (u32, Option<Instant>)>>,
    /// Per device: when each distinct order no. was first created in the current window.
    orders: Mutex<HashMap<String, std::collections::VecDeque<(Instant, String)>>>,
}

impl Guard {
    pub fn new(config: GuardConfig) -> anyhow::Result<Self> {
        let keys = match &config.keys_file {
            Some(f) => {
                let text = medpay_crypto::sealed::read_secret_file(f)
                    .map_err(|e| anyhow::anyhow!("cannot read api.keys_file {}: {e}", f.display()))?;
                let mut keys = vec![];
                for (i, line) in
                    text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                {
                    let (org, key) = line.split_once('=').ok_or_else(|| {
                        anyhow::anyhow!("api.keys_file {} line {}: expected org_code=key", f.display(), i + 1)
                    })?;
                    anyhow::ensure!(
                        key.trim().len() >= 16,
                        "api.keys_file {} line {}: the key for {} is shorter than 16 characters",
                        f.display(),
                        i + 1,
                        org.trim()
                    );
                    keys.push((org.trim().to_string(), key.trim().as_bytes().to_vec()));
                }
                keys
            }
            None => vec![],
        };
        Ok(Self {
            config,
            keys,
            buckets: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
            orders: Mutex::new(HashMap::new()),
        })
    }

    /// The API key of a hospital, for a tool that calls this API as its HIS would
    /// (`medpay acceptance run`).
    pub fn key_of(&self, org: &str) -> Option<String> {
        self.keys.iter().find(|(o, _)| o == org).map(|(_, k)| String::from_utf8_lossy(k).into_owned())
    }

    /// Takes a token from `key`'s bucket; `Err(seconds until one is back)` when empty.
    #[allow(clippy::float_arithmetic)]
    fn take(&self, key: String, rate: Rate) -> Result<(), u64> {
        if rate.per_sec == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = buckets.entry(key).or_insert(Bucket { tokens: f64::from(rate.burst.max(1)), at: now });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * f64::from(rate.per_sec))
            .min(f64::from(rate.burst.max(1)));
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / f64::from(rate.per_sec)).ceil().max(1.0) as u64)
        }
    }

    fn blocked(&self, who: &[String]) -> Option<u64> {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        who.iter()
            .filter_map(|w| failures.get(w))
            .filter_map(|(_, until)| *until)
            .filter_map(|u| u.checked_duration_since(Instant::now()))
            .map(|d| d.as_secs().max(1))
            .max()
    }

    fn failed(&self, who: &[String]) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        for w in who {
            let e = failures.entry(w.clone()).or_insert((0, None));
            e.0 += 1;
            if e.0 >= self.config.block_after_failures {
                e.1 = Some(Instant::now() + Duration::from_secs(self.config.block_secs));
                e.0 = 0;
            }
        }
    }

    /// Notes a create for `order` from `device`; true (and the device blocked) when it is one
    /// distinct order too many for the window. Repeats of the same order (retries) are free.
    fn new_order(&self, device: &str, order: &str) -> bool {
        if self.config.order_burst_max == 0 {
            return false;
        }
        let window = Duration::from_secs(self.config.order_burst_secs);
        let over = {
            let mut orders = self.orders.lock().unwrap_or_else(|p| p.into_inner());
            let q = orders.entry(device.to_string()).or_default();
            while q.front().is_some_and(|(at, _)| at.elapsed() >= window) {
                q.pop_front();
            }
            if !q.iter().any(|(_, o)| o == order) {
                q.push_back((Instant::now(), order.to_string()));
            }
            q.len() > self.config.order_burst_max as usize
        };
        if over {
            let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
            failures.entry(device.to_string()).or_insert((0, None)).1 =
                Some(Instant::now() + Duration::from_secs(self.config.block_secs));
        }
        over
    }

    /// The org code a key belongs to. Every key is compared, in constant time each.
    fn org_of(&self, presented: &[u8]) -> Option<String> {
        use subtle_eq::ct_eq;
        let mut found = None;
        for (org, key) in &self.keys {
            if ct_eq(key, presented) {
                found = Some(org.clone());
            }
        }
        found
    }
}

mod subtle_eq {
    /// Constant-time equality for equal lengths (the length itself is not secret).
    pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

fn too_many(code: ErrorCode, retry_after: u64, message: String) -> Response {
    let mut r = ApiError::new(code, message).into_response();
    if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
        r.headers_mut().insert("retry-after", v);
    }
    r
}

/// The org code a request is about: from the path, or from the JSON body of a create. A body
/// over the limit is refused here, as the handler would.
async fn request_org(req: Request) -> Result<(Request, Option<String>), Response> {
    let path = req.uri().path().to_string();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let from_path = match parts.as_slice() {
        ["v1", "payments" | "refunds", org, ..] => Some(org.to_string()),
        ["v1", "reconciliations", _, org, ..] => Some(org.to_string()),
        _ => None,
    };
    if from_path.is_some() {
        return Ok((req, from_path));
    }
    request_field(req, "org_code").await
}

/// A string field of the JSON body, the body kept for the handler. A body over the limit is
/// refused here, as the handler would.
async fn request_field(req: Request, field: &str) -> Result<(Request, Option<String>), Response> {
    let (head, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, super::body::MAX_BODY_BYTES).await.map_err(|_| {
        ApiError::new(
            ErrorCode::BodyTooLarge,
            format!("the body is larger than {} bytes or could not be read", super::body::MAX_BODY_BYTES),
        )
        .into_response()
    })?;
    let value =
        serde_json::from_slice::<serde_json::Value>(&bytes).ok().and_then(|v| v[field].as_str().map(String::from));
    Ok((Request::from_parts(head, Body::from(bytes)), value))
}

/// A device creating more new orders than a cashier terminal would (a script probing order
/// numbers or authCodes) is blocked; Err is the refusal. Only `POST /v1/payments` is read.
async fn order_burst(g: &Guard, device: Option<&str>, req: Request) -> Result<Request, Response> {
    let Some(d) = device else { return Ok(req) };
    if req.method() != axum::http::Method::POST || req.uri().path() != "/v1/payments" {
        return Ok(req);
    }
    let (req, order) = request_field(req, "med_org_ord").await?;
    if order.is_some_and(|o| g.new_order(d, &o)) {
        return Err(too_many(
            ErrorCode::Blocked,
            g.config.block_secs,
            format!(
                "more than {} new orders in {} s from this device: blocked for a while",
                g.config.order_burst_max, g.config.order_burst_secs
            ),
        ));
    }
    Ok(req)
}

/// The HIS API's guard: limits, then the key, then the key's hospital against the request's.
pub async fn his(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    let g = &state.guard;
    let ip = format!("ip:{}", peer.ip());
    let device = req.headers().get("x-device-id").and_then(|v| v.to_str().ok()).map(|d| format!("dev:{d}"));
    // Failures count against the device when the HIS names one (many patients share the HIS's
    // address), otherwise against the address.
    let who: Vec<String> = vec![device.clone().unwrap_or_else(|| ip.clone())];
    if let Some(secs) = g.blocked(std::slice::from_ref(&ip)).or_else(|| g.blocked(&who)) {
        return too_many(
            ErrorCode::Blocked,
            secs,
            "too many failed authentications or new orders from this client: blocked for a while".into(),
        );
    }
    if let Err(secs) = g.take(ip, g.config.per_ip) {
        return too_many(ErrorCode::RateLimited, secs, "too many requests from this address".into());
    }
    if let Some(d) = device.clone()
        && let Err(secs) = g.take(d, g.config.per_device)
    {
        return too_many(ErrorCode::RateLimited, secs, "too many requests from this device".into());
    }
    let req = match order_burst(g, device.as_deref(), req).await {
        Ok(req) => req,
        Err(refused) => return refused,
    };
    if g.keys.is_empty() {
        return next.run(req).await;
    }
    let presented = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|k| k.trim().as_bytes().to_vec());
    let Some(org) = presented.and_then(|k| g.org_of(&k)) else {
        g.failed(&who);
        return ApiError::new(
            ErrorCode::Unauthenticated,
            "send the hospital's API key as `Authorization: Bearer <key>`",
        )
        .into_response();
    };
    let (req, asked) = match request_org(req).await {
        Ok(v) => v,
        Err(refused) => return refused,
    };
    if asked.as_deref().is_some_and(|a| a != org) {
        return ApiError::new(
            ErrorCode::ForbiddenOrg,
            format!("this API key belongs to {org}, not to {}", asked.unwrap_or_default()),
        )
        .into_response();
    }
    next.run(req).await
}

/// The bank callback's own bucket: a flood on the HIS API cannot use it up, and the other way
/// round. Its authentication is the callback's signature.
pub async fn callback(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    let g = &state.guard;
    if let Err(secs) = g.take(format!("cb:{}", peer.ip()), g.config.callback_per_ip) {
        return too_many(ErrorCode::RateLimited, secs, "too many callbacks from this address".into());
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(per_sec: u32, burst: u32) -> Guard {
        Guard::new(GuardConfig { per_device: Rate { per_sec, burst }, block_after_failures: 2, ..Default::default() })
            .unwrap()
    }

    #[test]
    fn a_bucket_gives_its_burst_then_says_when_to_come_back() {
        let g = guard(1, 3);
        for _ in 0..3 {
            assert!(g.take("dev:a".into(), g.config.per_device).is_ok());
        }
        assert_eq!(g.take("dev:a".into(), g.config.per_device), Err(1), "one token per second: retry after 1 s");
        assert!(g.take("dev:b".into(), g.config.per_device).is_ok(), "another device has its own bucket");
        assert!(g.take("x".into(), Rate { per_sec: 0, burst: 0 }).is_ok(), "a rate of 0 is no limit");
    }

    #[test]
    fn failures_block_only_the_failing_client() {
        let g = guard(1, 1);
        let who = vec!["dev:guesser".to_string()];
        g.failed(&who);
        assert!(g.blocked(&who).is_none());
        g.failed(&who);
        assert!(g.blocked(&who).is_some_and(|s| s > 0));
        assert!(g.blocked(&["dev:other".to_string()]).is_none());
    }

    #[test]
    fn keys_need_length_and_map_to_their_hospital() {
        let f = std::env::temp_dir().join(format!("medpay-guard-keys-{}", std::process::id()));
        std::fs::write(&f, "H1=0123456789abcdef0123\n# comment\nH2=fedcba9876543210fedc\n").unwrap();
        let g = Guard::new(GuardConfig { keys_file: Some(f.clone()), ..Default::default() }).unwrap();
        assert_eq!(g.org_of(b"fedcba9876543210fedc").as_deref(), Some("H2"));
        assert_eq!(g.org_of(b"fedcba9876543210fedX"), None);
        std::fs::write(&f, "H1=short\n").unwrap();
        assert!(Guard::new(GuardConfig { keys_file: Some(f.clone()), ..Default::default() }).is_err());
        let _ = std::fs::remove_file(&f);
    }

    #[test]
    fn a_burst_of_distinct_orders_blocks_the_device_retries_do_not() {
        let g = Guard::new(GuardConfig { order_burst_max: 3, ..Default::default() }).unwrap();
        for o in ["A", "B", "C", "A", "B", "C", "C"] {
            assert!(!g.new_order("dev:t", o), "{o}: three distinct orders and their retries are fine");
        }
        assert!(g.blocked(&["dev:t".to_string()]).is_none());
        assert!(g.new_order("dev:t", "D"), "a fourth distinct order is one too many");
        assert!(g.blocked(&["dev:t".to_string()]).is_some_and(|s| s > 0));
        assert!(!g.new_order("dev:other", "D"), "other devices are not affected");
    }
}
