//! Fetching a statement over SFTP with OpenSSH's `sftp` client in batch mode, the host key
//! checked against a configured known_hosts file (never trust-on-first-use). A file that is not
//! there yet is a retryable "try later", not a failure. The download goes to a `.part` file
//! renamed when complete, so a half file is never parsed.

use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct SftpSettings {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub key_file: PathBuf,
    pub known_hosts: PathBuf,
    /// Remote path templates: `{mer_id}`, `{org_code}`, `{yyyymmdd}`, `{yyyymm}`.
    pub selfpay_remote: String,
    pub insurance_remote: String,
}

/// The reference remote paths (the sandbox's bank and platform write them so).
pub const SELFPAY_REMOTE: &str = "selfpay/SELFPAY_{mer_id}_{yyyymmdd}.txt";
pub const INSURANCE_REMOTE: &str = "insurance/INSURANCE_{org_code}_{yyyymm}.txt";

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("statement {0} is not on the server yet; trying again later")]
    NotYet(String),
    #[error("cannot fetch statement {remote}: {detail}")]
    Failed { remote: String, detail: String },
}

pub fn remote_path(template: &str, mer_id: &str, org_code: &str, period: &str) -> String {
    let compact = period.replace('-', "");
    template
        .replace("{mer_id}", mer_id)
        .replace("{org_code}", org_code)
        .replace("{yyyymmdd}", &compact)
        .replace("{yyyymm}", &compact)
}

pub async fn fetch(s: &SftpSettings, remote: &str, local: &Path) -> Result<(), FetchError> {
    let part = local.with_extension("part");
    let batch = local.with_extension("batch");
    let failed = |detail: String| FetchError::Failed { remote: remote.to_string(), detail };
    if let Some(dir) = local.parent() {
        std::fs::create_dir_all(dir).map_err(|e| failed(format!("staging dir: {e}")))?;
    }
    // Quoted so a remote name with spaces cannot split the batch command.
    std::fs::write(&batch, format!("get \"{remote}\" \"{}\"\n", part.display())).map_err(|e| failed(e.to_string()))?;
    let out = tokio::process::Command::new("sftp")
        .arg("-b")
        .arg(&batch)
        .args([
            "-P",
            &s.port.to_string(),
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "ConnectTimeout=10",
        ])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", s.known_hosts.display()))
        .arg("-i")
        .arg(&s.key_file)
        .arg(format!("{}@{}", s.user, s.host))
        .output()
        .await
        .map_err(|e| failed(format!("cannot run the OpenSSH sftp client: {e}")))?;
    let _ = std::fs::remove_file(&batch);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let _ = std::fs::remove_file(&part);
        if stderr.contains("not found") || stderr.contains("No such file") {
            return Err(FetchError::NotYet(remote.to_string()));
        }
        return Err(failed(stderr));
    }
    std::fs::rename(&part, local).map_err(|e| failed(e.to_string()))
}
