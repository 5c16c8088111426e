//! A gate in front of the dev-cluster: a reverse proxy that forwards every request but holds the
//! BudgetAlert list and watch requests (not a one-item preflight list) until it is opened. It makes
//! "the caches have not synced yet" a state a test can observe instead of a race.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use std::sync::Arc;
use tokio::sync::watch;

/// A running gate; dropped, it stops.
pub struct Gate {
    /// Base URL to give the operator instead of the dev-cluster's.
    pub url: String,
    open: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Upstream {
    base: String,
    http: reqwest::Client,
    open: watch::Receiver<bool>,
}

impl Gate {
    /// Starts a closed gate in front of `upstream` (a base URL).
    pub async fn start(upstream: &str) -> Self {
        let (open, rx) = watch::channel(false);
        let state = Arc::new(Upstream {
            base: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder().no_proxy().build().expect("client"),
            open: rx,
        });
        let app = axum::Router::new().fallback(forward).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, open, task }
    }

    /// Lets the held requests through, and every later one.
    pub fn open(&self) {
        let _ = self.open.send(true);
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Whether a request is a BudgetAlert list or watch the gate holds.
fn held(req: &Request) -> bool {
    let one_item = req
        .uri()
        .query()
        .is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "limit" && v == "1"));
    req.uri().path().ends_with("/budgetalerts") && !one_item
}

async fn forward(State(up): State<Arc<Upstream>>, req: Request) -> Response {
    if held(&req) {
        let mut open = up.open.clone();
        let _ = open.wait_for(|o| *o).await;
    }
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
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
