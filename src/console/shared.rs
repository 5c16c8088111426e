//! What every console client of the process shares: the HTTP pool (the portal's settings), the
//! rate limiter, the metrics, and one request function with the portal's retry rules.

use super::metrics::ConsoleMetrics;
use crate::portal::http::{ReadError, read_capped};
use crate::portal::limiter::Limiter;
use crate::portal::metrics::code_class;
use crate::portal::{ClientConfig, ErrorCategory, PortalError, PortalResult, Secret};
use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::Method;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Shared by every console client.
pub struct ConsoleShared {
    http: reqwest::Client,
    limiter: Limiter,
    metrics: ConsoleMetrics,
    config: ClientConfig,
}

/// A 2xx answer.
pub struct Reply {
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body (at most `maxResponseBytes`).
    pub body: Vec<u8>,
}

/// One call of a console API, before its token is added.
pub struct Call<'a> {
    /// The API, for the metrics (`keystone`, `clouddirector`).
    pub api: &'static str,
    /// The operation, for the metrics and errors.
    pub operation: &'static str,
    /// The HTTP method.
    pub method: Method,
    /// The whole URL (see [`endpoint_url`]).
    pub url: url::Url,
    /// Query parameters.
    pub query: &'a [(&'a str, &'a str)],
    /// A JSON body.
    pub body: Option<&'a Value>,
    /// Turns an error answer's body into a message.
    pub describe: fn(&[u8]) -> Option<String>,
}

/// `base` + `prefix` + `path`, refusing an empty, `.` or `..` segment (ids come from the API and
/// the spec: one must not walk elsewhere on the endpoint).
pub fn endpoint_url(
    base: &url::Url,
    prefix: &[&str],
    path: &[&str],
    operation: &'static str,
    endpoint: &str,
) -> PortalResult<url::Url> {
    let invalid = |m: String| PortalError::new(ErrorCategory::Invalid, operation, m);
    if let Some(bad) = path.iter().find(|s| s.is_empty() || **s == "." || **s == "..") {
        return Err(invalid(format!("{bad:?} is not a valid id")));
    }
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| invalid(format!("the {endpoint} cannot be a base URL")))?
        .pop_if_empty()
        .extend(prefix)
        .extend(path);
    Ok(url)
}

/// A 2xx answer's JSON body as `T`.
pub fn decode<T: DeserializeOwned>(operation: &'static str, reply: &Reply) -> PortalResult<T> {
    serde_json::from_slice(&reply.body).map_err(|e| {
        PortalError::new(
            ErrorCategory::Decode,
            operation,
            format!("unexpected answer: {e}"),
        )
    })
}

impl ConsoleShared {
    /// One authenticated call: `authorize` adds the token `token` gives (`true`: a fresh one) to
    /// the request; a 401 gets a fresh token once. A POST creates, so it is not repeated blindly
    /// (the controller looks again on its next pass).
    pub async fn authenticated<F>(
        &self,
        call: Call<'_>,
        token: impl Fn(bool) -> F,
        authorize: fn(reqwest::RequestBuilder, &Secret) -> reqwest::RequestBuilder,
    ) -> PortalResult<Reply>
    where
        F: Future<Output = PortalResult<Secret>>,
    {
        let retry = call.method != Method::POST;
        let send = |token: Secret| {
            let call = &call;
            async move {
                self.send(
                    call.api,
                    call.operation,
                    retry,
                    || {
                        let req = self
                            .http
                            .request(call.method.clone(), call.url.clone())
                            .query(call.query);
                        let req = authorize(req, &token);
                        match call.body {
                            Some(b) => req.json(b),
                            None => req,
                        }
                    },
                    call.describe,
                )
                .await
            }
        };
        match send(token(false).await?).await {
            Err(e) if e.category == ErrorCategory::Unauthorized => send(token(true).await?).await,
            other => other,
        }
    }

