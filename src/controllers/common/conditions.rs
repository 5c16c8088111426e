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

/// The conditions of one status, stamped with the generation observed and the time of this
/// reconcile: `conditions::on(&mut status.conditions, generation, now).set("Ready", Some(true), reason, message)`.
pub struct Stamped<'a> {
    conditions: &'a mut Vec<Condition>,
    generation: Option<i64>,
    now: chrono::DateTime<chrono::Utc>,
}

/// Starts setting conditions on `conditions` for `generation` at `now`.
pub fn on(
    conditions: &mut Vec<Condition>,
    generation: Option<i64>,
    now: chrono::DateTime<chrono::Utc>,
) -> Stamped<'_> {
    Stamped {
        conditions,
        generation,
        now,
    }
}

impl Stamped<'_> {
    /// Sets (or adds) the condition `type_`. The transition time moves only when the status
    /// changes, so a steady state writes identical conditions and the API server sees a no-op.
    pub fn set(&mut self, type_: &str, status: Option<bool>, reason: &str, message: &str) -> &mut Self {
        let status = status_str(status);
        let transition = match find(self.conditions, type_) {
            Some(old) if old.status == status => old.last_transition_time.clone(),
            _ => to_time(self.now),
        };
        let condition = Condition {
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            message: message.into(),
            observed_generation: self.generation,
            last_transition_time: transition,
        };
        match self.conditions.iter_mut().find(|c| c.type_ == type_) {
            Some(slot) => *slot = condition,
            None => self.conditions.push(condition),
        }
        self
    }
}

/// A Kubernetes `Time` (whole seconds, as the API server stores it) from a chrono instant.
pub fn to_time(now: chrono::DateTime<chrono::Utc>) -> Time {
    Time(
        k8s_openapi::jiff::Timestamp::from_second(now.timestamp())
            .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
    )
}

/// The condition `type_`, if set.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Whether the condition `type_` is set and `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    find(conditions, type_).is_some_and(|c| c.status == "True")
}

/// The condition's status as a bounded label: `True`, `False` or `Unknown` (also when unset).
pub fn status_label(conditions: &[Condition], type_: &str) -> &'static str {
    match find(conditions, type_).map(|c| c.status.as_str()) {
        Some("True") => "True",
        Some("False") => "False",
        _ => "Unknown",
    }
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
        on(&mut conditions, Some(1), t0).set("Ready", Some(false), "Pending", "waiting");
        on(&mut conditions, Some(2), t1).set("Ready", Some(false), "Unavailable", "portal down");
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0].last_transition_time, to_time(t0));
        assert_eq!(
            (conditions[0].reason.as_str(), conditions[0].observed_generation),
            ("Unavailable", Some(2))
        );
        on(&mut conditions, Some(2), t1).set("Ready", Some(true), "Synced", "ok");
        assert_eq!(conditions[0].last_transition_time, to_time(t1));
        assert!(is_true(&conditions, "Ready"));
    }
}
