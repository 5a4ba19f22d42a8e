//! The sandbox's own files, written so a crash leaves whole ones: through a temporary file and a
//! rename. And the id sequence's file (`seq`), reserved ahead of use so a restarted sandbox never
//! issues a number twice.

use std::path::{Path, PathBuf};

pub fn seq_file(data_dir: &Path) -> PathBuf {
    data_dir.join("seq")
}

/// The highest id number a previous run may have handed out (0 without a file).
pub fn reserved_seq(path: &Path) -> u64 {
    std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

/// Writes through a temporary file and a rename, so a crash leaves the old or the new file,
/// never half of one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
