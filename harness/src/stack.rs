//! The whole product on loopback for end-to-end tests: a Temporal dev server, the sandbox
//! counterparties (`medpay-sandbox`) and `medpay run` (worker + API) on a SQLite ledger, with
//! short payment deadlines so the Q-9 paths run in seconds. `medpay` can be SIGKILLed and
//! restarted on the same ledger, task queue and key.

use crate::*;
pub use crate::{recording, replay_key_file};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// The deadlines the e2e tests use (the standard's 20 s / 5 s / 60 s shortened in proportion).
pub const FAST_TIMINGS: [(&str, &str); 5] = [
    ("MEDPAY_PAYMENT_CALLBACK_WAIT_SECS", "3"),
    ("MEDPAY_PAYMENT_QUERY_EVERY_SECS", "1"),
    ("MEDPAY_PAYMENT_QUERY_FOR_SECS", "3"),
    ("MEDPAY_PAYMENT_LATE_CALLBACK_SECS", "120"),
    ("MEDPAY_PAYMENT_CONFIRM_DEADLINE_SECS", "120"),
];

pub struct Stack {
    pub temporal: TemporalDevServer,
    pub sandbox: Proc,
    pub medpay: Proc,
    pub api: String,
    pub sandbox_addr: String,
    pub ca: PathBuf,
    pub dir: PathBuf,
    /// `medpay run`'s environment, kept for restarts.
    env: Vec<(String, String)>,
    /// `medpay-sandbox`'s arguments, kept for restarts.
    sandbox_args: Vec<String>,
}

fn spawn_sandbox(args: &[String]) -> Proc {
    let mut sandbox = Proc::spawn(Command::new(sandbox_bin()).args(args));
    sandbox.wait_for_line("personas", Duration::from_secs(30));
    sandbox
}

fn spawn_medpay(env: &[(String, String)], api: &str) -> Proc {
    let mut cmd = Command::new(medpay_bin());
    cmd.arg("run").envs(env.iter().map(|(k, v)| (k, v)));
    let mut medpay = Proc::spawn(&mut cmd);
    medpay.wait_for_line("medpay API", Duration::from_secs(60));
    // An API serving HTTPS itself (tls.rs) is asked by its test, which holds the CA.
    if !env.iter().any(|(k, _)| k == "MEDPAY_API_TLS_CERT_FILE") {
        wait_until("/healthz", Duration::from_secs(30), || {
            http("GET", api, "/healthz", None).map(|r| r.0 == 200).unwrap_or(false)
        });
    }
    medpay
}

pub fn curl_json(ca: &std::path::Path, url: &str, body: &Value) -> Value {
    let out = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "20",
            "--cacert",
            ca.to_str().unwrap(),
            "-H",
            "content-type: application/json",
            "-d",
            &body.to_string(),
            url,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    json(&String::from_utf8_lossy(&out.stdout))
}

