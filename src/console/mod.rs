//! Clients of the technical consoles behind a contract: the Flexible Engine IAM (Keystone v3) and
//! the FCA console (VMware Cloud Director CloudAPI).
//!
//! They reuse the portal client's machinery ([`crate::portal`]): the same timeouts, retry policy
//! (safe calls only), token-bucket rate limiter, body cap, no redirects, https unless the
//! operator allows plain http for an endpoint, and redacted secrets. Their metrics carry an `api`
//! label (`keystone`, `clouddirector`).

pub mod clouddirector;
pub mod keystone;
mod metrics;
mod shared;

pub use clouddirector::{CloudDirector, VcdCredentials};
pub use keystone::{Keystone, KeystoneCredentials};
pub use metrics::ConsoleMetrics;
pub use shared::ConsoleShared;

use crate::config::{AllowedEndpoint, RateLimit};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `console` in the operator configuration.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Keystone v3 base URLs (such as
    /// `https://iam.eu-west-0.prod-cloud-ocb.orange-business.com/v3`) a ConsoleAccess's
    /// `flexibleEngine.identityEndpoint` may name. Empty: ConsoleAccess is refused with
    /// `EndpointNotAllowed` and nothing is sent.
    pub identity_endpoints: Vec<AllowedEndpoint>,
    /// Cloud Director base URLs (before `/cloudapi`, such as `https://console1.cloudavenue.orange-business.com`)
    /// a ConsoleAccess's `fca.endpoint` may name. Empty: FCA ConsoleAccess is refused with
    /// `EndpointNotAllowed` and nothing is sent.
    pub cloud_director_endpoints: Vec<AllowedEndpoint>,
    /// One token bucket shared by every console call.
    pub rate_limit: RateLimit,
    /// How long Flexible Engine takes at most to apply an IAM change (it says 15 to 30 minutes):
    /// `status.effectiveAfter` is the last change plus this.
    #[serde(with = "humantime_serde")]
    pub propagation_delay: Duration,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            identity_endpoints: Vec::new(),
            cloud_director_endpoints: Vec::new(),
            rate_limit: RateLimit {
                requests_per_second: 10.0,
                burst: 20,
            },
            propagation_delay: Duration::from_secs(30 * 60),
        }
    }
}

impl ConsoleConfig {
    /// The identity endpoint allowlist (https unless marked `allowInsecure`).
    pub fn identity_policy(&self) -> anyhow::Result<crate::portal::EndpointPolicy> {
        let entries = self
            .identity_endpoints
            .iter()
            .map(|a| (a.url.clone(), a.allow_insecure));
        crate::portal::EndpointPolicy::new(entries)
            .map_err(|e| anyhow::anyhow!("console.identityEndpoints: {e}"))
    }

    /// The Cloud Director endpoint allowlist (https unless marked `allowInsecure`).
    pub fn cloud_director_policy(&self) -> anyhow::Result<crate::portal::EndpointPolicy> {
        let entries = self
            .cloud_director_endpoints
            .iter()
            .map(|a| (a.url.clone(), a.allow_insecure));
        crate::portal::EndpointPolicy::new(entries)
            .map_err(|e| anyhow::anyhow!("console.cloudDirectorEndpoints: {e}"))
    }

    /// The HTTP settings: the portal's timeouts, retries, CA bundle and body cap, this section's
    /// rate limit, and plain http only when an allowed console endpoint says so.
    pub fn client_config(&self, portal: &crate::config::PortalConfig) -> crate::portal::ClientConfig {
        let base = portal.client_config();
        crate::portal::ClientConfig {
            rate_limit: Some(crate::portal::RateLimit {
                per_second: self.rate_limit.requests_per_second,
                burst: self.rate_limit.burst.max(1),
            }),
            operation_limits: Default::default(),
            allow_http: self.identity_policy().is_ok_and(|p| p.any_insecure())
                || self.cloud_director_policy().is_ok_and(|p| p.any_insecure()),
            ..base
        }
    }
}
