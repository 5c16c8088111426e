//! A gate in front of moto for what moto cannot do with presigned requests: refuse an access key
//! (moto's IAM checks read only the `Authorization` header, never a presigned URL's
//! `X-Amz-Credential`), and answer 503 `SlowDown` a set number of times. Everything else is
//! forwarded to moto unchanged.

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// A running gate.
pub struct S3Gate {
    /// Its base URL, the S3 endpoint the operator is given.
    pub url: String,
    /// 503 answers still to give.
    pub unavailable: Arc<AtomicU32>,
    /// 503 answers given so far.
    pub refused: Arc<AtomicU32>,
    task: tokio::task::JoinHandle<()>,
}

fn xml_error(status: StatusCode, code: &str, message: &str) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/xml")
        .body(Body::from(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
        )))
        .expect("response")
}

impl S3Gate {
    /// Forwards to `upstream`, accepting only presigned requests of `access_key`.
    pub async fn start(upstream: &str, access_key: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let unavailable = Arc::new(AtomicU32::new(0));
        let refused = Arc::new(AtomicU32::new(0));
        let (upstream, key) = (upstream.to_string(), access_key.to_string());
        let http = reqwest::Client::builder().no_proxy().build().expect("client");
        let (left, given) = (unavailable.clone(), refused.clone());
        let app = axum::Router::new().fallback(move |req: Request| {
            let (upstream, key, http, left, given) = (
                upstream.clone(),
                key.clone(),
                http.clone(),
                left.clone(),
                given.clone(),
            );
            async move {
                let query = req.uri().query().unwrap_or_default().to_string();
                let credential = form_urlencoded::parse(query.as_bytes())
                    .find(|(k, _)| k == "X-Amz-Credential")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                if !credential.starts_with(&format!("{key}/")) {
                    return xml_error(
                        StatusCode::FORBIDDEN,
                        "InvalidAccessKeyId",
                        "The AWS Access Key Id you provided does not exist in our records.",
                    );
                }
                if left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
                {
                    given.fetch_add(1, Ordering::SeqCst);
                    return xml_error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "SlowDown",
                        "Please reduce your request rate.",
                    );
                }
                let target = format!(
                    "{upstream}{}",
                    req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/")
                );
                let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes()).expect("method");
                let mut forward = http.request(method, target);
                for (name, value) in req.headers() {
                    if name != "host" {
                        forward = forward.header(name.as_str(), value.as_bytes());
                    }
                }
                let body = axum::body::to_bytes(req.into_body(), 64 * 1024 * 1024)
                    .await
                    .expect("body");
                let resp = forward.body(body).send().await.expect("moto answers");
                let mut out = Response::builder().status(resp.status().as_u16());
                for (name, value) in resp.headers() {
                    out = out.header(name.as_str(), value.as_bytes());
                }
                out.body(Body::from(resp.bytes().await.expect("moto body")))
                    .expect("response")
            }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url,
            unavailable,
            refused,
            task,
        }
    }
}

impl Drop for S3Gate {
    fn drop(&mut self) {
        self.task.abort();
    }
}
