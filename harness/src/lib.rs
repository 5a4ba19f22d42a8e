//! Helpers for the end-to-end tests in `tests/tests/`: real processes on free loopback ports,
//! killed when dropped. No mocks: a Temporal dev server from the project's venv and the
//! `medpay` binary built by `cargo build --workspace`.

pub mod his;
pub mod histories;
pub mod inspect;
pub mod layout;
pub mod probes;
pub mod receiver;
pub mod stack;
pub mod webdriver;

pub use histories::activities_run;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The sandbox's first hospital: `medpay-sandbox` issues H51010500001, H51010500002, ... with
/// `--hospitals N` (`sandbox/src/credentials.rs`); a stack's payments are this hospital's unless
/// a test says otherwise.
pub const SANDBOX_ORG: &str = "H51010500001";

/// `MEDPAY_RECORD_HISTORIES=1 cargo test -p medpay-tests` re-records the histories the tests
/// name with [`Stack::record`] into tests/histories/, encrypted with the test-only key there.
/// Only when a workflow changed on purpose (and old histories are kept or patched).
pub fn recording() -> bool {
    std::env::var_os("MEDPAY_RECORD_HISTORIES").is_some()
}

/// The committed, test-only payload key the recorded histories are encrypted with.
pub fn replay_key_file() -> PathBuf {
    workspace_root().join("tests/histories/replay-test-only.key")
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// A binary of this workspace beside the running executable: a test executable lives in
/// `target/<profile>/deps/`, `medpay-tools` in `target/<profile>/`.
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let here = exe.parent().expect("target dir");
    let bin = [here.join(name), here.parent().map(|p| p.join(name)).unwrap_or_default()]
        .into_iter()
        .find(|b| b.is_file())
        .unwrap_or_else(|| here.join(name));
    assert!(bin.is_file(), "{} is missing: run `cargo build --workspace` (scripts/test.sh does)", bin.display());
    bin
}

/// The product: `medpay` (worker, API, CLI).
pub fn medpay_bin() -> PathBuf {
    workspace_bin("medpay")
}

/// The benchmarks, the soak and the drills: `medpay-tools`.
pub fn tools_bin() -> PathBuf {
    workspace_bin("medpay-tools")
}

/// The counterparties: `medpay-sandbox`.
pub fn sandbox_bin() -> PathBuf {
    workspace_bin("medpay-sandbox")
}

pub fn temporal_bin() -> PathBuf {
    let bin = std::env::var_os("MEDPAY_TEMPORAL_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/temporal"));
    assert!(bin.is_file(), "Temporal CLI not found at {}: run `scripts/devstack.sh install`", bin.display());
    bin
}

/// A port nobody listens on right now (the OS picks it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

pub fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A child process killed on drop.
pub struct Proc {
    pub child: Child,
    // In a Mutex only so a `Stack` can be shared by test threads (reads need `&mut self`).
    lines: std::sync::Mutex<mpsc::Receiver<String>>,
}