    /// Builds the HTTP client like the portal's (no redirects: they would carry tokens elsewhere;
    /// https only unless allowed) and registers the metrics.
    pub fn new(config: ClientConfig, registry: &prometheus::Registry) -> anyhow::Result<Arc<Self>> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .https_only(!config.allow_http)
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .user_agent(concat!("ccs-operator/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &config.extra_ca_bundle {
            let pem = std::fs::read(path)
                .map_err(|e| anyhow::anyhow!("reading CA bundle {}: {e}", path.display()))?;
            builder = builder.tls_certs_merge(reqwest::Certificate::from_pem_bundle(&pem)?);
        }
        let limiter = Limiter::new(config.rate_limit.as_ref(), &config.operation_limits)
            .map_err(|e| anyhow::anyhow!("console client configuration: {e}"))?;
        Ok(Arc::new(Self {
            http: builder.build()?,
            limiter,
            metrics: ConsoleMetrics::register(registry)?,
            config,
        }))
    }

    /// The HTTP client, to build requests.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends the request `build` makes, again after a retryable failure when `retry` (reads and
    /// idempotent writes), with the portal's backoff and `Retry-After` cap. `describe` turns an
    /// error answer's body into a message.
    pub async fn send(
        &self,
        api: &'static str,
        operation: &'static str,
        retry: bool,
        build: impl Fn() -> reqwest::RequestBuilder,
        describe: fn(&[u8]) -> Option<String>,
    ) -> PortalResult<Reply> {
        let policy = &self.config.retry;
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(policy.min_delay)
            .with_max_delay(policy.max_delay)
            .with_max_times(policy.max_retries)
            .with_jitter()
            .build();
        loop {
            let err = match self.attempt(api, operation, build(), describe).await {
                Ok(reply) => return Ok(reply),
                Err(err) if !retry || err.is_terminal() => return Err(err),
                Err(err) => err,
            };
            let Some(delay) = backoff.next() else {
                return Err(err);
            };
            let delay = err
                .retry_after
                .map_or(delay, |ra| ra.min(policy.max_retry_after).max(delay));
            tracing::info!(
                api,
                operation,
                category = err.category.as_str(),
                ?delay,
                "retrying console call"
            );
            self.metrics.retry(api, operation);
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(
        &self,
        api: &'static str,
        operation: &'static str,
        request: reqwest::RequestBuilder,
        describe: fn(&[u8]) -> Option<String>,
    ) -> PortalResult<Reply> {
        self.limiter.acquire(operation).await;
        let start = Instant::now();
        let result = async {
            let resp = request.send().await?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let body = read_capped(resp, self.config.max_response_bytes).await?;
            Ok::<_, ReadError>((status, headers, body))
        }
        .await;
        let (class, outcome) = match result {
            Ok((status, headers, body)) if status.is_success() => {
                (code_class(status.as_u16()), Ok(Reply { headers, body }))
            }
            Ok((status, headers, body)) => {
                let message = if status.is_redirection() {
                    "the endpoint answered a redirect, which the operator never follows; configure the final URL".to_string()
                } else {
                    describe(&body)
                        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string())
                };
                let err = PortalError {
                    category: ErrorCategory::from_status(status.as_u16()),
                    operation,
                    status: Some(status.as_u16()),
                    code: None,
                    message,
                    retry_after: headers
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs),
                };
                (code_class(status.as_u16()), Err(err))
            }
            Err(ReadError::TooLarge) => (
                "too_large",
                Err(PortalError::new(
                    ErrorCategory::TooLarge,
                    operation,
                    format!(
                        "the answer is larger than portal.maxResponseBytes ({} bytes)",
                        self.config.max_response_bytes
                    ),
                )),
            ),
            Err(ReadError::Http(err)) => {
                let (class, category) = if err.is_timeout() {
                    ("timeout", ErrorCategory::Timeout)
                } else {
                    ("transport", ErrorCategory::Transport)
                };
                // Without the URL (its query may name a user) and never headers (tokens).
                let message = err.without_url().to_string();
                (class, Err(PortalError::new(category, operation, message)))
            }
        };
        self.metrics.attempt(api, operation, class, start.elapsed());
        outcome
    }
}
