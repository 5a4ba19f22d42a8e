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
}
