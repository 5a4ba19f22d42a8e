//! The product as separate processes on loopback, for the commands that measure or abuse it
//! (`medpay-tools bench product`, `soak`, `drill`): a Temporal dev server (SQLite file, WAL),
//! `medpay-sandbox` and the product's worker and API (`medpay-tools run`: `medpay run` with the
//! engine baseline beside it), each with its own PID so its CPU and memory are its own. The
//! processes' flags and environment are the harness's (`medpay_harness::layout`), as the tests'.
//! The worker can be SIGKILLed and started again, and the Temporal server restarted on the same
//! database: an operator's bad day, on demand.

use anyhow::Context;
use medpay_harness::layout::{self, StackLayout};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A child process stopped (SIGTERM, then SIGKILL after 20 s) when dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.0.try_wait() {
            return;
        }
        let _ = Command::new("kill").arg("-TERM").arg(self.0.id().to_string()).stderr(Stdio::null()).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The PID of a process in a slot of the stack; 0 while it is stopped.
fn pid(slot: &Mutex<Option<Killed>>) -> u32 {
    slot.lock().ok().and_then(|m| m.as_ref().map(|k| k.0.id())).unwrap_or(0)
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub fn wait_for(what: &str, secs: u64, mut ok: impl FnMut() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        anyhow::ensure!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

pub struct ProcStack {
    pub dir: PathBuf,
    temporal_bin: PathBuf,
    temporal_port: u16,
    /// The Temporal server's Prometheus endpoint: its requests by operation.
    pub temporal_metrics: String,
    temporal_args: Vec<String>,
    temporal: Mutex<Option<Killed>>,
    sandbox_proc: Mutex<Option<Killed>>,
    medpay: Mutex<Option<Killed>>,
    medpay_env: Vec<(String, String)>,
    pub api: String,
    pub sandbox: String,
    pub http: reqwest::Client,
    pub client: temporalio_client::Client,
    pub task_queue: String,
}

fn temporal_healthy(bin: &Path, port: u16) -> bool {
    Command::new(bin)
        .args(["operator", "cluster", "health", "--address", &format!("127.0.0.1:{port}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The sandbox's signed callbacks (`/sandbox/control/callbacks`: objects of strings) as the
/// form bodies the bank posts.
pub fn callback_forms(signed: &serde_json::Value) -> Vec<String> {
    signed["callbacks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(
                    f.as_object().into_iter().flatten().map(|(k, v)| (k.as_str(), v.as_str().unwrap_or_default())),
                )
                .finish()
        })
        .collect()
}

/// The Temporal dev server's output (errors only), in the stack's directory: why it stopped.
const TEMPORAL_LOG: &str = "temporal.log";

fn spawn_temporal(dir: &Path, bin: &Path, args: &[String]) -> anyhow::Result<Killed> {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join(TEMPORAL_LOG))?;
    Ok(Killed(
        Command::new(bin)
            .args(args)
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start the Temporal dev server")?,
    ))
}

impl ProcStack {
    /// Starts the three processes in `dir`; `extra_env` goes to `medpay run` (e.g. deadlines).
    pub async fn start(dir: &Path, extra_env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let temporal_bin = std::env::var_os("MEDPAY_TEMPORAL_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(".venv/bin/temporal"));
        anyhow::ensure!(
            temporal_bin.is_file(),
            "Temporal CLI not found at {} (scripts/devstack.sh install, or MEDPAY_TEMPORAL_BIN)",
            temporal_bin.display()
        );
        let db = dir.join("temporal.db");
        // A port picked free can be taken before the server binds it: then it exits at once
        // and is started again on fresh ports.
        let mut started = None;
        for _ in 0..3 {
            let (temporal_port, metrics_port) = (free_port()?, free_port()?);
            let temporal_args = layout::temporal_dev_args(temporal_port, free_port()?, metrics_port, Some(&db));
            let mut temporal = spawn_temporal(dir, &temporal_bin, &temporal_args)?;
            let up = wait_for("the Temporal dev server", 90, || {
                matches!(temporal.0.try_wait(), Ok(Some(_))) || temporal_healthy(&temporal_bin, temporal_port)
            });
            if up.is_ok() && matches!(temporal.0.try_wait(), Ok(None)) {
                started = Some((temporal_port, metrics_port, temporal_args, temporal));
                break;
            }
        }
        let (temporal_port, metrics_port, temporal_args, temporal) =
            started.ok_or_else(|| anyhow::anyhow!("the Temporal dev server did not start in three attempts"))?;
        let address = format!("http://127.0.0.1:{temporal_port}");
        let keys = dir.join("payload.keys");
        if !keys.is_file() {
            std::fs::write(&keys, medpay_worker::codec::Sm4GcmCodec::generate_key_file("bench")?)?;
        }
        let layout = StackLayout {
            dir: dir.to_path_buf(),
            sandbox_dir: dir.join("sandbox"),
            sandbox: format!("127.0.0.1:{}", free_port()?),
            api: format!("127.0.0.1:{}", free_port()?),
            temporal_address: address.clone(),
            task_queue: "bench".to_string(),
            payload_key_file: keys.clone(),
        };
        let sdir = layout.sandbox_dir.clone();
        let sandbox_proc = Killed(
            Command::new(medpay_harness::sandbox_bin())
                .args(layout.sandbox_args())
                .env("MEDPAY_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?,
        );
        wait_for("the sandbox", 60, || sdir.join("credentials.json").is_file())?;
        let (api, sandbox, task_queue) = (layout.api.clone(), layout.sandbox.clone(), layout.task_queue.clone());
        let mut medpay_env = layout.medpay_env();
        medpay_env.push(("MEDPAY_LOG".to_string(), "warn".to_string()));
        medpay_env.extend(extra_env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let http = medpay_activities::http::https_client(&[&layout.sandbox_ca()], Duration::from_secs(60))?;
        let cfg = medpay_worker::config::TemporalConfig {
            address,
            task_queue: task_queue.clone(),
            payload_key_file: Some(keys),
            ..Default::default()
        };
        let client = medpay_worker::temporal::connect(&cfg).await?;
        let s = ProcStack {
            dir: dir.to_path_buf(),
            temporal_bin,
            temporal_port,
            temporal_metrics: format!("http://127.0.0.1:{metrics_port}/metrics"),
            temporal_args,
            temporal: Mutex::new(Some(temporal)),
            sandbox_proc: Mutex::new(Some(sandbox_proc)),
            medpay: Mutex::new(None),
            medpay_env,
            api,
            sandbox,
            http,
            client,
            task_queue,
        };
        s.start_medpay().await?;
        Ok(s)
    }

    pub fn medpay_pid(&self) -> u32 {
        pid(&self.medpay)
    }

    /// The sandbox parties' process: on a real deployment the parties run elsewhere, here they
    /// share the cores with the product.
    pub fn sandbox_pid(&self) -> u32 {
        pid(&self.sandbox_proc)
    }

    /// Which of the stack's processes exited without being asked to, if any (one stopped on
    /// purpose, as `medpay-tools soak` does, is not running and not counted): a measurement against a
    /// dead server would otherwise wait or fail item by item without saying why.
    pub fn exited(&self) -> Option<String> {
        let check = |what: &str, slot: &Mutex<Option<Killed>>| {
            let mut slot = slot.lock().ok()?;
            let status = slot.as_mut()?.0.try_wait().ok()??;
            Some(format!("{what} exited ({status})"))
        };
        check("the Temporal dev server", &self.temporal)
            .map(|why| format!("{why}; its log: {}", self.dir.join(TEMPORAL_LOG).display()))
            .or_else(|| check("the sandbox", &self.sandbox_proc))
            .or_else(|| check("medpay run", &self.medpay))
    }

    pub fn temporal_pid(&self) -> u32 {
        pid(&self.temporal)
    }

    /// Starts the worker and API (`medpay-tools run`: the product's, with the baseline) and waits
    /// until its API answers.
    pub async fn start_medpay(&self) -> anyhow::Result<()> {
        let me = std::env::current_exe()?;
        let child = Command::new(me)
            .arg("run")
            .envs(self.medpay_env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        if let Ok(mut m) = self.medpay.lock() {
            *m = Some(Killed(child));
        }
        let probe = format!("http://{}/healthz", self.api);
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.http.get(&probe).send().await.map(|r| !r.status().is_success()).unwrap_or(true) {
            anyhow::ensure!(Instant::now() < deadline, "medpay run did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    /// SIGKILL: no shutdown, no flush; whatever was in flight is the worker's to recover.
    pub fn kill_medpay(&self) {
        let taken = self.medpay.lock().ok().and_then(|mut m| m.take());
        if let Some(mut k) = taken {
            let _ = k.0.kill();
            let _ = k.0.wait();
        }
    }

    /// Stops the Temporal server (SIGTERM); its database stays.
    pub fn stop_temporal(&self) {
        let old = self.temporal.lock().ok().and_then(|mut t| t.take());
        drop(old);
    }

    /// Stops the Temporal server (SIGTERM) and starts it again on the same database and port.
    pub fn restart_temporal(&self) -> anyhow::Result<()> {
        self.stop_temporal();
        self.start_temporal()
    }

    /// Starts the Temporal server on the database and port it had.
    pub fn start_temporal(&self) -> anyhow::Result<()> {
        let fresh = spawn_temporal(&self.dir, &self.temporal_bin, &self.temporal_args)?;
        if let Ok(mut t) = self.temporal.lock() {
            *t = Some(fresh);
        }
        let port = self.temporal_port;
        wait_for("the restarted Temporal dev server", 60, || temporal_healthy(&self.temporal_bin, port))
    }
}

/// POSTs each body to medpay's bank callback endpoint, `concurrency` at a time, and returns
/// each one's HTTP status in the order given (0: no answer).
pub async fn post_callbacks(s: &std::sync::Arc<ProcStack>, bodies: Vec<String>, concurrency: usize) -> Vec<u16> {
    let total = bodies.len();
    let work = std::sync::Arc::new(Mutex::new(bodies.into_iter().enumerate().collect::<Vec<_>>()));
    let mut tasks = vec![];
    for _ in 0..concurrency {
        let (s, work) = (s.clone(), work.clone());
        tasks.push(tokio::spawn(async move {
            let mut answered = vec![];
            while let Some((i, body)) = work.lock().ok().and_then(|mut w| w.pop()) {
                let r = s
                    .http
                    .post(format!("http://{}/v1/bank/callback", s.api))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await;
                let status = match r {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        if r.bytes().await.is_ok() { status } else { 0 }
                    }
                    Err(_) => 0,
                };
                answered.push((i, status));
            }
            answered
        }));
    }
    let mut statuses = vec![0; total];
    for t in tasks {
        for (i, status) in t.await.unwrap_or_default() {
            statuses[i] = status;
        }
    }
    statuses
}

impl Drop for ProcStack {
    fn drop(&mut self) {
        // medpay first, so it does not log a storm of errors about a vanished server.
        if let Ok(mut m) = self.medpay.lock() {
            m.take();
        }
    }
}
