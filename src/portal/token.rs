//! Bearer token cache: one fetch at a time, refreshed before expiry and on demand after a 401.

use super::config::Secret;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Longest a token is reused, whatever its `expires_in` says: a day.
pub(super) const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

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
            refresh_at: refresh_at(Instant::now(), valid_for),
        });
        Ok(value)
    }
}

/// When a token fetched at `now`, valid for `valid_for`, is refreshed: at most [`MAX_TOKEN_LIFETIME`]
/// later, and never an overflow.
fn refresh_at(now: Instant, valid_for: Duration) -> Instant {
    let valid_for = valid_for.min(MAX_TOKEN_LIFETIME);
    now.checked_add(valid_for).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_lifetime_is_capped_not_an_overflow() {
        let now = Instant::now();
        assert_eq!(refresh_at(now, Duration::MAX), now + MAX_TOKEN_LIFETIME);
        assert_eq!(
            refresh_at(now, Duration::from_secs(60)),
            now + Duration::from_secs(60)
        );
    }
}
