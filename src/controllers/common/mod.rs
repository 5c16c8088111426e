//! Pieces every controller shares: errors and their categories, conditions, annotations, backoff.

pub mod annotations;
pub mod backoff;
pub mod conditions;
pub mod driver;
pub mod error;
pub mod events;
pub mod finalizer;
pub mod health;
pub mod report;
pub mod schedule;

pub use error::{Category, ReconcileError};

/// Field manager of every status write (server-side apply).
pub const FIELD_MANAGER: &str = "ccs-operator";
/// Finalizer of objects whose deletion must clean up portal state.
pub const FINALIZER: &str = "customerspace.io/finalizer";

/// `text` cut to at most `max` characters (the CRD's `maxLength` counts characters), ending in
/// `...` when cut: portal text copied into status must never make a status write fail.
pub fn bounded(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(3)).collect();
    cut.push_str("...");
    cut
}

/// A stable, short digest of an external value (`h` plus 32 hex digits of its SHA-256): safe to
/// put in a Message-ID or a status key whatever the portal sent, and the same across restarts and
/// releases.
pub fn digest(text: &str) -> String {
    let hash = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let hex: String = hash.as_ref()[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("h{hex}")
}

/// The key under which an external id is remembered in status: the id itself when it is short
/// and plain, else its [`digest`].
pub fn id_key(id: &str) -> String {
    let plain = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if plain { id.to_string() } else { digest(id) }
}

/// A count written in status (an `int32` in the CRD), saturating instead of wrapping.
pub fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// An instant as written in status: RFC 3339, UTC, whole seconds (`2026-11-25T10:00:00Z`).
pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// An LRU map keeping at most `capacity` entries (at least one): every table keyed by user input
/// is bounded with one.
/// It grows with use: nothing is reserved for the capacity up front (`LruCache::new` would reserve
/// it all, 2 MB for a bound of 100,000).
pub fn lru_cache<K: std::hash::Hash + Eq, V>(capacity: usize) -> lru::LruCache<K, V> {
    let mut cache = lru::LruCache::unbounded();
    cache.resize(std::num::NonZeroUsize::new(capacity).unwrap_or(std::num::NonZeroUsize::MIN));
    cache
}
