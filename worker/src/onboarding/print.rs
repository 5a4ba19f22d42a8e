//! Printing a page to PDF with headless Chromium (Debian's `chromium`), for the forms and the
//! acceptance report. Chromium is needed only for the PDF; without it the command says which
//! package to install instead of skipping silently.

use std::path::Path;
use std::process::Command;

pub fn chromium() -> anyhow::Result<String> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success()) {
            return Ok(name.to_string());
        }
    }
    anyhow::bail!(
        "no Chromium to print the PDF with: install it (`apt-get install chromium fonts-wqy-microhei`, the fonts for the Chinese) or leave out --pdf; the HTML prints from any browser"
    )
}

/// Prints `html` (a file) to `pdf`.
pub fn pdf(html: &Path, pdf: &Path) -> anyhow::Result<()> {
    let browser = chromium()?;
    let html = std::fs::canonicalize(html).map_err(|e| anyhow::anyhow!("{}: {e}", html.display()))?;
    // A fresh profile: a running browser's profile would take the job over and exit at once.
    let profile =
        std::env::temp_dir().join(format!("medpay-print-{}-{}", std::process::id(), medpay_activities::http::now_ms()));
    let out = Command::new(&browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run {browser}: {e}"))?;
    let _ = std::fs::remove_dir_all(&profile);
    anyhow::ensure!(
        out.status.success() && pdf.exists(),
        "{browser} did not print {}: {}",
        pdf.display(),
        String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")
    );
    Ok(())
}
