//! A real browser for the patient page's tests: Debian's headless Chromium driven through its
//! ChromeDriver with the W3C WebDriver protocol (plain JSON over HTTP on loopback, spoken with
//! this crate's own HTTP client). Nothing is downloaded: a missing browser is an error naming the
//! package.

use crate::{Proc, free_port, http, json, wait_until};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Browser {
    _driver: Proc,
    addr: String,
    session: String,
    _profile: tempdir::TempDir,
}

/// A throwaway profile directory, removed on drop.
mod tempdir {
    pub struct TempDir(pub std::path::PathBuf);
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn which(name: &str) -> String {
    for dir in ["/usr/bin", "/usr/local/bin"] {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return p.display().to_string();
        }
    }
    panic!("{name} is missing: install Debian's chromium and chromium-driver (scripts/prereqs.sh test does)");
}

impl Browser {
    /// A phone-sized (or any) window: `width` x `height` CSS pixels.
    pub fn start(width: u32, height: u32) -> Browser {
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let driver = Proc::spawn(
            Command::new(which("chromedriver")).args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()]),
        );
        wait_until("chromedriver", Duration::from_secs(20), || {
            http("GET", &addr, "/status", None).map(|r| r.0 == 200).unwrap_or(false)
        });
        let profile = std::env::temp_dir().join(format!("medpay-chromium-{}-{port}", std::process::id()));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "binary": which("chromium"),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                         "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--disable-features=Translate,MediaRouter", "--lang=zh-CN",
                         format!("--user-data-dir={}", profile.display())],
                "mobileEmulation": {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0}}
            }
        }}});
        let (status, body) = http("POST", &addr, "/session", Some(&caps.to_string())).expect("chromedriver answers");
        assert_eq!(status, 200, "new browser session: {body}");
        let session = json(&body)["value"]["sessionId"].as_str().expect("session id").to_string();
        Browser { _driver: driver, addr, session, _profile: tempdir::TempDir(profile) }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, text) = http(
            method,
            &self.addr,
            &format!("/session/{}{path}", self.session),
            body.map(|b| b.to_string()).as_deref(),
        )
        .expect("chromedriver answers");
        let v = json(&text);
        assert_eq!(status, 200, "WebDriver {method} {path}: {v}");
        v["value"].clone()
    }

    pub fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url})));
    }

    pub fn url(&self) -> String {
        self.call("GET", "/url", None).as_str().unwrap_or_default().to_string()
    }

    /// Runs a script in the page (`return ...` gives its value).
    pub fn run(&self, script: &str, args: Value) -> Value {
        self.call("POST", "/execute/sync", Some(json!({"script": script, "args": args})))
    }

    /// Runs a script that finishes by calling `arguments[arguments.length - 1](value)`.
    pub fn run_async(&self, script: &str, args: Value) -> Value {
        self.call("POST", "/timeouts", Some(json!({"script": 60_000})));
        self.call("POST", "/execute/async", Some(json!({"script": script, "args": args})))
    }

    /// Clicks the element `css` finds (waiting up to 20 s for it).
    pub fn click(&self, css: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (status, text) = http(
                "POST",
                &self.addr,
                &format!("/session/{}/element", self.session),
                Some(&json!({"using": "css selector", "value": css}).to_string()),
            )
            .expect("chromedriver");
            if status == 200 {
                let v = json(&text);
                let id = v["value"]
                    .as_object()
                    .and_then(|o| o.values().next())
                    .and_then(Value::as_str)
                    .expect("element id")
                    .to_string();
                self.call("POST", &format!("/element/{id}/click"), Some(json!({})));
                return;
            }
            assert!(Instant::now() < deadline, "no element {css} on {}", self.url());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until `predicate` (a JS expression) is true; panics with `what` and the page's text.
    pub fn wait_for(&self, what: &str, secs: u64, predicate: &str) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let script = format!("try {{ return !!({predicate}); }} catch (e) {{ return false; }}");
        while Instant::now() < deadline {
            if self.run(&script, json!([])) == json!(true) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let text = self.run("return document.body ? document.body.innerText : ''", json!([]));
        panic!("timed out waiting for {what} at {}; the page says: {text}", self.url());
    }

    pub fn screenshot(&self, path: &Path) {
        let png = self.call("GET", "/screenshot", None);
        let bytes =
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, png.as_str().expect("base64 png"))
                .expect("png");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot dir");
        }
        std::fs::write(path, bytes).expect("screenshot written");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http("DELETE", &self.addr, &format!("/session/{}", self.session), None);
    }
}
