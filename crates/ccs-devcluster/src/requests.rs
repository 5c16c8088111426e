//! Requests served, counted per `User-Agent`, so a benchmark can tell the operator's load on the
//! API server from its own.

use axum::http::{HeaderMap, header};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Agent name recorded for requests without a `User-Agent` header.
pub const NO_AGENT: &str = "(none)";

/// Counters of the requests the HTTP handler received (health checks included).
#[derive(Debug, Default)]
pub struct RequestCounter {
    total: AtomicU64,
    by_agent: Mutex<HashMap<String, u64>>,
}

impl RequestCounter {
    /// Counts one request.
    pub fn record(&self, headers: &HeaderMap) {
        self.total.fetch_add(1, Ordering::Relaxed);
        let agent = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(NO_AGENT);
        if let Ok(mut map) = self.by_agent.lock() {
            match map.get_mut(agent) {
                Some(n) => *n += 1,
                None => {
                    map.insert(agent.to_string(), 1);
                }
            }
        }
    }

    /// Requests received so far.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Requests received so far per `User-Agent` ([`NO_AGENT`] for none).
    pub fn by_agent(&self) -> BTreeMap<String, u64> {
        self.by_agent
            .lock()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default()
    }
}
