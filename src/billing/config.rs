//! `billing:` in the operator configuration: which S3 endpoints a BillingExport may name, where
//! volume destinations live, and the limits of one file.

use crate::config::AllowedEndpoint;
use crate::portal::EndpointPolicy;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// Billing export settings.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct BillingConfig {
    /// S3 endpoints a BillingExport's `destination.s3.endpoint` may name; any other is refused
    /// with `EndpointNotAllowed` and nothing is sent. Empty: no S3 destination is allowed.
    pub allowed_s3_endpoints: Vec<AllowedEndpoint>,
    /// Directory under which volume destinations live (`<root>/<namespace>/<claimName>/<path>`);
    /// unset: no volume destination is allowed.
    pub volume_root: Option<PathBuf>,
    /// Directory for downloads in flight (the system temporary directory when unset).
    pub spool_dir: Option<PathBuf>,
    /// Largest billing file accepted from the portal, in bytes.
    pub max_file_bytes: u64,
    /// Files of one export transferred at the same time.
    pub concurrency: usize,
    /// Timeout of one S3 request (a whole upload included).
    #[serde(with = "humantime_serde")]
    pub s3_request_timeout: Duration,
}

impl Default for BillingConfig {
    fn default() -> Self {
        Self {
            allowed_s3_endpoints: Vec::new(),
            volume_root: None,
            spool_dir: None,
            max_file_bytes: 64 * 1024 * 1024,
            concurrency: 4,
            s3_request_timeout: Duration::from_secs(300),
        }
    }
}

impl BillingConfig {
    /// The S3 endpoint allowlist; an error names the key and the fix.
    pub fn s3_policy(&self) -> anyhow::Result<EndpointPolicy> {
        EndpointPolicy::new(
            self.allowed_s3_endpoints
                .iter()
                .map(|a| (a.url.clone(), a.allow_insecure)),
        )
        .map_err(|e| {
            anyhow::anyhow!(
                "billing.allowedS3Endpoints: {}",
                e.replace("portal.allowedEndpoints", "billing.allowedS3Endpoints")
            )
        })
    }

    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.s3_policy()?;
        anyhow::ensure!(
            self.max_file_bytes >= 1024,
            "billing.maxFileBytes must be at least 1024"
        );
        anyhow::ensure!(
            (1..=64).contains(&self.concurrency),
            "billing.concurrency must be between 1 and 64"
        );
        anyhow::ensure!(
            self.volume_root.as_ref().is_none_or(|r| r.is_absolute()),
            "billing.volumeRoot must be an absolute path"
        );
        Ok(())
    }

    /// Where downloads in flight go.
    pub fn spool(&self) -> PathBuf {
        self.spool_dir.clone().unwrap_or_else(std::env::temp_dir)
    }
}
