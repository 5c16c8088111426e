//! The kstatus conditions beside `Ready`: `Reconciling` and `Stalled`, always set together, in
//! one place (each kind's status path and the failure path call [`set`]).
//!
//! Following the cli-utils kstatus conventions (which Flux, `kubectl wait` and Argo CD's Lua
//! checks read):
//! - `Reconciling=True` while work is in progress: an order submitted and not final, an
//!   invitation pending, a referenced CloudContract not reconciled yet, a retryable error being
//!   retried with backoff;
//! - `Stalled=True` when the object cannot progress without a change: the terminal error
//!   categories ([`Category::is_terminal`]) and final unsuccessful orders;
//! - both `False` when done, so `kubectl wait --for=condition=Stalled=false` and
//!   `--for=condition=Reconciling=false` terminate.
//!
//! Both conditions carry `observedGeneration` like every other condition.

use super::conditions;
use super::error::{Category, ReconcileError};
use crate::api::portal_user::UserState;
use crate::api::service_order::OrderState;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

/// The `Reconciling` condition type.
pub const RECONCILING: &str = "Reconciling";
/// The `Stalled` condition type.
pub const STALLED: &str = "Stalled";
/// The reason of both conditions when nothing is in progress and nothing is stuck.
pub const RECONCILED: &str = "Reconciled";

/// Where an object stands after a reconcile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress<'a> {
    /// Nothing in progress, nothing stuck.
    Done,
    /// Work in progress: `Reconciling=True` with this reason and message.
    Working(&'a str, &'a str),
    /// Cannot progress without a change: `Stalled=True` with this reason and message.
    Stalled(&'a str, &'a str),
}

impl<'a> Progress<'a> {
    /// The progress a failed reconcile reports: stalled on a terminal category, retrying otherwise.
    pub fn of_error(err: &'a ReconcileError) -> Self {
        if err.is_terminal() {
            Self::Stalled(err.category.as_str(), &err.message)
        } else {
            Self::Working(err.category.as_str(), &err.message)
        }
    }
}

/// A ServiceOrder's progress from its state: in progress until final; a rejected or cancelled
/// order is final without success, so it stalls (a new order is needed).
pub fn order(state: Option<OrderState>, message: &str) -> Progress<'_> {
    match state {
        Some(OrderState::Completed) => Progress::Done,
        Some(OrderState::Rejected) => Progress::Stalled("Rejected", message),
        Some(OrderState::Cancelled) => Progress::Stalled("Cancelled", message),
        Some(OrderState::Submitted) => Progress::Working("Submitted", message),
        Some(OrderState::InProgress) => Progress::Working("InProgress", message),
        Some(OrderState::Pending) | None => Progress::Working("Pending", message),
    }
}

/// A PortalUser's progress from its state: an account not created yet or an invitation not
/// accepted yet is work in progress (the portal, or the person, still has to act).
pub fn user(state: Option<UserState>) -> Progress<'static> {
    match state {
        Some(UserState::Invited) => Progress::Working(
            "InvitationPending",
            "the account is invited; the person has not logged in yet",
        ),
        Some(UserState::Pending) | None => {
            Progress::Working("AccountPending", "the account does not exist in the portal yet")
        }
        Some(UserState::Active | UserState::Disabled | UserState::Failed) => Progress::Done,
    }
}

/// Sets `Reconciling` and `Stalled` for `progress`.
pub fn set(
    conditions: &mut Vec<Condition>,
    generation: Option<i64>,
    now: chrono::DateTime<chrono::Utc>,
    progress: &Progress<'_>,
) {
    let (reconciling, stalled, reason, message) = match *progress {
        Progress::Done => (false, false, RECONCILED, "no work in progress"),
        Progress::Working(reason, message) => (true, false, reason, message),
        Progress::Stalled(reason, message) => (false, true, reason, message),
    };
    let (reconciling_message, stalled_message) = match progress {
        Progress::Done => (message.to_string(), "not stalled".to_string()),
        Progress::Working(..) => (message.to_string(), format!("progressing: {message}")),
        Progress::Stalled(..) => (
            format!("stalled, waiting for a change: {message}"),
            message.to_string(),
        ),
    };
    conditions::on(conditions, generation, now)
        .set(RECONCILING, Some(reconciling), reason, &reconciling_message)
        .set(STALLED, Some(stalled), reason, &stalled_message);
}

/// Whether the conditions already say "waiting for the referenced contract" for `generation`:
/// the quiet [`Category::ReferencePending`] wait then writes nothing.
pub fn already_pending(conditions: &[Condition], generation: Option<i64>) -> bool {
    conditions::find(conditions, RECONCILING).is_some_and(|c| {
        c.status == "True"
            && c.reason == Category::ReferencePending.as_str()
            && c.observed_generation == generation
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn now() -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).single().expect("time")
    }

    fn status_of(c: &[Condition], t: &str) -> (String, String) {
        let c = conditions::find(c, t).expect("set");
        (c.status.clone(), c.reason.clone())
    }

    #[test]
    fn terminal_errors_stall_retryable_errors_reconcile() {
        let mut c = Vec::new();
        let forbidden = ReconcileError::new(Category::Forbidden, "no right");
        set(&mut c, Some(3), now(), &Progress::of_error(&forbidden));
        assert_eq!(status_of(&c, STALLED), ("True".into(), "Forbidden".into()));
        assert_eq!(status_of(&c, RECONCILING), ("False".into(), "Forbidden".into()));
        assert!(c.iter().all(|c| c.observed_generation == Some(3)));

        let down = ReconcileError::new(Category::Unavailable, "portal down");
        set(&mut c, Some(3), now(), &Progress::of_error(&down));
        assert_eq!(status_of(&c, STALLED), ("False".into(), "Unavailable".into()));
        assert_eq!(status_of(&c, RECONCILING), ("True".into(), "Unavailable".into()));

        set(&mut c, Some(3), now(), &Progress::Done);
        assert_eq!(status_of(&c, STALLED), ("False".into(), RECONCILED.into()));
        assert_eq!(status_of(&c, RECONCILING), ("False".into(), RECONCILED.into()));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn every_terminal_category_stalls() {
        for category in [
            Category::SecretNotFound,
            Category::SecretInvalid,
            Category::SecretNotMarked,
            Category::EndpointNotAllowed,
            Category::ResponseTooLarge,
            Category::Unauthorized,
            Category::Forbidden,
            Category::NotFound,
            Category::ReferenceNotFound,
            Category::Conflict,
            Category::DuplicateContract,
            Category::InvalidSpec,
            Category::UnknownCatalogItem,
            Category::InvalidParameters,
        ] {
            let err = ReconcileError::new(category, "x");
            assert!(
                matches!(Progress::of_error(&err), Progress::Stalled(..)),
                "{category}"
            );
        }
        for category in [
            Category::ReferencePending,
            Category::RateLimited,
            Category::Unavailable,
            Category::Timeout,
            Category::Kubernetes,
            Category::EmailFailed,
            Category::Internal,
        ] {
            let err = ReconcileError::new(category, "x");
            assert!(
                matches!(Progress::of_error(&err), Progress::Working(..)),
                "{category}"
            );
        }
    }

    #[test]
    fn a_pending_reference_is_written_once_per_generation() {
        let mut c = Vec::new();
        assert!(!already_pending(&c, Some(1)));
        let err = ReconcileError::new(Category::ReferencePending, "waiting for acme");
        set(&mut c, Some(1), now(), &Progress::of_error(&err));
        assert!(already_pending(&c, Some(1)));
        assert!(!already_pending(&c, Some(2)));
    }
}
