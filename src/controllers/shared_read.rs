//! A per-contract read cache shared by every object of a contract: one read per poll interval,
//! single-flight (concurrent callers wait for the read in flight), patched after our own writes.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One cached read and when it was made.
#[derive(Clone, Debug)]
pub struct Cached<T> {
    /// The value read.
    pub value: Arc<T>,
    /// When it was read.
    pub fetched_at: Instant,
}

/// One key's entry: the read in flight (single-flight) apart from the value, so that the value
/// stays readable while it is being refreshed.
struct SlotState<T> {
    flight: tokio::sync::Mutex<()>,
    value: Mutex<Option<Cached<T>>>,
}

impl<T> Default for SlotState<T> {
    fn default() -> Self {
        Self {
            flight: tokio::sync::Mutex::new(()),
            value: Mutex::new(None),
        }
    }
}

impl<T> SlotState<T> {
    fn value(&self) -> std::sync::MutexGuard<'_, Option<Cached<T>>> {
        self.value.lock().unwrap_or_else(|p| p.into_inner())
    }
}

type Slot<T> = Arc<SlotState<T>>;

/// A shared read serves a contract's objects for this many poll intervals. Each object comes back
/// after 0.9 to 1.1 intervals (jitter), and their rounds drift apart; a cache that outlives the
/// jitter keeps it at one read per interval and contract instead of up to two.
pub const SLACK: f64 = 1.2;

/// Entries a cache keeps at most (the least recently used go first).
pub const CAPACITY: usize = 10_000;

/// Cached reads keyed by credential scope and contract id (see
/// [`super::portal_access::cache_key`]); at most [`CAPACITY`] entries, each at most `max_age` old.
pub struct SharedRead<T> {
    slots: Mutex<lru::LruCache<String, Slot<T>>>,
    /// Age cap, whatever the caller asks (the operator's configured poll interval).
    max_age: Duration,
    /// Reports the number of entries (a debug metric).
    size: Option<prometheus::IntGauge>,
}

impl<T: Clone> Default for SharedRead<T> {
    fn default() -> Self {
        Self::new(Duration::MAX, None)
    }
}

impl<T: Clone> SharedRead<T> {
    /// An empty cache whose entries are never older than `poll` (a configured poll interval) times
    /// [`SLACK`]; `size` follows its length.
    pub fn new(poll: Duration, size: Option<prometheus::IntGauge>) -> Self {
        let max_age = Duration::try_from_secs_f64(poll.as_secs_f64() * SLACK).unwrap_or(poll);
        Self {
            slots: Mutex::new(super::common::lru_cache(CAPACITY)),
            max_age,
            size,
        }
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, lru::LruCache<String, Slot<T>>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn report(&self, len: usize) {
        if let Some(size) = &self.size {
            size.set(i64::try_from(len).unwrap_or(i64::MAX));
        }
    }

    fn slot(&self, key: &str) -> Slot<T> {
        let mut slots = self.locked();
        let slot = slots.get_or_insert(key.to_string(), Slot::default).clone();
        self.report(slots.len());
        slot
    }

    /// The cached value when younger than `max_age` (and the cache's own cap), else the result of
    /// `fetch` (cached on success).
    pub async fn get<E, F, Fut>(&self, key: &str, max_age: Duration, fetch: F) -> Result<Arc<T>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        Ok(self.get_cached(key, max_age, fetch).await?.value)
    }

