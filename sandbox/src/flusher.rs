//! Keeps the parties' books on disk while the sandbox runs: a snapshot at most every 200 ms
//! after a change, and one on a clean stop (`books.rs` holds the format).

use crate::app::App;
use std::sync::atomic::Ordering;
use std::time::Duration;

const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// Writes the books now if anything may have changed since the last write.
pub fn flush(app: &App) {
    if !app.dirty.swap(false, Ordering::AcqRel) {
        return;
    }
    if let Err(e) = crate::books::write(&app.config.data_dir, &app.state_untracked()) {
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
