//! One controller per kind, each a pipeline: observe -> plan (pure) -> apply -> status.

pub mod budget_alert;
pub mod cloud_contract;
pub mod common;
pub mod context;
pub mod portal_access;
pub mod state_metrics;
pub mod stores;
