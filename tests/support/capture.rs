//! Servers on loopback that a test points the operator at: a capture server that records every
//! connection it accepts (and the bytes it received), and a portal that answers every request
//! with a redirect.

use std::sync::{Arc, Mutex};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

/// Accepts connections on 127.0.0.1 (port 0) and keeps what they sent.
pub struct Capture {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    received: Arc<Mutex<Vec<Vec<u8>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Capture {
    /// Starts the server.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind capture");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let received: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let store = received.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let index = {
                    let mut r = store.lock().expect("lock");
                    r.push(Vec::new());
                    r.len() - 1
                };
                let store = store.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = socket.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        store.lock().expect("lock")[index].extend_from_slice(&buf[..n]);
                    }
                });
            }
        });
        Self { url, received, task }
    }

    /// The connections accepted so far, each with the bytes it sent.
    pub fn received(&self) -> Vec<Vec<u8>> {
        self.received.lock().expect("lock").clone()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A "portal" answering every request with `307` to `location`.
pub struct Redirector {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Redirector {
    /// Starts it.
    pub async fn start(location: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind redirector");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let location = format!("{location}/stolen");
        let app = axum::Router::new().fallback(move || {
            let location = location.clone();
            async move {
                (
                    axum::http::StatusCode::TEMPORARY_REDIRECT,
                    [(axum::http::header::LOCATION, location)],
                )
            }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, task }
    }
}

impl Drop for Redirector {
    fn drop(&mut self) {
        self.task.abort();
    }
}
