//! Billing files: the operator's configuration of destinations, the months they are grouped by,
//! the destinations themselves (S3-compatible object storage, a volume directory), the metrics of
//! `BillingExport`, and the `billing download` command.

pub mod config;
pub mod download;

pub mod metrics;
pub mod month;
pub mod s3;
pub mod store;
pub mod volume;

pub use config::BillingConfig;
pub use month::Month;
pub use store::{ObjectInfo, Store, StoreError, StoreErrorKind};

/// What every BillingExport reconcile shares: the S3 endpoint allowlist, one HTTP client for S3
/// calls, the metrics.
pub struct BillingShared {
    /// `billing.allowedS3Endpoints`.
    pub s3_endpoints: crate::portal::EndpointPolicy,
    /// The HTTP client of S3 calls.
    pub s3_http: reqwest::Client,
    /// `ccs_billing_export_*`.
    pub metrics: metrics::BillingMetrics,
}

impl BillingShared {
    /// Builds it from the configuration, registering the metrics on `registry`.
    pub fn new(config: &BillingConfig, registry: &prometheus::Registry) -> anyhow::Result<Self> {
        let s3_endpoints = config.s3_policy()?;
        Ok(Self {
            s3_http: s3::http_client(s3_endpoints.any_insecure(), config.s3_request_timeout)?,
            s3_endpoints,
            metrics: metrics::BillingMetrics::register(registry)?,
        })
    }
}
