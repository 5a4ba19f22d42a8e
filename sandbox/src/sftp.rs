//! Starting and stopping the statements' SFTP server through `sandbox/sftp.sh` (OpenSSH sshd on
//! loopback, key-only). What a client needs to connect is written to `<data>/sftp/ssh/`.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const USER: &str = "medpaysftp";

pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sftp.sh")
}

/// Connection details for SFTP clients.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SftpInfo {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub private_key: PathBuf,
    pub known_hosts: PathBuf,
}

pub fn start(data_dir: &Path, port: u16) -> anyhow::Result<SftpInfo> {
    let dir = data_dir.join("sftp");
    let out = Command::new("bash")
        .arg(script())
        .arg("start")
        .arg(&dir)
        .arg(port.to_string())
        .output()
        .context("cannot run sandbox/sftp.sh")?;
    anyhow::ensure!(
        out.status.success(),
        "sftp.sh start failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(SftpInfo {
        host: "127.0.0.1".into(),
        port,
        user: USER.into(),
        private_key: dir.join("ssh/client_key"),
        known_hosts: dir.join("ssh/known_hosts"),
    })
}

pub fn stop(data_dir: &Path) {
    let _ = Command::new("bash").arg(script()).arg("stop").arg(data_dir.join("sftp")).status();
}

/// Statement directories are created by the sandbox (root); the SFTP user must read them.
pub fn make_readable(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
    }
}
