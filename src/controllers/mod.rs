//! One controller per kind, each a pipeline: observe -> plan (pure) -> apply -> status.

pub mod budget_alert;
pub mod claims;
pub mod cloud_contract;
pub mod common;
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
