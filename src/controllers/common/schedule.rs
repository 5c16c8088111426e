//! When an object is due: a reconcile triggered by our own status write, or by a related object,
//! must not call the portal again before the poll interval is over.

use chrono::{DateTime, Utc};
use std::time::Duration;

/// What decides whether a reconcile may skip the portal.
#[derive(Clone, Debug, Default)]
pub struct Freshness<'a> {
    /// `Ready=True` in the current status.
    pub ready: bool,
    /// `metadata.generation`.
    pub generation: Option<i64>,
    /// `status.observedGeneration`.
    pub observed_generation: Option<i64>,
    /// The `reconcile-requested-at` annotation.
    pub requested_at: Option<&'a str>,
    /// `status.lastHandledReconcileAt`.
    pub handled_at: Option<&'a str>,
    /// The last successful sync (RFC 3339).
    pub last_sync: Option<&'a str>,
}

/// `Some(wait)` when the last successful sync of an unchanged, ready object is younger than `poll`.
pub fn not_due_for(f: &Freshness<'_>, poll: Duration, now: DateTime<Utc>) -> Option<Duration> {
    let unchanged = f.ready && f.generation == f.observed_generation && f.requested_at == f.handled_at;
    let last = DateTime::parse_from_rfc3339(f.last_sync?)
        .ok()?
        .with_timezone(&Utc);
    let age = now.signed_duration_since(last).to_std().unwrap_or_default();
    (unchanged && age < poll).then(|| poll - age)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unchanged_ready_recent_object_may_wait() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T10:05:00Z")
            .expect("time")
            .with_timezone(&Utc);
        let poll = Duration::from_secs(600);
        let fresh = Freshness {
            ready: true,
            generation: Some(2),
            observed_generation: Some(2),
            last_sync: Some("2026-11-25T10:00:00Z"),
            ..Default::default()
        };
        assert_eq!(not_due_for(&fresh, poll, now), Some(Duration::from_secs(300)));
        assert_eq!(
            not_due_for(
                &Freshness {
                    generation: Some(3),
                    ..fresh.clone()
                },
                poll,
                now
            ),
            None,
            "spec changed"
        );
        assert_eq!(
            not_due_for(
                &Freshness {
                    ready: false,
                    ..fresh.clone()
                },
                poll,
                now
            ),
            None,
            "failing objects retry"
        );
        assert_eq!(
            not_due_for(
                &Freshness {
                    requested_at: Some("x"),
                    ..fresh.clone()
                },
                poll,
                now
            ),
            None,
            "requested"
        );
        assert_eq!(
            not_due_for(&fresh, Duration::from_secs(60), now),
            None,
            "poll elapsed"
        );
    }
}
