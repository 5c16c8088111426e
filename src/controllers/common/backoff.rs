//! Per-object exponential backoff with jitter, reset on success (kube-runtime has none built in).
//!
//! Keys come from object names (user input), so the table is bounded twice over: an entry not
//! touched for [`IDLE_FACTOR`] times the longest delay is dropped (the object was deleted, or
//! stopped failing without a successful reconcile resetting it), and at most [`CAPACITY`]
//! entries are kept, the least recently failed going first. Losing an entry only restarts that
//! object's delays at `min`; no deletion hook is needed.

use backon::{BackoffBuilder, ExponentialBuilder};
use lru::LruCache;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries kept at most (failing objects; well above what one operator manages).
pub const CAPACITY: usize = 50_000;

/// An entry idle for this many times `max` is dropped. A failing object comes back within
/// `2 * max` (the longest delay, jitter included), so a live entry is never idle that long.
pub const IDLE_FACTOR: u32 = 4;

/// Failures of one object and when the last one was recorded.
#[derive(Debug)]
struct Entry {
    failures: usize,
    last: Instant,
}

/// Failure counts per object key.
#[derive(Debug)]
pub struct Backoff {
    failures: Mutex<LruCache<String, Entry>>,
    min: Duration,
    max: Duration,
    idle: Duration,
}

impl Backoff {
    /// Delays grow from `min` and are capped at `max`.
    pub fn new(min: Duration, max: Duration) -> Self {
        Self::with_capacity(min, max, CAPACITY)
    }

    /// Like [`Backoff::new`], keeping at most `capacity` entries.
    pub fn with_capacity(min: Duration, max: Duration, capacity: usize) -> Self {
        Self {
            failures: Mutex::new(super::lru_cache(capacity)),
            min,
            max,
            idle: max.saturating_mul(IDLE_FACTOR),
        }
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, LruCache<String, Entry>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a failure of `key` and returns how long to wait before the next attempt.
    pub fn next_delay(&self, key: &str) -> Duration {
        self.next_delay_at(key, Instant::now())
    }

    fn next_delay_at(&self, key: &str, now: Instant) -> Duration {
        let attempt = {
            let mut failures = self.locked();
            Self::drop_idle(&mut failures, now, self.idle);
            let entry = failures.get_or_insert_mut(key.to_string(), || Entry {
                failures: 0,
                last: now,
            });
            entry.failures = entry.failures.saturating_add(1);
            entry.last = now;
            entry.failures
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

    /// Drops the entries idle for longer than `idle`. Every touch moves an entry to the front and
    /// sets its time, so the least recently used entry is also the oldest: stop at the first
    /// fresh one (each call costs the entries it drops).
    fn drop_idle(failures: &mut LruCache<String, Entry>, now: Instant, idle: Duration) {
        while failures
            .peek_lru()
            .is_some_and(|(_, e)| now.saturating_duration_since(e.last) > idle)
        {
            failures.pop_lru();
        }
    }

    /// Forgets the failures of `key` (after a successful reconcile or a deletion).
    pub fn reset(&self, key: &str) {
        self.locked().pop(key);
    }

    /// Entries held (objects whose failures are remembered).
    pub fn len(&self) -> usize {
        self.locked().len()
    }

    /// Whether no failure is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        assert_eq!(backoff.len(), 2);
        backoff.reset("ns/a");
        backoff.reset("ns/b");
        assert!(backoff.is_empty(), "a success forgets the object");
    }

    #[test]
    fn entries_of_objects_that_stopped_failing_are_dropped_when_idle() {
        let max = Duration::from_secs(10);
        let backoff = Backoff::new(Duration::from_secs(1), max);
        let start = Instant::now();
        // Thousands of objects fail once, then are deleted (no success resets them).
        for i in 0..1000 {
            backoff.next_delay_at(&format!("BudgetAlert/ns/gone-{i}"), start);
        }
        // One object keeps failing, coming back within its delays.
        let mut now = start;
        for _ in 0..10 {
            now += max;
            backoff.next_delay_at("BudgetAlert/ns/failing", now);
        }
        assert_eq!(backoff.len(), 1, "only the object still failing is remembered");
        let delay = backoff.next_delay_at("BudgetAlert/ns/failing", now + max);
        assert!(delay >= max, "its backoff was kept: {delay:?}");
    }

    #[test]
    fn the_table_never_holds_more_than_its_capacity() {
        let backoff = Backoff::with_capacity(Duration::from_secs(1), Duration::from_secs(60), 100);
        let now = Instant::now();
        for i in 0..10_000 {
            backoff.next_delay_at(&format!("ns/{i}"), now);
        }
        assert_eq!(backoff.len(), 100);
        // The most recent failures are the ones kept.
        let delay = backoff.next_delay_at("ns/9999", now);
        assert!(delay >= Duration::from_secs(2), "{delay:?}");
    }
}