    /// Like [`Self::get`], with the time the value was read.
    pub async fn get_cached<E, F, Fut>(&self, key: &str, max_age: Duration, fetch: F) -> Result<Cached<T>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let max_age = max_age.min(self.max_age);
        let slot = self.slot(key);
        let _flight = slot.flight.lock().await;
        let current = slot.value().clone();
        if let Some(cached) = current.filter(|c| c.fetched_at.elapsed() < max_age) {
            return Ok(cached);
        }
        let cached = Cached {
            value: Arc::new(fetch().await?),
            fetched_at: Instant::now(),
        };
        *slot.value() = Some(cached.clone());
        Ok(cached)
    }

    /// Applies our own write to the cached value (keeping its age), so the next object of the
    /// contract sees it without another read.
    pub async fn update(&self, key: &str, change: impl FnOnce(&mut T)) {
        let slot = self.slot(key);
        let _flight = slot.flight.lock().await;
        if let Some(cached) = slot.value().as_mut() {
            // In place unless a reader still holds this version (then that reader keeps it): a
            // copy per write made adding N users to a contract cost N^2.
            change(Arc::make_mut(&mut cached.value));
        }
    }

    /// Forgets the cached value (the next caller reads again).
    pub fn invalidate(&self, key: &str) {
        let mut slots = self.locked();
        slots.pop(key);
        self.report(slots.len());
    }

    /// Forgets every entry whose key matches (the caches of a deleted object).
    pub fn evict(&self, matches: impl Fn(&str) -> bool) {
        let mut slots = self.locked();
        let gone: Vec<String> = slots
            .iter()
            .filter(|(k, _)| matches(k))
            .map(|(k, _)| k.clone())
            .collect();
        for key in gone {
            slots.pop(&key);
        }
        self.report(slots.len());
    }

    /// The newest cached value among the keys that match, whatever its age, without reading
    /// (the status page shows it with its age). While a key is being read again, its previous
    /// value is returned.
    pub fn peek(&self, matches: impl Fn(&str) -> bool) -> Option<Cached<T>> {
        let slots: Vec<Slot<T>> = self
            .locked()
            .iter()
            .filter(|(k, _)| matches(k))
            .map(|(_, slot)| slot.clone())
            .collect();
        slots
            .iter()
            .filter_map(|slot| slot.value().clone())
            .max_by_key(|cached| cached.fetched_at)
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.locked().len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_callers_share_one_read_and_see_updates() {
        let cache: Arc<SharedRead<Vec<u32>>> = Arc::default();
        let reads = Arc::new(AtomicUsize::new(0));
        let calls = (0..10).map(|_| {
            let cache = cache.clone();
            let reads = reads.clone();
            async move {
                cache
                    .get("k", Duration::from_secs(60), || async {
                        reads.fetch_add(1, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                        Ok::<_, ()>(vec![1])
                    })
                    .await
            }
        });
        for got in futures::future::join_all(calls).await {
            assert_eq!(*got.expect("read"), vec![1]);
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        cache.update("k", |v| v.push(2)).await;
        let got = cache
            .get("k", Duration::from_secs(60), || async { Err::<Vec<u32>, ()>(()) })
            .await;
        assert_eq!(*got.expect("cached"), vec![1, 2]);
        let peeked = cache.peek(|k| k == "k").expect("peeked");
        assert_eq!(*peeked.value, vec![1, 2]);
        assert!(cache.peek(|k| k == "other").is_none());
        cache.invalidate("k");
        assert!(cache.peek(|k| k == "k").is_none());
        assert!(
            cache
                .get("k", Duration::from_secs(60), || async { Err::<Vec<u32>, ()>(()) })
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_refresh_in_flight_leaves_the_previous_value_visible() {
        let cache: Arc<SharedRead<Vec<u32>>> = Arc::default();
        let first = cache.get("k", Duration::from_secs(60), || async { Ok::<_, ()>(vec![1]) });
        assert_eq!(*first.await.expect("read"), vec![1]);
        let (started_tx, started) = tokio::sync::oneshot::channel();
        let (release, release_rx) = tokio::sync::oneshot::channel::<()>();
        let refresh = tokio::spawn({
            let cache = cache.clone();
            async move {
                // Age 0: always read again.
                cache
                    .get("k", Duration::ZERO, || async move {
                        let _ = started_tx.send(());
                        let _ = release_rx.await;
                        Ok::<_, ()>(vec![2])
                    })
                    .await
            }
        });
        started.await.expect("the refresh started");
        let during = cache
            .peek(|k| k == "k")
            .expect("the previous value while refreshing");
        assert_eq!(*during.value, vec![1]);
        let _ = release.send(());
        assert_eq!(*refresh.await.expect("joined").expect("read"), vec![2]);
        assert_eq!(*cache.peek(|k| k == "k").expect("peeked").value, vec![2]);
    }
}
