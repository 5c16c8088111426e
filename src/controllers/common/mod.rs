//! Pieces every controller shares: errors and their categories, conditions, annotations, backoff.

pub mod annotations;
pub mod backoff;
pub mod conditions;
pub mod driver;
pub mod error;
pub mod report;
pub mod schedule;

pub use error::{Category, ReconcileError};

/// Field manager of every status write (server-side apply).
pub const FIELD_MANAGER: &str = "ccs-operator";
/// Finalizer of objects whose deletion must clean up portal state.
pub const FINALIZER: &str = "customerspace.io/finalizer";
