//! Fault injection per route: errors, 429 bursts, latency, hangs, commit-then-fail and hostile data.

use super::calllog::FaultApplied;
use super::errors::ApiError;
use super::server::App;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// What a fault does.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum FaultKind {
    /// Answer `status` (default 503) without doing anything.
    Error {
        /// HTTP status.
        #[serde(default = "default_status")]
        status: u16,
    },
    /// Answer 429 with `Retry-After`.
    RateLimit {
        /// Seconds in `Retry-After`.
        #[serde(default = "one")]
        retry_after_seconds: u64,
    },
    /// Delay the answer by `ms` plus up to `jitterMs`.
    Latency {
        /// Fixed delay.
        ms: u64,
        /// Random extra delay.
        #[serde(default)]
        jitter_ms: u64,
    },
    /// Never answer in time (sleeps `seconds`, then 504).
    Hang {
        /// How long to hold the call.
        #[serde(default = "thirty")]
        seconds: u64,
    },
    /// Apply the write, then answer 500 (`timeout: false`) or hang for `seconds` first.
    CommitThenFail {
        /// Hang instead of answering 500 at once.
        #[serde(default)]
        timeout: bool,
        /// Hang duration when `timeout`.
        #[serde(default = "thirty")]
        seconds: u64,
    },
    /// Answer normally, with the JSON body rewritten into hostile but well-formed data
    /// (see [`super::hostile`]).
    HostileData {
        /// What to rewrite.
        case: super::hostile::HostileCase,
        /// Length of the lists `HugeLists` grows.
        #[serde(default = "ten_thousand")]
        items: usize,
    },
}

fn ten_thousand() -> usize {
    10_000
}

fn default_status() -> u16 {
    503
}
fn one() -> u64 {
    1
}
fn thirty() -> u64 {
    30
}
fn always() -> f64 {
    1.0
}

/// A fault on some routes.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    /// HTTP method to match; absent: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Route template as in the OpenAPI document, `*` for every route, or a prefix ending in `*`.
    pub route: String,
    /// The fault.
    pub fault: FaultKind,
    /// Probability per matching call.
    #[serde(default = "always")]
    pub rate: f64,
    /// How many times at most; absent: unlimited (a burst of 3 429s is `count: 3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

impl FaultRule {
    fn matches(&self, method: &str, route: &str) -> bool {
        let method_ok = self
            .method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method));
        let route_ok = match self.route.strip_suffix('*') {
            Some(prefix) => route.starts_with(prefix),
            None => self.route == route,
        };
        method_ok && route_ok
    }
}

/// The active rules and the dice.
pub struct Faults {
    rules: Vec<FaultRule>,
    rng: fastrand::Rng,
}

impl Faults {
    /// No faults; dice seeded for repeatable runs.
    pub fn new(seed: u64) -> Self {
        Self {
            rules: vec![],
            rng: fastrand::Rng::with_seed(seed),
        }
    }
    /// Replaces the rules.
    pub fn set(&mut self, rules: Vec<FaultRule>) {
        self.rules = rules;
    }
    /// The rules, with remaining counts.
    pub fn rules(&self) -> Vec<FaultRule> {
        self.rules.clone()
    }

    /// Rolls the dice for a call; consumes counts of the rules that fire.
    fn plan(&mut self, method: &str, route: &str) -> Vec<FaultKind> {
        let mut fired = vec![];
        for rule in self.rules.iter_mut().filter(|r| r.matches(method, route)) {
            if rule.count == Some(0) || self.rng.f64() >= rule.rate {
                continue;
            }
            if let Some(n) = rule.count.as_mut() {
                *n -= 1;
            }
            fired.push(rule.fault.clone());
        }
        fired
    }
}

/// Longest delay a fault may impose, so a typo cannot park a connection for days.
const MAX_DELAY: Duration = Duration::from_secs(3600);

fn capped(d: Duration) -> Duration {
    d.min(MAX_DELAY)
}

fn tagged(mut resp: Response, name: &str) -> Response {
    resp.extensions_mut().insert(FaultApplied(name.to_string()));
    resp
}

/// Middleware applying the faults that fire for this call.
pub async fn inject(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    // Decide under the lock, act after releasing it.
    let fired = app
        .faults
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .plan(req.method().as_str(), &route);
    if fired.is_empty() {
        return next.run(req).await;
    }
    let mut commit_then_fail = None;
    let mut hostile = None;
    for fault in fired {
        match fault {
            FaultKind::Latency { ms, jitter_ms } => {
                let jitter = if jitter_ms > 0 {
                    fastrand::u64(0..=jitter_ms)
                } else {
                    0
                };
                tokio::time::sleep(capped(Duration::from_millis(ms.saturating_add(jitter)))).await;
            }
            FaultKind::Error { status } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                return tagged(ApiError::injected(status, None).into_response(), "Error");
            }
            FaultKind::RateLimit { retry_after_seconds } => {
                let err = ApiError::injected(StatusCode::TOO_MANY_REQUESTS, Some(retry_after_seconds));
                return tagged(err.into_response(), "RateLimit");
            }
            FaultKind::Hang { seconds } => {
                tokio::time::sleep(capped(Duration::from_secs(seconds))).await;
                return tagged(
                    ApiError::injected(StatusCode::GATEWAY_TIMEOUT, None).into_response(),
                    "Hang",
                );
            }
            FaultKind::CommitThenFail { timeout, seconds } => commit_then_fail = Some((timeout, seconds)),
            FaultKind::HostileData { case, items } => hostile = Some((case, items)),
        }
    }
    let resp = next.run(req).await;
    let resp = match hostile {
        Some((case, items)) => tagged(super::hostile::rewrite(resp, case, items).await, "HostileData"),
        None => resp,
    };
    match commit_then_fail {
        None => resp,
        Some((timeout, seconds)) => {
            if timeout {
                tokio::time::sleep(capped(Duration::from_secs(seconds))).await;
            }
            let err = ApiError::injected(StatusCode::INTERNAL_SERVER_ERROR, None);
            tagged(err.into_response(), "CommitThenFail")
        }
    }
}