impl Proc {
    pub fn spawn(cmd: &mut Command) -> Self {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
        let (tx, rx) = mpsc::channel();
        for stream in [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Proc { child, lines: std::sync::Mutex::new(rx) }
    }

    /// Waits for an output line containing `needle`; returns all lines seen so far.
    pub fn wait_for_line(&mut self, needle: &str, timeout: Duration) -> Vec<String> {
        let start = Instant::now();
        let mut seen = vec![];
        while start.elapsed() < timeout {
            let next = self.lines.get_mut().map(|rx| rx.recv_timeout(Duration::from_millis(200)));
            match next.unwrap_or(Err(mpsc::RecvTimeoutError::Disconnected)) {
                Ok(l) => {
                    let hit = l.contains(needle);
                    seen.push(l);
                    if hit {
                        return seen;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(status)) = self.child.try_wait() {
                        panic!("process exited ({status}) before printing {needle:?}; output:\n{}", seen.join("\n"));
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        panic!("no line containing {needle:?} within {timeout:?}; output:\n{}", seen.join("\n"));
    }

    /// Every output line not yet consumed by `wait_for_line` (stdout and stderr), without waiting.
    pub fn output_so_far(&mut self) -> Vec<String> {
        let Ok(rx) = self.lines.get_mut() else { return vec![] };
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let start = Instant::now();
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s;
            }
            assert!(start.elapsed() < timeout, "process did not stop within {timeout:?} after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A throwaway Temporal dev server (in memory, headless) on free loopback ports.
pub struct TemporalDevServer {
    pub port: u16,
    pub proc: Proc,
}

impl TemporalDevServer {
    pub fn start() -> Self {
        // A port picked free can be taken by another test's server before this one binds it;
        // then the server exits at once and is started again on fresh ports.
        for _ in 0..3 {
            let port = free_port();
            let mut proc = Proc::spawn(Command::new(temporal_bin()).args(layout::temporal_dev_args(
                port,
                free_port(),
                free_port(),
                None,
            )));
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(90) {
                if matches!(proc.child.try_wait(), Ok(Some(_))) {
                    break;
                }
                let healthy = Command::new(temporal_bin())
                    .args(["operator", "cluster", "health", "--address", &format!("127.0.0.1:{port}")])
                    .output()
                    .is_ok_and(|o| o.status.success());
                if healthy {
                    return TemporalDevServer { port, proc };
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = proc.child.kill();
            let _ = proc.child.wait();
        }
        panic!("the Temporal dev server did not become healthy in three attempts");
    }

    pub fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// A plain HTTP/1.1 exchange on loopback: (status, body).
pub fn http(method: &str, addr: &str, path: &str, body: Option<&str>) -> std::io::Result<(u16, String)> {
    http_with(method, addr, path, body, &[])
}

/// Headers every `http` request of this test binary carries (e.g. the hospital's API key);
/// a header of the same name given to `http_with` replaces it.
static DEFAULT_HEADERS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

pub fn set_default_headers(headers: &[&str]) {
    if let Ok(mut h) = DEFAULT_HEADERS.lock() {
        *h = headers.iter().map(|s| s.to_string()).collect();
    }
}

/// The same with extra request headers ("Name: value").
pub fn http_with(
    method: &str,
    addr: &str,
    path: &str,
    body: Option<&str>,
    headers: &[&str],
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let body = body.unwrap_or("");
    let name = |h: &str| h.split(':').next().unwrap_or("").trim().to_ascii_lowercase();
    let defaults: Vec<String> = DEFAULT_HEADERS.lock().map(|d| d.clone()).unwrap_or_default();
    let defaults = defaults.into_iter().filter(|d| !headers.iter().any(|h| name(h) == name(d)));
    let extra: String = headers.iter().map(|h| h.to_string()).chain(defaults).map(|h| format!("{h}\r\n")).collect();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let raw = read_response(&mut stream)?;
    let status = raw.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (head, rest) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let body =
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(rest) } else { rest.to_string() };
    Ok((status, body))
}

/// Reads one response: up to its Content-Length when it has one (a server may keep the
/// connection open despite `Connection: close`, as ChromeDriver does), else to the end.
fn read_response(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
        let length =
            head.lines().find_map(|l| l.strip_prefix("content-length:").and_then(|v| v.trim().parse::<usize>().ok()));
        if length.is_some_and(|len| raw.len() >= end + 4 + len) {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&raw).into_owned())
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

pub fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// A fresh payload key file for the codec (tests never share keys).
pub fn payload_key_file() -> PathBuf {
    let path = std::env::temp_dir().join(format!("medpay-test-keys-{}-{}", std::process::id(), free_port()));
    let _ = std::fs::remove_file(&path);
    let out = Command::new(medpay_bin()).args(["keygen", "--out"]).arg(&path).output().expect("keygen");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    path
}

/// `application/x-www-form-urlencoded` of a JSON object of strings (a bank callback's form).
pub fn form_encode(params: &serde_json::Value) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    params
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| format!("{}={}", enc(k), enc(v.as_str().unwrap_or_default())))
                .collect::<Vec<_>>()
                .join("&")
        })
        .unwrap_or_default()
}
