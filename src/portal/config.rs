//! Client configuration and credentials.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub use ccs_portal_model::{Credentials, Secret};

/// A token bucket: sustained calls per second and burst size.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// Sustained calls per second (> 0).
    pub per_second: f64,
    /// Calls allowed at once after a quiet period (>= 1).
    #[serde(default = "one")]
    pub burst: u32,
}

fn one() -> u32 {
    1
}

/// Retry behaviour of safe calls.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RetryPolicy {
    /// Attempts after the first one.
    pub max_retries: usize,
    /// First backoff delay.
    #[serde(with = "millis")]
    pub min_delay: Duration,
    /// Largest backoff delay.
    #[serde(with = "millis")]
    pub max_delay: Duration,
    /// Largest `Retry-After` honoured (a hostile header must not park a worker for hours).
    #[serde(with = "millis")]
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// Client settings shared by every credential (see `PortalShared`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClientConfig {
    /// TCP + TLS connect timeout.
    #[serde(with = "millis")]
    pub connect_timeout: Duration,
    /// Whole request timeout (one attempt).
    #[serde(with = "millis")]
    pub request_timeout: Duration,
    /// Retry behaviour.
    pub retry: RetryPolicy,
    /// Limit for every call together; `None`: unlimited.
    pub rate_limit: Option<RateLimit>,
    /// Extra limits per operation name (such as `submit_request`), applied on top of the global one.
    pub operation_limits: BTreeMap<String, RateLimit>,
    /// Attempts on the wire at once, for every client together; `None`: unlimited. Callers beyond
    /// it wait their turn (after the rate limiter), so the portal never sees more in flight.
    pub max_concurrent_calls: Option<usize>,
    /// Refresh the token this long before it expires.
    #[serde(with = "millis")]
    pub token_refresh_margin: Duration,
    /// PEM bundle of extra CA certificates trusted besides the system ones.
    pub extra_ca_bundle: Option<PathBuf>,
    /// `Accept-Language` sent on every call.
    pub language: super::Language,
    /// Allow plain `http` base URLs (only for endpoints the operator marks `allowInsecure`);
    /// otherwise the client speaks https only.
    pub allow_http: bool,
    /// Largest answer body read; a larger one fails with [`super::ErrorCategory::TooLarge`].
    pub max_response_bytes: u64,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(20),
            retry: RetryPolicy::default(),
            rate_limit: Some(RateLimit {
                per_second: 20.0,
                burst: 10,
            }),
            operation_limits: BTreeMap::new(),
            max_concurrent_calls: None,
            token_refresh_margin: Duration::from_secs(60),
            extra_ca_bundle: None,
            language: super::Language::En,
            allow_http: false,
            max_response_bytes: 8 * 1024 * 1024,
        }
    }
}

/// Durations as integer milliseconds in configuration files.
mod millis {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}
