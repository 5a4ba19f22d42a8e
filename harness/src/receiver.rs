//! A tiny HTTP endpoint standing in for the hospital's HIS: it records every request (headers
//! and body) and answers the statuses it is given in order (then 200), so a test can check
//! that medpay's notices arrive, are signed, and are retried.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    pub answered: u16,
}

pub struct Receiver {
    pub addr: String,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub fn start(mut statuses: Vec<u16>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let received = Arc::new(Mutex::new(vec![]));
        let log = received.clone();
        statuses.reverse();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let mut reader = BufReader::new(match stream.try_clone() {
                    Ok(s) => s,
                    Err(_) => continue,
                });
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut headers = BTreeMap::new();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.trim().split_once(':') {
                        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                    }
                }
                let len = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
                let mut body = vec![0; len];
                let _ = reader.read_exact(&mut body);
                let status = statuses.pop().unwrap_or(200);
                if let Ok(mut l) = log.lock() {
                    l.push(Received { path, headers, body, answered: status });
                }
                let mut out = stream;
                let _ = write!(out, "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            }
        });
        Receiver { addr, received }
    }

    pub fn all(&self) -> Vec<Received> {
        self.received.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// A receiver for the HIS's notices (answering 200) and `medpay run`'s settings for it:
    /// the notify URL and a key file holding [`HIS_KEY`].
    pub fn his(name: &str) -> (Receiver, Vec<(String, String)>) {
        let key_file = std::env::temp_dir().join(format!("medpay-his-key-{name}-{}", std::process::id()));
        std::fs::write(&key_file, format!("{HIS_KEY}\n")).expect("key file");
        let r = Receiver::start(vec![]);
        let env = vec![
            ("MEDPAY_HIS_NOTIFY_URL".to_string(), format!("http://{}/his/notify", r.addr)),
            ("MEDPAY_HIS_NOTIFY_KEY_FILE".to_string(), key_file.display().to_string()),
        ];
        (r, env)
    }

    /// The notices answered 200, as JSON, each checked to carry medpay's signature under
    /// [`HIS_KEY`]; waits up to 30 s until `done` holds over them.
    pub fn notices_until(&self, what: &str, done: impl Fn(&[serde_json::Value]) -> bool) -> Vec<serde_json::Value> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let notices: Vec<serde_json::Value> = self
                .all()
                .into_iter()
                .filter(|r| r.answered == 200)
                .map(|r| {
                    let signed = medpay_crypto::envelope::his::verify_his_signature(
                        HIS_KEY.as_bytes(),
                        &r.headers["x-medpay-timestamp"],
                        &r.body,
                        &r.headers["x-medpay-signature"],
                    );
                    assert!(signed, "a notice without medpay's signature: {}", String::from_utf8_lossy(&r.body));
                    serde_json::from_slice(&r.body).expect("a JSON notice")
                })
                .collect();
            if done(&notices) {
                return notices;
            }
            assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}: {notices:?}");
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
}

/// The key the HIS shares with medpay in the tests.
pub const HIS_KEY: &str = "his-shared-key-0123456789";
