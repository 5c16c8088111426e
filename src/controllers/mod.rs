//! One controller per kind, each a pipeline: observe -> plan (pure) -> apply -> status.
//!
//! Where things live:
//! - `<kind>/mod.rs`: the kind's `Reconciled` impl and its `run` (dereference, observe, plan, apply,
//!   status, in that order); `<kind>/plan.rs`: the pure plan with its unit tests in `plan/tests.rs`;
//!   `observe.rs`/`apply.rs` where a kind's observe or apply step outgrew `mod.rs`.
//! - `common/`: the frame of one reconcile, the same for every kind (driver: generic reconcile,
//!   error policy, opening and due gate; errors, conditions, annotations, backoff, finalizer,
//!   status writes).
//! - the files beside it: what the controllers share across objects for the process's life
//!   (`context`, the caches `stores`/`key_index`/`shared_read`/`portal_access`, contract-id
//!   `claims`, the CloudContract `reference` of dependents, `state_metrics`).

pub mod billing_export;
pub mod budget_alert;
pub mod claims;
pub mod cloud_contract;
pub mod common;
pub mod console_access;
pub mod context;
#[cfg(test)]
mod hostile_props;
pub mod key_index;
pub mod portal_access;
pub mod portal_user;
pub mod reference;
pub mod service_order;
pub mod shared_read;
pub mod state_metrics;
pub mod stores;
