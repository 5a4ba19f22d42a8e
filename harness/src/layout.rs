//! Where the pieces of a stack on loopback are, and what each process is started with: the
//! Temporal dev server's flags, `medpay-sandbox`'s arguments and `medpay run`'s environment.
//! Written once, for the tests' `Stack` and `medpay-tools`' `ProcStack` alike.

use std::path::{Path, PathBuf};

/// The search attributes the workflows upsert (as `scripts/devstack.sh` registers them).
const SEARCH_ATTRIBUTES: [&str; 4] =
    ["MedpayOrgCode=Keyword", "MedpayMedOrgOrd=Keyword", "MedpayPaymentState=Keyword", "MedpayRefundState=Keyword"];

/// `temporal server start-dev` on loopback, headless; in memory, or on a SQLite file in WAL
/// mode (a benchmark's server, restartable on the same database).
pub fn temporal_dev_args(port: u16, http_port: u16, metrics_port: u16, db: Option<&Path>) -> Vec<String> {
    let mut args: Vec<String> =
        ["server", "start-dev", "--ip", "127.0.0.1", "--headless", "--log-level", "error"].map(String::from).into();
    for (flag, value) in [("--port", port), ("--http-port", http_port), ("--metrics-port", metrics_port)] {
        args.extend([flag.to_string(), value.to_string()]);
    }
    for attribute in SEARCH_ATTRIBUTES {
        args.extend(["--search-attribute".to_string(), attribute.to_string()]);
    }
    if let Some(db) = db {
        args.extend(["--db-filename".to_string(), db.display().to_string()]);
        for pragma in ["journal_mode=wal", "synchronous=normal"] {
            args.extend(["--sqlite-pragma".to_string(), pragma.to_string()]);
        }
    }
    args
}

/// A stack's addresses and files.
pub struct StackLayout {
    /// medpay's ledger, staging and reports live here.
    pub dir: PathBuf,
    /// `medpay-sandbox --data-dir`: its credentials, TLS files and hospital files.
    pub sandbox_dir: PathBuf,
    /// `host:port` of the sandbox's HTTPS listener.
    pub sandbox: String,
    /// `host:port` of medpay's API.
    pub api: String,
    pub temporal_address: String,
    pub task_queue: String,
    pub payload_key_file: PathBuf,
}

impl StackLayout {
    /// `medpay-sandbox`'s arguments: its listener and data directory.
    pub fn sandbox_args(&self) -> Vec<String> {
        vec!["--listen".into(), self.sandbox.clone(), "--data-dir".into(), self.sandbox_dir.display().to_string()]
    }

    /// The sandbox's CA, which medpay trusts for every party.
    pub fn sandbox_ca(&self) -> PathBuf {
        self.sandbox_dir.join("tls/ca.pem")
    }

    /// `medpay run`'s environment against the sandbox: Temporal, the API, the payload key, a
    /// SQLite ledger, the parties as the sandbox issued them, the callback URL, the
    /// reconciliation's directories and the patient page's hand-over to the sandbox channel.
    pub fn medpay_env(&self) -> Vec<(String, String)> {
        let (dir, sandbox, api) = (&self.dir, &self.sandbox, &self.api);
        [
            ("MEDPAY_TEMPORAL_ADDRESS", self.temporal_address.clone()),
            ("MEDPAY_TASK_QUEUE", self.task_queue.clone()),
            ("MEDPAY_API_LISTEN", api.clone()),
            ("MEDPAY_PAYLOAD_KEY_FILE", self.payload_key_file.display().to_string()),
            ("MEDPAY_LEDGER_URL", format!("sqlite://{}?mode=rwc", dir.join("ledger.db").display())),
            ("MEDPAY_PARTIES_PARAMS_FILE", self.sandbox_dir.join("credentials.json").display().to_string()),
            ("MEDPAY_PARTIES_BASE_URL", format!("https://{sandbox}")),
            ("MEDPAY_PARTIES_CA_FILE", self.sandbox_ca().display().to_string()),
            ("MEDPAY_CALLBACK_URL", format!("http://{api}/v1/bank/callback")),
            ("MEDPAY_RECON_STAGING_DIR", dir.join("staging").display().to_string()),
            ("MEDPAY_RECON_REPORTS_DIR", dir.join("reports").display().to_string()),
            (
                "MEDPAY_PATIENT_AUTHORISE_URL",
                format!("https://{sandbox}/sandbox/patient/authorize-page?channel={{channel}}&return={{return}}"),
            ),
            (
                "MEDPAY_PATIENT_CASHIER_URL",
                format!(
                    "https://{sandbox}/sandbox/patient/cashier-page?mix_trade_no={{mix_trade_no}}&return={{return}}"
                ),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// The sandbox's SFTP statements server, pinned (`medpay-sandbox --sftp-port`).
    pub fn sftp_env(&self, port: u16) -> Vec<(String, String)> {
        let ssh = self.sandbox_dir.join("sftp/ssh");
        [
            ("MEDPAY_RECON_SFTP_HOST", "127.0.0.1".to_string()),
            ("MEDPAY_RECON_SFTP_PORT", port.to_string()),
            ("MEDPAY_RECON_SFTP_KEY_FILE", ssh.join("client_key").display().to_string()),
            ("MEDPAY_RECON_SFTP_KNOWN_HOSTS", ssh.join("known_hosts").display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}
