//! The reqwest implementation: authentication, rate limiting, retries, metrics and tracing.

use super::config::{ClientConfig, Credentials, Secret};
use super::error::{ErrorCategory, PortalError, PortalResult};
use super::limiter::Limiter;
use super::metrics::{PortalMetrics, code_class};
use super::model::{ApiErrorBody, TokenResponse};
use super::token::TokenCache;
use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// What every client of the process shares: connection pool, rate limiter, metrics, settings.
pub struct PortalShared {
    http: reqwest::Client,
    limiter: Limiter,
    /// Permits for calls on the wire (`ClientConfig::max_concurrent_calls`).
    in_flight: Option<tokio::sync::Semaphore>,
    pub(super) metrics: PortalMetrics,
    pub(super) config: ClientConfig,
}

impl PortalShared {
    /// Builds the HTTP client (rustls, the process crypto provider, optional extra CA bundle) and
    /// registers the metrics on `registry` (once per registry: a second registration fails).
    pub fn new(config: ClientConfig, registry: &prometheus::Registry) -> anyhow::Result<Arc<Self>> {
        // No redirects: reqwest would follow them and keep `X-Api-Key` across hosts. https only,
        // unless the operator allows plain http for some endpoint.
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .https_only(!config.allow_http)
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .user_agent(concat!("ccs-operator/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &config.extra_ca_bundle {
            let pem = std::fs::read(path)
                .map_err(|e| anyhow::anyhow!("reading CA bundle {}: {e}", path.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)?;
            anyhow::ensure!(
                !certs.is_empty(),
                "CA bundle {} holds no PEM certificate",
                path.display()
            );
            builder = builder.tls_certs_merge(certs);
        }
        let limiter = Limiter::new(config.rate_limit.as_ref(), &config.operation_limits)
            .map_err(|e| anyhow::anyhow!("portal client configuration: {e}"))?;
        anyhow::ensure!(
            config.max_concurrent_calls != Some(0),
            "portal client configuration: maxConcurrentCalls must be at least 1"
        );
        Ok(Arc::new(Self {
            http: builder.build()?,
            limiter,
            in_flight: config.max_concurrent_calls.map(tokio::sync::Semaphore::new),
            metrics: PortalMetrics::register(registry)?,
            config,
        }))
    }

    /// The settings.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }
}

/// A client bound to one endpoint and one set of credentials. Cheap to create; keeps its token.
pub struct ReqwestPortal {
    pub(super) shared: Arc<PortalShared>,
    /// The base URL; `None` when the configured text is not a usable base URL (every call then
    /// fails with `Invalid`, naming it).
    base_url: Option<url::Url>,
    credentials: Credentials,
    token: TokenCache,
    /// See [`super::CustomerSpace::cache_scope`].
    scope: String,
}

impl std::fmt::Debug for ReqwestPortal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReqwestPortal")
            .field("base_url", &self.base_url)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

/// One HTTP call to make, possibly several times.
pub(super) struct Call<'a> {
    pub(super) operation: &'static str,
    pub(super) method: Method,
    /// Path segments after the base URL's path, unencoded (each is percent-encoded on its own,
    /// so a `/`, `?`, `#` or `..` inside an id never reaches another path).
    pub(super) path: Vec<String>,
    pub(super) query: Vec<(&'a str, String)>,
    pub(super) body: Option<&'a (dyn erased_json::Body + Sync)>,
    /// Safe to repeat: reads and idempotent writes.
    pub(super) retry: bool,
}

/// A successful answer.
pub(super) struct Reply {
    pub(super) headers: HeaderMap,
    pub(super) body: Vec<u8>,
}

/// Lets `Call` hold any serializable body without generics.
pub(super) mod erased_json {
    /// A body serializable to JSON.
    pub trait Body {
        /// The JSON bytes.
        fn to_json(&self) -> serde_json::Result<Vec<u8>>;
    }
    impl<T: serde::Serialize> Body for T {
        fn to_json(&self) -> serde_json::Result<Vec<u8>> {
            serde_json::to_vec(self)
        }
    }
}

impl ReqwestPortal {
    /// A client for `base_url` (scheme, host and port, e.g. `https://portal.example`, optionally a
    /// path prefix).
    pub fn new(shared: Arc<PortalShared>, base_url: impl Into<String>, credentials: Credentials) -> Self {
        let base_url = super::endpoint::parse_base(&base_url.into()).ok();
        Self {
            shared,
            base_url,
            credentials,
            token: TokenCache::default(),
            scope: String::new(),
        }
    }

    /// Names the credential this client was built from (see [`super::CustomerSpace::cache_scope`]).
    pub fn with_cache_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// The credential scope.
    pub(super) fn scope(&self) -> &str {
        &self.scope
    }

    /// A fresh backoff schedule (exponential with jitter).
    fn backoff(&self) -> impl Iterator<Item = Duration> + use<> {
        let retry = &self.shared.config.retry;
        ExponentialBuilder::default()
            .with_min_delay(retry.min_delay)
            .with_max_delay(retry.max_delay)
            .with_max_times(retry.max_retries)
            .with_jitter()
            .build()
    }

    /// Runs `attempt` until it succeeds, fails terminally, or the backoff is exhausted.
    /// `attempt` gets the attempt number (0 first) so callers can look things up before a retry.
    pub(super) async fn with_retries<T, F, Fut>(
        &self,
        operation: &'static str,
        retry: bool,
        mut attempt: F,
    ) -> PortalResult<T>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = PortalResult<T>>,
    {
        let endpoint = self.base_url.as_ref().map(url::Url::as_str).unwrap_or_default();
        let span = tracing::debug_span!("portal", operation, endpoint);
        async move {
            let mut backoff = self.backoff();
            let mut n = 0;
            loop {
                let err = match attempt(n).await {
                    Ok(value) => return Ok(value),
                    Err(err) if !retry || err.is_terminal() => return Err(err),
                    Err(err) => err,
                };
                let Some(delay) = backoff.next() else { return Err(err) };
                // Retry-After is a floor, capped so a hostile header cannot park us for hours.
                let cap = self.shared.config.retry.max_retry_after;
                let delay = err.retry_after.map_or(delay, |ra| ra.min(cap).max(delay));
                tracing::info!(category = err.category.as_str(), status = ?err.status, ?delay, "retrying portal call");
                self.shared.metrics.retry(operation);
                tokio::time::sleep(delay).await;
                n += 1;
            }
        }
        .instrument(span)
        .await
    }

    /// Makes a call with retries (when `call.retry`) and returns the 2xx answer.
    pub(super) async fn send(&self, call: &Call<'_>) -> PortalResult<Reply> {
        self.with_retries(call.operation, call.retry, |_| self.attempt(call))
            .await
    }

    /// One attempt, authenticated; a 401 refreshes the token once and tries again.
    async fn attempt(&self, call: &Call<'_>) -> PortalResult<Reply> {
        self.authenticated(|token| async move { self.exchange(call, Some(&token)).await })
            .await
    }

    /// Runs `exchange` with the cached token; a 401 refreshes the token once and runs it again.
    pub(super) async fn authenticated<T, F, Fut>(&self, mut exchange: F) -> PortalResult<T>
    where
        F: FnMut(Secret) -> Fut,
        Fut: Future<Output = PortalResult<T>>,
    {
        let token = self.token(None).await?;
        match exchange(token.clone()).await {
            Err(err) if err.category == ErrorCategory::Unauthorized => {
                tracing::debug!("token rejected; refreshing once");
                let token = self.token(Some(&token)).await?;
                exchange(token).await
            }
            other => other,
        }
    }

    /// The cached token, or a new one.
    async fn token(&self, rejected: Option<&Secret>) -> PortalResult<Secret> {
        self.token.get(rejected, || self.fetch_token()).await
    }

    async fn fetch_token(&self) -> PortalResult<(Secret, Duration)> {
        let call = Call {
            operation: "token",
            method: Method::POST,
            path: vec!["oauth".into(), "v3".into(), "token".into()],
            query: vec![],
            body: None,
            retry: true,
        };
        // No retry loop here: the caller's loop retries the whole attempt, token included.
        let reply = self.exchange(&call, None).await?;
        let token: TokenResponse = decode("token", &reply.body)?;
        // A hostile or broken `expires_in` (up to u64::MAX) is capped: see `MAX_TOKEN_LIFETIME`.
        let lifetime = Duration::from_secs(token.expires_in).min(super::token::MAX_TOKEN_LIFETIME);
        // Refresh ahead of expiry, but never refresh on every call for short-lived tokens.
        let valid_for = lifetime
            .saturating_sub(self.shared.config.token_refresh_margin)
            .max(lifetime / 2);
        Ok((Secret::new(token.access_token), valid_for))
    }

    /// The URL of a call: the base URL's path, then each segment percent-encoded on its own,
    /// then the query (built by reqwest from pairs).
    fn url(&self, call: &Call<'_>) -> PortalResult<url::Url> {
        let invalid = |message: String| PortalError::new(ErrorCategory::Invalid, call.operation, message);
        let mut url = self
            .base_url
            .clone()
            .ok_or_else(|| invalid("the portal endpoint is not a valid https base URL".into()))?;
        if let Some(bad) = call.path.iter().find(|s| s.is_empty() || *s == "." || *s == "..") {
            return Err(invalid(format!("{bad:?} is not a valid id")));
        }
        url.path_segments_mut()
            .map_err(|()| invalid("the portal endpoint cannot be a base URL".into()))?
            .pop_if_empty()
            .extend(&call.path);
        Ok(url)
    }

    /// The request of a call, once the rate limiter lets it go: URL, API key, language, and the
    /// bearer token (or, without one, the token request's HTTP Basic + form body).
    pub(super) async fn request(
        &self,
        call: &Call<'_>,
        bearer: Option<&Secret>,
    ) -> PortalResult<reqwest::RequestBuilder> {
        let shared = &self.shared;
        if let Some(waited) = shared.limiter.acquire(call.operation).await {
            shared.metrics.rate_limited(call.operation, waited);
        }
        let url = self.url(call)?;
        let mut req = shared
            .http
            .request(call.method.clone(), url)
            .header("X-Api-Key", self.credentials.api_key.expose())
            .header("Accept-Language", shared.config.language.as_str())
            .query(&call.query);
        req = match bearer {
            Some(token) => req.bearer_auth(token.expose()),
            None => req
                .basic_auth(
                    &self.credentials.client_id,
                    Some(self.credentials.client_secret.expose()),
                )
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials"),
        };
        if let Some(body) = call.body {
            let bytes = body.to_json().map_err(|e| {
                PortalError::new(
                    ErrorCategory::Invalid,
                    call.operation,
                    format!("encoding body: {e}"),
                )
            })?;
            req = req.header("Content-Type", "application/json").body(bytes);
        }
        Ok(req)
    }

    /// Sends one HTTP request (after the rate limiter) and records its metrics.
    /// Without a bearer token it is the token request (HTTP Basic + form body).
    async fn exchange(&self, call: &Call<'_>, bearer: Option<&Secret>) -> PortalResult<Reply> {
        let shared = &self.shared;
        let req = self.request(call, bearer).await?;
        // Held until the answer is read.
        let _on_the_wire = OnTheWire::enter(shared).await;
        let start = Instant::now();
        let result = async {
            let resp = req.send().await?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let body = read_capped(resp, shared.config.max_response_bytes).await?;
            Ok::<_, ReadError>((status, headers, body))
        }
        .await;
        match result {
            Ok((status, headers, body)) => {
                shared
                    .metrics
                    .attempt(call.operation, code_class(status.as_u16()), start.elapsed());
                if status.is_success() {
                    Ok(Reply { headers, body })
                } else {
                    Err(http_error(call.operation, status, &headers, &body))
                }
            }
            Err(ReadError::TooLarge) => {
                shared
                    .metrics
                    .attempt(call.operation, "too_large", start.elapsed());
                Err(PortalError::new(
                    ErrorCategory::TooLarge,
                    call.operation,
                    format!(
                        "the answer is larger than portal.maxResponseBytes ({} bytes)",
                        shared.config.max_response_bytes
                    ),
                ))
            }
            Err(ReadError::Http(err)) => {
                let timeout = err.is_timeout();
                shared.metrics.attempt(
                    call.operation,
                    if timeout { "timeout" } else { "transport" },
                    start.elapsed(),
                );
                let category = if timeout {
                    ErrorCategory::Timeout
                } else {
                    ErrorCategory::Transport
                };
                // Without the URL: its query may hold an email address. Never headers either.
                Err(PortalError::new(
                    category,
                    call.operation,
                    err.without_url().to_string(),
                ))
            }
        }
    }
}

/// Why an answer could not be read.
pub(crate) enum ReadError {
    Http(reqwest::Error),
    TooLarge,
}

impl From<reqwest::Error> for ReadError {
    fn from(err: reqwest::Error) -> Self {
        Self::Http(err)
    }
}

/// Reads a body chunk by chunk, failing as soon as it passes `cap` bytes (a hostile endpoint
/// cannot make the process buffer an unbounded answer).
pub(crate) async fn read_capped(mut resp: reqwest::Response, cap: u64) -> Result<Vec<u8>, ReadError> {
    if resp.content_length().is_some_and(|len| len > cap) {
        return Err(ReadError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if (body.len() + chunk.len()) as u64 > cap {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A call on the wire: its concurrency permit and its count in the in-flight gauge, both given
/// back when the call ends, however it ends (a cancelled reconcile drops it mid-call).
pub(super) struct OnTheWire<'a> {
    _permit: Option<tokio::sync::SemaphorePermit<'a>>,
    gauge: prometheus::IntGauge,
}

impl<'a> OnTheWire<'a> {
    /// Waits for a permit (when `maxConcurrentCalls` is set) and counts the call in.
    pub(super) async fn enter(shared: &'a PortalShared) -> Self {
        // The semaphore is never closed, so acquiring cannot fail.
        let permit = match &shared.in_flight {
            Some(permits) => permits.acquire().await.ok(),
            None => None,
        };
        let gauge = shared.metrics.in_flight.clone();
        gauge.inc();
        Self {
            _permit: permit,
            gauge,
        }
    }
}

impl Drop for OnTheWire<'_> {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

/// Builds the error of a non-2xx answer from its JSON body, when there is one.
pub(super) fn http_error(
    operation: &'static str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> PortalError {
    let parsed: Option<ApiErrorBody> = serde_json::from_slice(body).ok();
    let message = match &parsed {
        _ if status.is_redirection() => {
            "the endpoint answered a redirect, which the operator never follows; configure the final URL as the endpoint".to_string()
        }
        Some(b) if b.description.is_empty() => b.message.clone(),
        Some(b) => format!("{}: {}", b.message, b.description),
        None => status.canonical_reason().unwrap_or("error").to_string(),
    };
    PortalError {
        category: ErrorCategory::from_status(status.as_u16()),
        operation,
        status: Some(status.as_u16()),
        code: parsed.map(|b| b.code),
        message,
        retry_after: headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs),
    }
}

/// Decodes a JSON answer; a mismatch is a `Decode` error naming the operation.
pub(super) fn decode<T: serde::de::DeserializeOwned>(
    operation: &'static str,
    body: &[u8],
) -> PortalResult<T> {
    serde_json::from_slice(body).map_err(|e| {
        PortalError::new(
            ErrorCategory::Decode,
            operation,
            format!("unexpected answer: {e}"),
        )
    })
}
