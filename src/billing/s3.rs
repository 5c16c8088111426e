//! S3-compatible object storage through `rusty-s3` (sans-IO request signing) and the operator's
//! own reqwest stack: presigned requests, streamed uploads with their SHA-256 and owner as
//! metadata, retries with backoff on 5xx and transport errors. A single PUT is atomic: a killed
//! upload leaves no partial object.

use super::store::{META_OWNER, META_SHA256, ObjectInfo, Store, StoreError, StoreErrorKind};
use async_trait::async_trait;
use backon::{BackoffBuilder, ExponentialBuilder};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use std::path::Path;
use std::time::Duration;

/// How long a presigned request stays valid.
const SIGNED_FOR: Duration = Duration::from_secs(600);
/// Largest listing or error body read.
const MAX_LISTING: u64 = 16 * 1024 * 1024;
/// Most keys listed under one prefix.
const MAX_KEYS: usize = 10_000;

/// A bucket with its credentials.
pub struct S3Store {
    http: reqwest::Client,
    bucket: Bucket,
    credentials: Credentials,
    retry: (Duration, usize),
}

/// The HTTP client of S3 calls: no redirects (a redirect would carry a signed URL elsewhere),
/// https unless some allowed endpoint is marked `allowInsecure`.
pub fn http_client(allow_http: bool, timeout: Duration) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .https_only(!allow_http)
        .connect_timeout(Duration::from_secs(10))
        .timeout(timeout)
        .user_agent(concat!("ccs-operator/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

impl S3Store {
    /// A store for `bucket` at `endpoint` (path-style URLs, which every S3-compatible server
    /// accepts), signing for `region`.
    pub fn new(
        http: reqwest::Client,
        endpoint: &str,
        region: &str,
        bucket: &str,
        access_key: String,
        secret_key: String,
    ) -> Result<Self, StoreError> {
        let url = url::Url::parse(endpoint)
            .map_err(|e| StoreError::new(StoreErrorKind::Invalid, format!("endpoint {endpoint}: {e}")))?;
        let bucket = Bucket::new(url, UrlStyle::Path, bucket.to_string(), region.to_string())
            .map_err(|e| StoreError::new(StoreErrorKind::Invalid, format!("bucket {bucket}: {e}")))?;
        Ok(Self {
            http,
            bucket,
            credentials: Credentials::new(access_key, secret_key),
            retry: (Duration::from_millis(200), 4),
        })
    }

    /// Retry schedule: first delay and attempts after the first (tests shorten it).
    pub fn with_retry(mut self, first: Duration, times: usize) -> Self {
        self.retry = (first, times);
        self
    }

    /// Runs `attempt` again on transient errors, with exponential backoff.
    async fn retried<T, F, Fut>(&self, mut attempt: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        let mut delays = ExponentialBuilder::default()
            .with_min_delay(self.retry.0)
            .with_max_delay(Duration::from_secs(10))
            .with_max_times(self.retry.1)
            .with_jitter()
            .build();
        loop {
            match attempt().await {
                Err(e) if e.kind == StoreErrorKind::Unavailable => match delays.next() {
                    Some(delay) => {
                        tracing::info!(bucket = self.bucket.name(), ?delay, "retrying S3 call: {e}");
                        tokio::time::sleep(delay).await;
                    }
                    None => return Err(e),
                },
                other => return other,
            }
        }
    }

    fn error_of(&self, what: &str, status: reqwest::StatusCode, body: &str) -> StoreError {
        let code = xml_text(body, "Code").unwrap_or_default();
        let kind = match status.as_u16() {
            401 | 403 => StoreErrorKind::Denied,
            404 if code == "NoSuchBucket" => StoreErrorKind::Missing,
            408 | 429 | 500..=599 => StoreErrorKind::Unavailable,
            _ => StoreErrorKind::Invalid,
        };
        let detail = if code.is_empty() {
            status.to_string()
        } else {
            format!("{status} {code}")
        };
        StoreError::new(kind, format!("{what} in bucket {}: {detail}", self.bucket.name()))
    }

    fn transport(&self, what: &str, err: reqwest::Error) -> StoreError {
        StoreError::new(
            StoreErrorKind::Unavailable,
            format!("{what} in bucket {}: {}", self.bucket.name(), err.without_url()),
        )
    }

    async fn body(resp: reqwest::Response) -> String {
        let mut resp = resp;
        let mut out = Vec::new();
        while let Ok(Some(chunk)) = resp.chunk().await {
            if (out.len() + chunk.len()) as u64 > MAX_LISTING {
                break;
            }
            out.extend_from_slice(&chunk);
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// The text of the first `<tag>…</tag>` of an XML body (S3 error codes).
fn xml_text(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{tag}>"))? + start;
    Some(body[start..end].to_string())
}

fn header(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

#[async_trait]
impl Store for S3Store {
    fn describe(&self) -> String {
        format!("s3://{}", self.bucket.name())
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, StoreError> {
        self.retried(|| async {
            let url = self
                .bucket
                .head_object(Some(&self.credentials), key)
                .sign(SIGNED_FOR);
            let resp = self
                .http
                .head(url)
                .send()
                .await
                .map_err(|e| self.transport("reading an object", e))?;
            let status = resp.status();
            if status == reqwest::StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !status.is_success() {
                // HEAD has no body: a 404 on a missing bucket looks like a missing object, and a
                // later PUT names it.
                return Err(self.error_of("reading an object", status, ""));
            }
            Ok(Some(ObjectInfo {
                bytes: header(&resp, "content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_default(),
                sha256: header(&resp, &format!("x-amz-meta-{META_SHA256}")),
                owner: header(&resp, &format!("x-amz-meta-{META_OWNER}")),
                etag: header(&resp, "etag"),
            }))
        })
        .await
    }

    async fn put(
        &self,
        key: &str,
        file: &Path,
        bytes: u64,
        sha256: &str,
        owner: &str,
    ) -> Result<Option<String>, StoreError> {
        self.retried(|| async {
            let mut action = self.bucket.put_object(Some(&self.credentials), key);
            let headers = action.headers_mut();
            headers.insert(format!("x-amz-meta-{META_OWNER}"), owner.to_string());
            headers.insert(format!("x-amz-meta-{META_SHA256}"), sha256.to_string());
            let url = action.sign(SIGNED_FOR);
            let body = tokio::fs::File::open(file).await.map_err(|e| {
                StoreError::new(StoreErrorKind::Unavailable, format!("reading the download: {e}"))
            })?;
            let resp = self
                .http
                .put(url)
                .header(format!("x-amz-meta-{META_OWNER}"), owner)
                .header(format!("x-amz-meta-{META_SHA256}"), sha256)
                .header(reqwest::header::CONTENT_LENGTH, bytes)
                .body(reqwest::Body::from(body))
                .send()
                .await
                .map_err(|e| self.transport("writing an object", e))?;
            let status = resp.status();
            if !status.is_success() {
                let body = Self::body(resp).await;
                return Err(self.error_of("writing an object", status, &body));
            }
            Ok(header(&resp, "etag"))
        })
        .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .retried(|| async {
                    let mut action = self.bucket.list_objects_v2(Some(&self.credentials));
                    action.with_prefix(prefix);
                    if let Some(t) = &token {
                        action.with_continuation_token(t.clone());
                    }
                    let url = action.sign(SIGNED_FOR);
                    let resp = self
                        .http
                        .get(url)
                        .send()
                        .await
                        .map_err(|e| self.transport("listing objects", e))?;
                    let status = resp.status();
                    let body = Self::body(resp).await;
                    if !status.is_success() {
                        return Err(self.error_of("listing objects", status, &body));
                    }
                    rusty_s3::actions::ListObjectsV2::parse_response(&body).map_err(|e| {
                        StoreError::new(StoreErrorKind::Invalid, format!("reading a listing: {e}"))
                    })
                })
                .await?;
            keys.extend(page.contents.into_iter().map(|c| c.key));
            match page.next_continuation_token {
                Some(next) if keys.len() < MAX_KEYS => token = Some(next),
                _ => return Ok(keys),
            }
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.retried(|| async {
            let url = self
                .bucket
                .delete_object(Some(&self.credentials), key)
                .sign(SIGNED_FOR);
            let resp = self
                .http
                .delete(url)
                .send()
                .await
                .map_err(|e| self.transport("deleting an object", e))?;
            let status = resp.status();
            if status.is_success() || status == reqwest::StatusCode::NOT_FOUND {
                return Ok(());
            }
            let body = Self::body(resp).await;
            Err(self.error_of("deleting an object", status, &body))
        })
        .await
    }
}
