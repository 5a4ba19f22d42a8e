//! The parties' books on disk: `books.json` in the sandbox's data directory, a snapshot of
//! `State` written shortly after every change (at most every 200 ms, and on a clean stop),
//! loaded at start. A restarted sandbox remembers its orders, refunds and balances as a real
//! bank and platform would. A crash loses at most the last 200 ms of changes; the id sequence
//! has its own file (`seq`), reserved ahead of use, so even then no number is issued twice.

use crate::app::App;
use crate::state::State;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

const FLUSH_EVERY: Duration = Duration::from_millis(200);

pub fn books_file(data_dir: &Path) -> PathBuf {
    data_dir.join("books.json")
}

pub fn seq_file(data_dir: &Path) -> PathBuf {
    data_dir.join("seq")
}

/// The highest id number a previous run may have handed out (0 without a file).
pub fn reserved_seq(path: &Path) -> u64 {
    std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

/// The books a previous run left, or fresh ones; either way ids continue after every number
/// that run may have used.
pub fn load(data_dir: &Path) -> anyhow::Result<State> {
    let path = books_file(data_dir);
    let mut st: State = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            anyhow::anyhow!(
                "the sandbox's books {} are unreadable ({e}); move the file away to start a fresh province",
                path.display()
            )
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
        Err(e) => return Err(anyhow::anyhow!("cannot read the sandbox's books {}: {e}", path.display())),
    };
    let seq = seq_file(data_dir);
    st.seq = st.seq.max(reserved_seq(&seq));
    st.seq_reserved = st.seq;
    st.seq_file = Some(seq);
    Ok(st)
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

/// Writes the books now if anything may have changed since the last write.
pub fn flush(app: &App) {
    if !app.dirty.swap(false, Ordering::AcqRel) {
        return;
    }
    let bytes = match serde_json::to_vec(&*app.state_untracked()) {
        Ok(b) => b,
        Err(e) => return tracing::error!("cannot serialise the sandbox's books: {e}"),
    };
    if let Err(e) = write_atomically(&books_file(&app.config.data_dir), &bytes) {
        app.dirty.store(true, Ordering::Release);
        tracing::error!("cannot write the sandbox's books: {e}");
    }
}

/// Flushes the books every `FLUSH_EVERY` while the sandbox runs.
pub fn spawn_flusher(app: App) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        loop {
            tick.tick().await;
            let app = app.clone();
            // File I/O off the async threads.
            let _ = tokio::task::spawn_blocking(move || flush(&app)).await;
        }
    })
}
