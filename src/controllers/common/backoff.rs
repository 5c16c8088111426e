//! Per-object exponential backoff with jitter, reset on success (kube-runtime has none built in).

use backon::{BackoffBuilder, ExponentialBuilder};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Failure counts per object key.
#[derive(Debug)]
pub struct Backoff {
    failures: Mutex<HashMap<String, usize>>,
    min: Duration,
    max: Duration,
}

impl Backoff {
    /// Delays grow from `min` and are capped at `max`.
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            failures: Mutex::new(HashMap::new()),
            min,
            max,
        }
    }

    /// Records a failure of `key` and returns how long to wait before the next attempt.
    pub fn next_delay(&self, key: &str) -> Duration {
        let attempt = {
            let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
            let n = failures.entry(key.to_string()).or_insert(0);
            *n += 1;
            *n
        };
        ExponentialBuilder::default()
            .with_min_delay(self.min)
            .with_max_delay(self.max)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build()
            .nth(attempt - 1)
            .unwrap_or(self.max)
    }

    /// Forgets the failures of `key` (after a successful reconcile or a deletion).
    pub fn reset(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_are_capped_and_reset() {
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let first = backoff.next_delay("ns/a");
        assert!(
            first >= Duration::from_secs(1) && first <= Duration::from_secs(2),
            "{first:?}"
        );
        let fifth = (0..4).map(|_| backoff.next_delay("ns/a")).last().expect("delay");
        assert!(fifth >= Duration::from_secs(16), "{fifth:?}");
        let capped = (0..20).map(|_| backoff.next_delay("ns/a")).last().expect("delay");
        assert!(
            capped <= Duration::from_secs(120),
            "jitter adds at most one max: {capped:?}"
        );
        assert!(
            backoff.next_delay("ns/b") <= Duration::from_secs(2),
            "keys are independent"
        );
        backoff.reset("ns/a");
        assert!(backoff.next_delay("ns/a") <= Duration::from_secs(2));
    }
}
