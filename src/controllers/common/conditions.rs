//! Standard Kubernetes conditions: set one, keeping `lastTransitionTime` when the status is unchanged.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// `True`, `False` or `Unknown`.
pub fn status_str(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "True",
        Some(false) => "False",
        None => "Unknown",
    }
}

/// Sets (or adds) the condition `type_`. The transition time moves only when the status changes,
/// so a steady state writes identical conditions and the API server sees a no-op.
pub fn set(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: Option<bool>,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: chrono::DateTime<chrono::Utc>,
) {
    let status = status_str(status);
    let transition = match conditions.iter().find(|c| c.type_ == type_) {
        Some(old) if old.status == status => old.last_transition_time.clone(),
        _ => to_time(now),
    };
    let condition = Condition {
        type_: type_.into(),
        status: status.into(),
        reason: reason.into(),
        message: message.into(),
        observed_generation: generation,
        last_transition_time: transition,
    };
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(slot) => *slot = condition,
        None => conditions.push(condition),
    }
}

/// A Kubernetes `Time` (whole seconds, as the API server stores it) from a chrono instant.
pub fn to_time(now: chrono::DateTime<chrono::Utc>) -> Time {
    Time(
        k8s_openapi::jiff::Timestamp::from_second(now.timestamp())
            .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
    )
}

/// The status of condition `type_`, if set.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    conditions.iter().any(|c| c.type_ == type_ && c.status == "True")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn transition_time_moves_only_when_the_status_changes() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).single().expect("time");
        let t1 = Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).single().expect("time");
        let mut conditions = Vec::new();
        set(
            &mut conditions,
            "Ready",
            Some(false),
            "Pending",
            "waiting",
            Some(1),
            t0,
        );
        set(
            &mut conditions,
            "Ready",
            Some(false),
            "Unavailable",
            "portal down",
            Some(2),
            t1,
        );
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0].last_transition_time, to_time(t0));
        assert_eq!(
            (conditions[0].reason.as_str(), conditions[0].observed_generation),
            ("Unavailable", Some(2))
        );
        set(&mut conditions, "Ready", Some(true), "Synced", "ok", Some(2), t1);
        assert_eq!(conditions[0].last_transition_time, to_time(t1));
        assert!(is_true(&conditions, "Ready"));
    }
}
