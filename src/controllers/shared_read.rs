//! A per-contract read cache shared by every object of a contract: one read per poll interval,
//! single-flight (concurrent callers wait for the read in flight), patched after our own writes.

use std::collections::HashMap;
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

type Slot<T> = Arc<tokio::sync::Mutex<Option<Cached<T>>>>;

/// Cached reads keyed by `endpoint|contract id`.
pub struct SharedRead<T> {
    slots: Mutex<HashMap<String, Slot<T>>>,
}

impl<T> Default for SharedRead<T> {
    fn default() -> Self {
        Self {
            slots: Mutex::default(),
        }
    }
}

impl<T: Clone> SharedRead<T> {
    fn slot(&self, key: &str) -> Slot<T> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.entry(key.to_string()).or_default().clone()
    }

    /// The cached value when younger than `max_age`, else the result of `fetch` (cached on success).
    pub async fn get<E, F, Fut>(&self, key: &str, max_age: Duration, fetch: F) -> Result<Arc<T>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let slot = self.slot(key);
        let mut guard = slot.lock().await;
        if let Some(cached) = guard.as_ref().filter(|c| c.fetched_at.elapsed() < max_age) {
            return Ok(cached.value.clone());
        }
        let value = Arc::new(fetch().await?);
        *guard = Some(Cached {
            value: value.clone(),
            fetched_at: Instant::now(),
        });
        Ok(value)
    }

    /// Applies our own write to the cached value (keeping its age), so the next object of the
    /// contract sees it without another read.
    pub async fn update(&self, key: &str, change: impl FnOnce(&mut T)) {
        let slot = self.slot(key);
        let mut guard = slot.lock().await;
        if let Some(cached) = guard.as_mut() {
            // In place unless a reader still holds this version (then that reader keeps it): a
            // copy per write made adding N users to a contract cost N^2.
            change(Arc::make_mut(&mut cached.value));
        }
    }

    /// Forgets the cached value (the next caller reads again).
    pub fn invalidate(&self, key: &str) {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
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
        cache.invalidate("k");
        assert!(
            cache
                .get("k", Duration::from_secs(60), || async { Err::<Vec<u32>, ()>(()) })
                .await
                .is_err()
        );
    }
}
