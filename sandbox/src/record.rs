//! Wire recording (`--record DIR`): every raw request and response, headers and bodies, as
//! numbered files, so any exchange can be replayed or verified by another tool.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone)]
pub struct Recorder {
    pub dir: PathBuf,
    seq: Arc<AtomicU64>,
}

impl Recorder {
    pub fn new(dir: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir, seq: Arc::new(AtomicU64::new(0)) })
    }
}

const LIMIT: usize = 16 * 1024 * 1024;

fn head(headers: &axum::http::HeaderMap) -> String {
    headers.iter().map(|(k, v)| format!("{k}: {}\n", v.to_str().unwrap_or("<binary>"))).collect()
}

pub async fn middleware(State(rec): State<Recorder>, req: Request, next: Next) -> Response {
    let n = rec.seq.fetch_add(1, Ordering::SeqCst) + 1;
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, LIMIT).await.unwrap_or_default();
    let name: String = parts.uri.path().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let req_text =
        format!("{} {}\n{}\n{}", parts.method, parts.uri, head(&parts.headers), String::from_utf8_lossy(&bytes));
    let _ = std::fs::write(rec.dir.join(format!("{n:06}{name}.request.txt")), req_text);
    let resp = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let (rparts, rbody) = resp.into_parts();
    let rbytes = to_bytes(rbody, LIMIT).await.unwrap_or_default();
    let resp_text = format!("{}\n{}\n{}", rparts.status, head(&rparts.headers), String::from_utf8_lossy(&rbytes));
    let _ = std::fs::write(rec.dir.join(format!("{n:06}{name}.response.txt")), resp_text);
    Response::from_parts(rparts, Body::from(rbytes))
}
