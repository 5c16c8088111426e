//! Bearer token cache: one fetch at a time, refreshed before expiry and on demand after a 401.

use super::config::Secret;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// A token and when it stops being usable.
#[derive(Clone)]
pub(super) struct CachedToken {
    pub(super) value: Secret,
    pub(super) refresh_at: Instant,
}

/// The cache. The async mutex makes concurrent callers wait for one fetch instead of each fetching.
#[derive(Default)]
pub(super) struct TokenCache {
    inner: Mutex<Option<CachedToken>>,
}

impl TokenCache {
    /// Returns a valid token, fetching one with `fetch` when none is cached, when the cached one is
    /// due for refresh, or when it is `rejected` (the value a 401 came back with).
    pub(super) async fn get<F, Fut, E>(&self, rejected: Option<&Secret>, fetch: F) -> Result<Secret, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(Secret, Duration), E>>,
    {
        let mut guard = self.inner.lock().await;
        if let Some(token) = guard.as_ref() {
            // Another caller may already have replaced the rejected token: reuse theirs.
            let stale = rejected.is_some_and(|r| *r == token.value);
            if !stale && Instant::now() < token.refresh_at {
                return Ok(token.value.clone());
            }
        }
        let (value, valid_for) = fetch().await?;
        *guard = Some(CachedToken {
            value: value.clone(),
            refresh_at: Instant::now() + valid_for,
        });
        Ok(value)
    }
}
