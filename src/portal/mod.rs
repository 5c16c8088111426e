//! Client side of the Customer Space API: the trait controllers use, its models, its errors, and
//! the resilient reqwest implementation.
//!
//! Build one [`PortalShared`] per process (HTTP pool, rate limiter, metrics) and one
//! [`ReqwestPortal`] per set of credentials (it owns that credential's token cache) and hand the
//! controllers an `Arc<dyn CustomerSpace>`. Reads shared by every object of a contract are
//! single-flight in `controllers::shared_read`, the one read cache.

mod config;
mod download;
pub mod endpoint;
mod error;
pub(crate) mod http;
pub(crate) mod limiter;
pub(crate) mod metrics;
mod ops;
mod token;

/// Wire models of the Customer Space API, shared with the simulator.
pub use ccs_portal_model as model;

pub use config::{ClientConfig, Credentials, RateLimit, RetryPolicy, Secret};
pub use download::{BillingFile, Downloaded, hex};
pub use endpoint::EndpointPolicy;
pub use error::{ErrorCategory, PortalError, PortalResult};
pub use http::{PortalShared, ReqwestPortal};
pub use limiter::MIN_RATE_PER_SECOND;
pub use metrics::PortalMetrics;
pub use model::*;

use async_trait::async_trait;

/// Names of the portal operations: the `operation` metric label and the keys of
/// `portal.operationRateLimits`.
pub const OPERATIONS: &[&str] = &[
    "token",
    "list_contracts",
    "get_contract",
    "dashboard",
    "change_referent",
    "list_users",
    "find_account",
    "add_user",
    "set_access",
    "remove_access",
    "delete_account",
    "send_invitation",
    "consumption",
    "platform_status",
    "list_bills",
    "bill_pdf",
    "billing_report",
    "list_catalog",
    "submit_request",
    "get_request",
    "find_request",
    "cancel_request",
    "list_requests",
];

/// The operation named `name` (snake_case, or the camelCase spelling such as `submitRequest`);
/// an unknown name is an error suggesting the closest one.
pub fn operation_name(name: &str) -> Result<&'static str, String> {
    let snake: String = name
        .chars()
        .flat_map(|c| match c.is_ascii_uppercase() {
            true => vec!['_', c.to_ascii_lowercase()],
            false => vec![c],
        })
        .collect();
    if let Some(op) = OPERATIONS.iter().find(|op| **op == snake) {
        return Ok(op);
    }
    let closest = OPERATIONS
        .iter()
        .min_by_key(|op| strsim::levenshtein(op, &snake))
        .copied()
        .unwrap_or_default();
    Err(format!("unknown operation {name:?}; did you mean {closest}?"))
}

