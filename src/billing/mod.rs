//! Billing files: the operator's configuration of destinations, the months they are grouped by,
//! the destinations themselves (S3-compatible object storage, a volume directory), the metrics of
//! `BillingExport`, and the `billing download` command.

pub mod config;

pub mod metrics;
pub mod month;
pub mod s3;
pub mod store;
pub mod volume;

pub use config::BillingConfig;
pub use month::Month;
pub use store::{ObjectInfo, Store, StoreError};