/// GETs `path` until `done` holds; panics with the last body after `secs`.
pub fn poll(api: &str, path: &str, what: &str, secs: u64, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if let Ok((200, body)) = http("GET", api, path, None) {
            last = json(&body);
            if done(&last) {
                return last;
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("timed out waiting for {what}; last: {last}");
}

impl Stack {
    pub fn start(name: &str, extra: &[(&str, &str)]) -> Stack {
        Self::start_with(name, extra, false)
    }

    /// With `sftp`, the sandbox also serves its statements over OpenSSH SFTP and medpay fetches
    /// them from there (host key checked).
    pub fn start_with(name: &str, extra: &[(&str, &str)], sftp: bool) -> Stack {
        Self::start_inner(name, extra, sftp, &[], &|_| Vec::new())
    }

    /// A sandbox with extra arguments, medpay configured by per-hospital files
    /// (`parties.hospitals_dir`): `prepare` gets the stack's folder once the sandbox has written
    /// its files (`<dir>/hospitals/<org>.toml`), may lay out a directory of its own, and returns
    /// extra environment for medpay (e.g. `MEDPAY_PARTIES_HOSPITALS_DIR`).
    /// `sandbox_args` go to `medpay-sandbox` (e.g. `--hospitals 2`, `--bank-encrypt`).
    pub fn start_hospitals(
        name: &str,
        sandbox_args: &[&str],
        extra: &[(&str, &str)],
        prepare: &dyn Fn(&std::path::Path) -> Vec<(String, String)>,
    ) -> Stack {
        Self::start_inner(name, extra, false, sandbox_args, prepare)
    }

    /// The same with the sandbox's SFTP statements server.
    pub fn start_hospitals_sftp(
        name: &str,
        sandbox_args: &[&str],
        prepare: &dyn Fn(&std::path::Path) -> Vec<(String, String)>,
    ) -> Stack {
        Self::start_inner(name, &[], true, sandbox_args, prepare)
    }

    fn start_inner(
        name: &str,
        extra: &[(&str, &str)],
        sftp: bool,
        sandbox_extra: &[&str],
        prepare: &dyn Fn(&std::path::Path) -> Vec<(String, String)>,
    ) -> Stack {
        let temporal = TemporalDevServer::start();
        let dir = std::env::temp_dir().join(format!("medpay-e2e-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let sandbox_addr = format!("127.0.0.1:{}", free_port());
        let sftp_port = free_port();
        let api = format!("127.0.0.1:{}", free_port());
        let layout = crate::layout::StackLayout {
            dir: dir.clone(),
            sandbox_dir: dir.clone(),
            sandbox: sandbox_addr.clone(),
            api: api.clone(),
            temporal_address: temporal.address(),
            task_queue: format!("{name}-{}", std::process::id()),
            payload_key_file: if recording() { replay_key_file() } else { payload_key_file() },
        };
        let mut sandbox_args = layout.sandbox_args();
        if sftp {
            sandbox_args.extend(["--sftp-port".to_string(), sftp_port.to_string()]);
        }
        sandbox_args.extend(sandbox_extra.iter().map(|a| a.to_string()));
        let sandbox = spawn_sandbox(&sandbox_args);
        let ca = layout.sandbox_ca();
        let mut env = layout.medpay_env();
        if sftp {
            env.extend(layout.sftp_env(sftp_port));
        }
        env.extend(FAST_TIMINGS.iter().chain(extra).map(|(k, v)| (k.to_string(), v.to_string())));
        env.extend(prepare(&dir));
        // With a master key, medpay gets its credentials and codec keys sealed at rest only.
        if let Some((_, master)) = extra.iter().find(|(k, _)| *k == "MEDPAY_MASTER_KEY") {
            for var in ["MEDPAY_PARTIES_PARAMS_FILE", "MEDPAY_PAYLOAD_KEY_FILE"] {
                let plain = env.iter().rev().find(|(k, _)| k == var).map(|(_, v)| v.clone()).unwrap();
                let sealed = dir.join(format!("{var}.sealed"));
                let out = Command::new(medpay_bin())
                    .args(["secrets", "seal", "--in", &plain, "--out", sealed.to_str().unwrap()])
                    .env("MEDPAY_MASTER_KEY", master)
                    .output()
                    .unwrap();
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                let text = std::fs::read_to_string(&sealed).unwrap();
                assert!(
                    text.starts_with("medpay-sealed:v1:") && !text.contains("PRIVATE") && !text.contains("app_secret"),
                    "sealed: {text}"
                );
                env.push((var.to_string(), sealed.display().to_string()));
            }
        }
        let medpay = spawn_medpay(&env, &api);
        Stack { temporal, sandbox, medpay, api, sandbox_addr, ca, dir, env, sandbox_args }
    }

    /// Sets a variable of `medpay run`'s environment for its next start (`restart_medpay`).
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.push((key.into(), value.into()));
    }

    /// `medpay run`'s environment, later settings last.
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// A variable of `medpay run`'s environment (to run CLI commands against the same stack).
    pub fn env_value(&self, key: &str) -> String {
        self.env.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    /// SIGKILL: no drain, no goodbye, exactly what a crashed host does.
    pub fn kill_medpay(&mut self) {
        let _ = self.medpay.child.kill();
        let _ = self.medpay.child.wait();
    }

    /// Restarts the sandbox parties on the same data directory: with `crash`, SIGKILL (no
    /// chance to write its books), else SIGTERM.
    pub fn restart_sandbox(&mut self, crash: bool) {
        if crash {
            let _ = self.sandbox.child.kill();
            let _ = self.sandbox.child.wait();
        } else {
            self.sandbox.terminate(Duration::from_secs(10));
        }
        self.sandbox = spawn_sandbox(&self.sandbox_args);
    }

    /// Another `medpay run` beside the stack's own (scale-out): the same task queue, ledger,
    /// keys and parties, its API on `api`.
    pub fn spawn_peer(&self, api: &str) -> Proc {
        let mut env = self.env.clone();
        env.push(("MEDPAY_API_LISTEN".into(), api.into()));
        spawn_medpay(&env, api)
    }

    pub fn restart_medpay(&mut self) {
        self.medpay = spawn_medpay(&self.env, &self.api);
    }

    pub fn sandbox_url(&self, path: &str) -> String {
        format!("https://{}{path}", self.sandbox_addr)
    }

    pub fn stop(mut self) {
        let _ = self.medpay.terminate(Duration::from_secs(30));
        let _ = self.sandbox.terminate(Duration::from_secs(10));
    }
}

impl Drop for Stack {
    /// A failed test kills the sandbox with SIGKILL, which cannot stop its sshd: do it here.
    fn drop(&mut self) {
        if self.dir.join("sftp/ssh").is_dir() {
            let _ = Command::new("bash")
                .arg(workspace_root().join("sandbox/sftp.sh"))
                .arg("stop")
                .arg(self.dir.join("sftp"))
                .status();
        }
    }
}
