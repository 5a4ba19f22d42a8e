//! Going live (REQ O-5): Appendix A's application forms filled from the configuration
//! (`appendix_a`), written as print-ready HTML and CSV (`render`); the printed page itself
//! (`print`) is shared with the acceptance report.

pub mod appendix_a;
pub mod print;
pub mod render;

use anyhow::Context;
use medpay_activities::parties::facts::OnboardingFacts;
use std::path::{Path, PathBuf};

/// `medpay onboarding forms`: the five forms of one hospital into `out`; prints where, and
/// every fact that is missing by name. `strict`: missing facts fail the command.
pub fn forms(
    config: &crate::config::Config,
    org: &str,
    facts_file: Option<&Path>,
    out: &Path,
    pdf: bool,
    strict: bool,
) -> anyhow::Result<bool> {
    let parties = crate::load_parties(&config.parties)?
        .context("no hospitals are configured (parties.hospitals_dir or parties.params_file)")?;
    let h = parties.hospitals.get(org).with_context(|| format!("hospital {org} is not configured"))?;
    let facts_path: Option<PathBuf> = facts_file.map(Path::to_path_buf).or_else(|| h.config.onboarding_facts.clone());
    let facts = match &facts_path {
        Some(f) => OnboardingFacts::read(f).map_err(anyhow::Error::msg)?,
        None => {
            println!(
                "no onboarding facts file (the hospital's onboarding_facts or --facts): every fact the configuration does not hold is listed as missing"
            );
            OnboardingFacts::default()
        }
    };
    let forms = appendix_a::fill(h, &facts);
    let written = render::write(&forms, out)?;
    println!(
        "wrote Appendix A for {org} ({}) — these files hold ID and phone numbers: keep them to the people who file the forms",
        h.config.org_name
    );
    for f in &written {
        println!("  {}", f.display());
    }
    if pdf {
        let html = out.join(render::HTML_NAME);
        let target = out.join("appendix-a.pdf");
        print::pdf(&html, &target)?;
        // Chromium writes with the process's umask: the PDF holds the same ID numbers.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| anyhow::anyhow!("cannot restrict {}: {e}", target.display()))?;
        println!("  {}", target.display());
    }
    let missing = appendix_a::missing(&forms);
    if missing.is_empty() {
        println!("every fact is filled in");
    } else {
        println!(
            "missing facts ({}): fill them in the onboarding facts file, or by hand on the printed form",
            missing.len()
        );
        for m in &missing {
            println!("  {m}");
        }
    }
    Ok(missing.is_empty() || !strict)
}
