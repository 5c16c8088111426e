//! Pieces every controller shares: errors and their categories, conditions, annotations, backoff.

pub mod annotations;
pub mod backoff;
pub mod conditions;
pub mod driver;
pub mod error;
pub mod finalizer;
pub mod report;
pub mod schedule;

pub use error::{Category, ReconcileError};

/// Field manager of every status write (server-side apply).
pub const FIELD_MANAGER: &str = "ccs-operator";
/// Finalizer of objects whose deletion must clean up portal state.
pub const FINALIZER: &str = "customerspace.io/finalizer";

/// An instant as written in status: RFC 3339, UTC, whole seconds (`2026-11-25T10:00:00Z`).
pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
