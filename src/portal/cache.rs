//! Shared reads: one portal call per contract and read per interval, however many objects ask.
//!
//! Controllers keep one `CachedPortal` per contract (or per credential) and hand it to every
//! object on that contract: 200 BudgetAlerts on a contract then cost one dashboard read per poll,
//! and the PortalUsers of a contract share one user list.

use super::CustomerSpace;
use super::error::PortalResult;
use super::model::*;
use async_trait::async_trait;
use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Value = Arc<dyn Any + Send + Sync>;
/// One cached read. The async mutex makes concurrent callers wait for the first one's call.
type Slot = Arc<tokio::sync::Mutex<Option<(Instant, Value)>>>;

/// A `CustomerSpace` whose reads are cached for `ttl` and coalesced; writes pass through and drop
/// the cached reads of the contract they touch. Errors are never cached.
pub struct CachedPortal {
    inner: Arc<dyn CustomerSpace>,
    ttl: Duration,
    slots: Mutex<HashMap<(&'static str, String), Slot>>,
}

impl CachedPortal {
    /// Caches the reads of `inner` for `ttl` (typically the poll interval, minus a little).
    pub fn new(inner: Arc<dyn CustomerSpace>, ttl: Duration) -> Self {
        Self {
            inner,
            ttl,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets the cached reads of one contract (e.g. when a reconcile is explicitly requested).
    pub fn invalidate(&self, contract: &str) {
        self.lock().retain(|(_, key), _| key != contract);
    }

    /// Forgets everything.
    pub fn invalidate_all(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(&'static str, String), Slot>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn cached<T, F, Fut>(&self, operation: &'static str, key: &str, fetch: F) -> PortalResult<T>
    where
        T: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = PortalResult<T>>,
    {
        let slot = self
            .lock()
            .entry((operation, key.to_string()))
            .or_default()
            .clone();
        let mut guard = slot.lock().await;
        if let Some((at, value)) = guard.as_ref()
            && at.elapsed() < self.ttl
            && let Some(value) = value.downcast_ref::<T>()
        {
            return Ok(value.clone());
        }
        let value = fetch().await?;
        *guard = Some((Instant::now(), Arc::new(value.clone())));
        Ok(value)
    }

    /// Runs a write, then drops the cached reads of `contract` (all contracts when `None`).
    async fn write<T>(&self, contract: Option<&str>, result: PortalResult<T>) -> PortalResult<T> {
        match contract {
            Some(c) => self.invalidate(c),
            None => self.invalidate_all(),
        }
        result
    }
}

#[async_trait]
impl CustomerSpace for CachedPortal {
    fn cache_scope(&self) -> &str {
        self.inner.cache_scope()
    }

    async fn check_credentials(&self) -> PortalResult<()> {
        self.inner.check_credentials().await
    }
    async fn list_contracts(&self) -> PortalResult<Vec<Contract>> {
        self.cached("list_contracts", "", || self.inner.list_contracts())
            .await
    }
    async fn get_contract(&self, contract: &str) -> PortalResult<Contract> {
        self.cached("get_contract", contract, || self.inner.get_contract(contract))
            .await
    }
    async fn dashboard(&self, contract: &str) -> PortalResult<Dashboard> {
        self.cached("dashboard", contract, || self.inner.dashboard(contract))
            .await
    }
    async fn change_referent(&self, contract: &str, change: &ReferentChange) -> PortalResult<Contract> {
        self.write(Some(contract), self.inner.change_referent(contract, change).await)
            .await
    }
    async fn list_users(&self, contract: &str) -> PortalResult<Vec<ContractUser>> {
        self.cached("list_users", contract, || self.inner.list_users(contract))
            .await
    }
    async fn find_account(&self, email: &str) -> PortalResult<Option<Account>> {
        self.inner.find_account(email).await
    }
    async fn add_user(&self, contract: &str, user: &NewUser) -> PortalResult<AddUserResult> {
        self.write(Some(contract), self.inner.add_user(contract, user).await)
            .await
    }
    async fn set_access(
        &self,
        contract: &str,
        account_id: &str,
        update: &AccessUpdate,
    ) -> PortalResult<ContractUser> {
        self.write(
            Some(contract),
            self.inner.set_access(contract, account_id, update).await,
        )
        .await
    }
    async fn remove_access(&self, contract: &str, account_id: &str) -> PortalResult<()> {
        self.write(
            Some(contract),
            self.inner.remove_access(contract, account_id).await,
        )
        .await
    }
    async fn delete_account(&self, account_id: &str) -> PortalResult<()> {
        self.write(None, self.inner.delete_account(account_id).await)
            .await
    }
    async fn send_invitation(&self, account_id: &str) -> PortalResult<Account> {
        self.write(None, self.inner.send_invitation(account_id).await)
            .await
    }
    async fn consumption(&self, contract: &str) -> PortalResult<Consumption> {
        self.cached("consumption", contract, || self.inner.consumption(contract))
            .await
    }
    async fn platform_status(&self, contract: &str) -> PortalResult<PlatformStatus> {
        self.cached("platform_status", contract, || {
            self.inner.platform_status(contract)
        })
        .await
    }
    async fn list_bills(&self, contract: &str, limit: u32) -> PortalResult<Vec<Bill>> {
        // Cache the longest list once and cut it, so different limits share one call.
        let all = self
            .cached("list_bills", contract, || self.inner.list_bills(contract, 12))
            .await?;
        Ok(all.into_iter().take(limit as usize).collect())
    }
    async fn bill_pdf(&self, contract: &str, bill_id: &str) -> PortalResult<Vec<u8>> {
        self.inner.bill_pdf(contract, bill_id).await
    }
    async fn billing_report(&self, contract: &str, period: &str) -> PortalResult<String> {
        self.inner.billing_report(contract, period).await
    }
    async fn list_catalog(&self, contract: &str) -> PortalResult<Vec<CatalogItem>> {
        self.cached("list_catalog", contract, || self.inner.list_catalog(contract))
            .await
    }
    async fn submit_request(&self, contract: &str, request: &NewRequest) -> PortalResult<ServiceRequest> {
        self.inner.submit_request(contract, request).await
    }
    async fn get_request(&self, contract: &str, request_id: &str) -> PortalResult<ServiceRequest> {
        // Order states must be fresh: exactly-once logic reads them.
        self.inner.get_request(contract, request_id).await
    }
    async fn find_request(
        &self,
        contract: &str,
        customer_reference: &str,
    ) -> PortalResult<Option<ServiceRequest>> {
        self.inner.find_request(contract, customer_reference).await
    }
    async fn cancel_request(&self, contract: &str, request_id: &str) -> PortalResult<ServiceRequest> {
        self.inner.cancel_request(contract, request_id).await
    }
}