/// Every operation of the Customer Space API the operator needs.
///
/// Reads are cheap to retry; writes are idempotent where the contract makes them so
/// (`add_user` keyed by email, `set_access`, `submit_request` keyed by `customerReference`).
/// Object safe: use it as `Arc<dyn CustomerSpace>`.
#[async_trait]
pub trait CustomerSpace: Send + Sync {
    /// Who this client is, for cache keys: the endpoint and the credential it was built from, so
    /// objects using other credentials never share its cached reads. Empty when unscoped.
    fn cache_scope(&self) -> &str {
        ""
    }
    /// Gets a token if none is cached; proves the client id, secret and API key are valid.
    async fn check_credentials(&self) -> PortalResult<()>;
    /// The contracts these credentials can see (all pages).
    async fn list_contracts(&self) -> PortalResult<Vec<Contract>>;
    /// One contract.
    async fn get_contract(&self, contract: &str) -> PortalResult<Contract>;
    /// Contract, weather, incidents, consumption and latest bills in one read.
    async fn dashboard(&self, contract: &str) -> PortalResult<Dashboard>;
    /// Changes the referent; the caller must be the current referent.
    async fn change_referent(&self, contract: &str, change: &ReferentChange) -> PortalResult<Contract>;
    /// Users with access to a contract (all pages).
    async fn list_users(&self, contract: &str) -> PortalResult<Vec<ContractUser>>;
    /// The account with this email, if any.
    async fn find_account(&self, email: &str) -> PortalResult<Option<Account>>;
    /// Adds a user to a contract, reusing an existing account with the same email.
    async fn add_user(&self, contract: &str, user: &NewUser) -> PortalResult<AddUserResult>;
    /// Replaces a user's profiles and enabled flag on a contract.
    async fn set_access(
        &self,
        contract: &str,
        account_id: &str,
        update: &AccessUpdate,
    ) -> PortalResult<ContractUser>;
    /// Removes a user's access to a contract (the account stays).
    async fn remove_access(&self, contract: &str, account_id: &str) -> PortalResult<()>;
    /// Deletes an account; needs Manager on Users on every contract it can access.
    async fn delete_account(&self, account_id: &str) -> PortalResult<()>;
    /// Sends the invitation email again.
    async fn send_invitation(&self, account_id: &str) -> PortalResult<Account>;
    /// Consumption to date in the current period.
    async fn consumption(&self, contract: &str) -> PortalResult<Consumption>;
    /// Weather and incidents.
    async fn platform_status(&self, contract: &str) -> PortalResult<PlatformStatus>;
    /// The latest bills, newest first.
    async fn list_bills(&self, contract: &str, limit: u32) -> PortalResult<Vec<Bill>>;
    /// The PDF of a bill.
    async fn bill_pdf(&self, contract: &str, bill_id: &str) -> PortalResult<Vec<u8>>;
    /// The CSV billing report of a month (`YYYY-MM`).
    async fn billing_report(&self, contract: &str, period: &str) -> PortalResult<String>;
    /// Streams a billing file into `out` (created or truncated), at most `cap` bytes, with its
    /// SHA-256. This default reads it whole (test doubles); the HTTP client streams it.
    async fn download(
        &self,
        contract: &str,
        file: &BillingFile,
        out: &std::path::Path,
        cap: u64,
    ) -> PortalResult<Downloaded> {
        let body = match file {
            BillingFile::Invoice { bill_id } => self.bill_pdf(contract, bill_id).await?,
            BillingFile::Report { period } => self.billing_report(contract, period).await?.into_bytes(),
        };
        if body.len() as u64 > cap {
            return Err(PortalError::new(
                ErrorCategory::TooLarge,
                "download",
                "the file is too large",
            ));
        }
        tokio::fs::write(out, &body)
            .await
            .map_err(|e| PortalError::new(ErrorCategory::Transport, "download", e.to_string()))?;
        Ok(Downloaded {
            bytes: body.len() as u64,
            sha256: hex(ring::digest::digest(&ring::digest::SHA256, &body).as_ref()),
        })
    }
    /// The catalog of the contract (all pages).
    async fn list_catalog(&self, contract: &str) -> PortalResult<Vec<CatalogItem>>;
    /// Submits a request exactly once: after a failed attempt the request is looked up by
    /// `customerReference` before any new attempt.
    async fn submit_request(&self, contract: &str, request: &NewRequest) -> PortalResult<ServiceRequest>;
    /// One request.
    async fn get_request(&self, contract: &str, request_id: &str) -> PortalResult<ServiceRequest>;
    /// The request with this customer reference, if any.
    async fn find_request(
        &self,
        contract: &str,
        customer_reference: &str,
    ) -> PortalResult<Option<ServiceRequest>>;
    /// Cancels a request that is not final; cancelling a cancelled request is a no-op.
    async fn cancel_request(&self, contract: &str, request_id: &str) -> PortalResult<ServiceRequest>;
    /// Every request of the contract (orders and changes, from any source).
    async fn list_requests(&self, contract: &str) -> PortalResult<Vec<ServiceRequest>>;
}
