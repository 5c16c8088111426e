//! A recorder in front of the dev-cluster: a reverse proxy that forwards every request and keeps
//! its method and path, so a test can assert what a client did to the API server (such as "only
//! GETs").

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use std::sync::{Arc, Mutex};

/// A running recorder; dropped, it stops.
pub struct Recorder {
    /// Base URL to give the client instead of the dev-cluster's.
    pub url: String,
    seen: Arc<Mutex<Vec<(String, String)>>>,
    task: tokio::task::JoinHandle<()>,
}

struct Upstream {
    base: String,
    http: reqwest::Client,
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

impl Recorder {
    /// Starts a recorder on 127.0.0.1 (port 0) in front of `upstream` (a base URL).
    pub async fn start(upstream: &str) -> Self {
        let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let state = Arc::new(Upstream {
            base: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder().no_proxy().build().expect("client"),
            seen: seen.clone(),
        });
        let app = axum::Router::new().fallback(forward).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, seen, task }
    }

    /// Every request so far, as (method, path and query).
    pub fn requests(&self) -> Vec<(String, String)> {
        self.seen.lock().expect("lock").clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(State(up): State<Arc<Upstream>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    up.seen
        .lock()
        .expect("lock")
        .push((parts.method.to_string(), path.clone()));
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let mut headers = parts.headers.clone();
    headers.remove(axum::http::header::HOST);
    let upstream = up
        .http
        .request(parts.method, format!("{}{path}", up.base))
        .headers(headers)
        .body(body)
        .send()
        .await;
    let Ok(resp) = upstream else {
        return Response::builder()
            .status(502)
            .body(Body::empty())
            .expect("response");
    };
    let mut out = Response::builder().status(resp.status());
    for (name, value) in resp.headers() {
        if name != axum::http::header::TRANSFER_ENCODING && name != axum::http::header::CONTENT_LENGTH {
            out = out.header(name, value);
        }
    }
    out.body(Body::from_stream(resp.bytes_stream()))
        .expect("response")
}
