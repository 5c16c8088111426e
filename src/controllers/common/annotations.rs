//! The operator-wide annotations: paused, reconcile-requested-at, poll-interval.

use crate::api::common::{ANNOTATION_PAUSED, ANNOTATION_POLL_INTERVAL, ANNOTATION_RECONCILE_REQUESTED_AT};
use kube::ResourceExt;
use std::time::Duration;

/// Shortest poll interval an annotation may ask for; protects the portal from hot polling.
pub const MIN_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// Whether `customerspace.io/paused: "true"` is set.
pub fn is_paused(obj: &impl ResourceExt) -> bool {
    obj.annotations()
        .get(ANNOTATION_PAUSED)
        .is_some_and(|v| v == "true")
}

/// The value of `customerspace.io/reconcile-requested-at`, to echo into status once handled.
pub fn reconcile_requested_at(obj: &impl ResourceExt) -> Option<String> {
    obj.annotations().get(ANNOTATION_RECONCILE_REQUESTED_AT).cloned()
}

/// Longest poll interval an annotation may ask for. `humantime` accepts up to u64::MAX seconds,
/// which overflows any arithmetic on it; a day is long enough for any real use.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(24 * 3600);

/// The poll interval for this object: the annotation (clamped to [`MIN_POLL_INTERVAL`]..=
/// [`MAX_POLL_INTERVAL`]) or `default`. A malformed value is reported, not silently ignored.
pub fn poll_interval(obj: &impl ResourceExt, default: Duration) -> Result<Duration, String> {
    match obj.annotations().get(ANNOTATION_POLL_INTERVAL) {
        None => Ok(default.min(MAX_POLL_INTERVAL)),
        Some(text) => humantime::parse_duration(text)
            .map(|d| d.clamp(MIN_POLL_INTERVAL, MAX_POLL_INTERVAL))
            .map_err(|e| format!("annotation {ANNOTATION_POLL_INTERVAL}: {text:?} is not a duration such as 30s or 5m ({e})")),
    }
}

/// A sentence for the Ready condition when the poll-interval annotation was clamped, so the
/// object says which interval it really uses.
pub fn poll_interval_note(obj: &impl ResourceExt) -> Option<String> {
    let text = obj.annotations().get(ANNOTATION_POLL_INTERVAL)?;
    let asked = humantime::parse_duration(text).ok()?;
    let (bound, which) = if asked > MAX_POLL_INTERVAL {
        (MAX_POLL_INTERVAL, "maximum")
    } else if asked < MIN_POLL_INTERVAL {
        (MIN_POLL_INTERVAL, "minimum")
    } else {
        return None;
    };
    let shown: String = text.chars().take(40).collect();
    Some(format!(
        "annotation {ANNOTATION_POLL_INTERVAL}: {shown:?} is clamped to the {which} of {}",
        humantime::format_duration(bound)
    ))
}

/// `message`, followed by the poll-interval note when there is one.
pub fn with_poll_interval_note(obj: &impl ResourceExt, message: String) -> String {
    match poll_interval_note(obj) {
        Some(note) => format!("{message}; {note}"),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;

    fn with(key: &str, value: &str) -> ConfigMap {
        let mut cm = ConfigMap::default();
        cm.metadata.annotations = Some([(key.to_string(), value.to_string())].into());
        cm
    }

    #[test]
    fn annotations_are_read_with_floors_and_clear_errors() {
        let default = Duration::from_secs(300);
        assert!(is_paused(&with(ANNOTATION_PAUSED, "true")));
        assert!(!is_paused(&with(ANNOTATION_PAUSED, "yes")));
        assert_eq!(poll_interval(&ConfigMap::default(), default), Ok(default));
        assert_eq!(
            poll_interval(&with(ANNOTATION_POLL_INTERVAL, "2m"), default),
            Ok(Duration::from_secs(120))
        );
        assert_eq!(
            poll_interval(&with(ANNOTATION_POLL_INTERVAL, "1ms"), default),
            Ok(MIN_POLL_INTERVAL)
        );
        assert_eq!(poll_interval_note(&with(ANNOTATION_POLL_INTERVAL, "2m")), None);
        let huge = with(ANNOTATION_POLL_INTERVAL, "580000000000y");
        assert_eq!(poll_interval(&huge, default), Ok(MAX_POLL_INTERVAL));
        let note = poll_interval_note(&huge).expect("clamped");
        assert!(note.contains("maximum of 1day"), "{note}");
        assert!(
            with_poll_interval_note(&with(ANNOTATION_POLL_INTERVAL, "1ms"), "ok".into())
                .contains("minimum of 5s")
        );
        assert!(
            poll_interval(&with(ANNOTATION_POLL_INTERVAL, "often"), default)
                .unwrap_err()
                .contains("poll-interval")
        );
        assert_eq!(
            reconcile_requested_at(&with(ANNOTATION_RECONCILE_REQUESTED_AT, "now")).as_deref(),
            Some("now")
        );
    }
}
