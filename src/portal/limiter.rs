//! The shared token-bucket rate limiter: one global bucket plus optional buckets per operation.

use super::config::RateLimit;
use governor::{DefaultDirectRateLimiter, Quota};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

/// Buckets shared by every client of the process, so N contracts cannot multiply the call rate.
pub(crate) struct Limiter {
    global: Option<DefaultDirectRateLimiter>,
    per_operation: HashMap<String, DefaultDirectRateLimiter>,
}

/// Slowest rate a bucket may have: one call every 1000 s. Below it, the period between two calls
/// overflows (or nearly) and nothing would ever be called.
pub const MIN_RATE_PER_SECOND: f64 = 0.001;

fn bucket(limit: &RateLimit) -> Result<DefaultDirectRateLimiter, String> {
    if !(limit.per_second.is_finite() && limit.per_second >= MIN_RATE_PER_SECOND) {
        return Err(format!(
            "rate limit perSecond must be at least {MIN_RATE_PER_SECOND}, got {}",
            limit.per_second
        ));
    }
    let period = Duration::try_from_secs_f64(1.0 / limit.per_second)
        .map_err(|e| format!("rate limit perSecond {}: {e}", limit.per_second))?;
    let burst = NonZeroU32::new(limit.burst).ok_or("rate limit burst must be >= 1")?;
    let quota = Quota::with_period(period)
        .ok_or("rate limit period is zero")?
        .allow_burst(burst);
    Ok(DefaultDirectRateLimiter::direct(quota))
}

impl Limiter {
    /// Builds the buckets; an invalid limit is a configuration error.
    pub(crate) fn new(
        global: Option<&RateLimit>,
        per_operation: &std::collections::BTreeMap<String, RateLimit>,
    ) -> Result<Self, String> {
        Ok(Self {
            global: global.map(bucket).transpose()?,
            per_operation: per_operation
                .iter()
                .map(|(op, limit)| Ok((op.clone(), bucket(limit)?)))
                .collect::<Result<_, String>>()?,
        })
    }

    /// Waits for a token of the operation's bucket, then of the global one.
    /// Returns how long it waited, or `None` when no wait was needed.
    pub(crate) async fn acquire(&self, operation: &str) -> Option<Duration> {
        let start = Instant::now();
        let mut waited = false;
        for bucket in [self.per_operation.get(operation), self.global.as_ref()]
            .into_iter()
            .flatten()
        {
            if bucket.check().is_err() {
                waited = true;
                bucket.until_ready().await;
            }
        }
        waited.then(|| start.elapsed())
    }
}
