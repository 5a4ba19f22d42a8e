//! The parties' books on disk: `books.json` in the sandbox's data directory, a snapshot of
//! `State` written shortly after every change (at most every 200 ms, and on a clean stop),
//! loaded at start. A restarted sandbox remembers its orders, refunds and balances as a real
//! bank and platform would. A crash loses at most the last 200 ms of changes; the id sequence
//! has its own file (`seq`, `disk.rs`), reserved ahead of use, so even then no number is issued
//! twice. The running sandbox writes them through `flusher.rs`.

use crate::disk::{reserved_seq, seq_file, write_atomically};
use crate::state::State;
use std::path::{Path, PathBuf};

/// Where the books are.
pub fn books_file(data_dir: &Path) -> PathBuf {
    data_dir.join("books.json")
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

/// Writes a snapshot of the books (`flusher.rs` decides when).
pub fn write(data_dir: &Path, state: &State) -> anyhow::Result<()> {
    let bytes = serde_json::to_vec(state)?;
    write_atomically(&books_file(data_dir), &bytes)?;
    Ok(())
}
