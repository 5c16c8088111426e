//! The `CustomerSpace` operations over HTTP: paths, pagination and exactly-once submission.

use super::CustomerSpace;
use super::error::{ErrorCategory, PortalError, PortalResult};
use super::http::{Call, ReqwestPortal, decode};
use super::model::*;
use async_trait::async_trait;
use reqwest::Method;
use serde::de::DeserializeOwned;

/// Page size of list calls: the largest the contract accepts, so a whole list (the users of a
/// contract, its catalog) usually costs one call.
const PAGE: usize = MAX_LIMIT as usize;
/// Pages read at most by one list call (50,000 items), so a server ignoring `offset` cannot loop
/// us forever nor fill the memory; more is a `TooLarge` error.
const MAX_PAGES: usize = 100;
/// Largest `limit` the contract accepts.
const MAX_LIMIT: u32 = 500;

/// A path under the API prefix, as unencoded segments (the URL builder encodes each one).
fn api_path(parts: &[&str]) -> Vec<String> {
    API_PREFIX
        .split('/')
        .filter(|s| !s.is_empty())
        .chain(parts.iter().copied())
        .map(str::to_string)
        .collect()
}

/// A path under one contract (ids come from users' manifests and are encoded as one segment).
fn contract_path(contract: &str, rest: &[&str]) -> Vec<String> {
    let mut parts = vec!["contracts", contract];
    parts.extend_from_slice(rest);
    api_path(&parts)
}

fn get(operation: &'static str, path: Vec<String>) -> Call<'static> {
    Call {
        operation,
        method: Method::GET,
        path,
        query: vec![],
        body: None,
        retry: true,
    }
}

impl ReqwestPortal {
    async fn get_json<T: DeserializeOwned>(&self, call: Call<'_>) -> PortalResult<T> {
        let reply = self.send(&call).await?;
        decode(call.operation, &reply.body)
    }

    /// Reads every page of a list until `X-Total-Count` items are read (a server may cap `limit`
    /// lower than asked, so a short page alone ends the list only without that header), or an
    /// empty page.
    async fn get_all<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        path: Vec<String>,
        filter: Vec<(&str, String)>,
    ) -> PortalResult<Vec<T>> {
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            let mut query = filter.clone();
            query.push(("offset", items.len().to_string()));
            query.push(("limit", PAGE.to_string()));
            let call = Call {
                operation,
                method: Method::GET,
                path: path.clone(),
                query,
                body: None,
                retry: true,
            };
            let reply = self.send(&call).await?;
            let page: Vec<T> = decode(operation, &reply.body)?;
            let total = reply
                .headers
                .get("X-Total-Count")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok());
            let done = match total {
                Some(total) => page.is_empty() || items.len() + page.len() >= total,
                None => page.len() < PAGE,
            };
            items.extend(page);
            if done {
                return Ok(items);
            }
        }
        Err(PortalError::new(
            ErrorCategory::TooLarge,
            operation,
            format!("the list has more than {MAX_PAGES} pages of {PAGE} items"),
        ))
    }

    async fn write<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        method: Method,
        path: Vec<String>,
        body: Option<&(dyn super::http::erased_json::Body + Sync)>,
        retry: bool,
    ) -> PortalResult<T> {
        let call = Call {
            operation,
            method,
            path,
            query: vec![],
            body,
            retry,
        };
        let reply = self.send(&call).await?;
        decode(operation, &reply.body)
    }

    async fn delete(&self, operation: &'static str, path: Vec<String>) -> PortalResult<()> {
        // DELETE is idempotent in the contract: safe to retry.
        let call = Call {
            operation,
            method: Method::DELETE,
            path,
            query: vec![],
            body: None,
            retry: true,
        };
        self.send(&call).await.map(|_| ())
    }
}

#[async_trait]
impl CustomerSpace for ReqwestPortal {
    fn cache_scope(&self) -> &str {
        self.scope()
    }

    async fn check_credentials(&self) -> PortalResult<()> {
        self.list_contracts().await.map(|_| ())
    }

    async fn list_contracts(&self) -> PortalResult<Vec<Contract>> {
        self.get_all("list_contracts", api_path(&["contracts"]), vec![])
            .await
    }

    async fn get_contract(&self, contract: &str) -> PortalResult<Contract> {
        self.get_json(get("get_contract", contract_path(contract, &[])))
            .await
    }

    async fn dashboard(&self, contract: &str) -> PortalResult<Dashboard> {
        self.get_json(get("dashboard", contract_path(contract, &["dashboard"])))
            .await
    }

    async fn change_referent(&self, contract: &str, change: &ReferentChange) -> PortalResult<Contract> {
        // Setting the same referent twice is a no-op in the contract: safe to retry.
        let path = contract_path(contract, &["referent"]);
        self.write("change_referent", Method::PUT, path, Some(change), true)
            .await
    }

    async fn list_users(&self, contract: &str) -> PortalResult<Vec<ContractUser>> {
        self.get_all("list_users", contract_path(contract, &["users"]), vec![])
            .await
    }

    async fn find_account(&self, email: &str) -> PortalResult<Option<Account>> {
        let mut call = get("find_account", api_path(&["users"]));
        call.query.push(("email", email.to_string()));
        let found: Vec<Account> = self.get_json(call).await?;
        Ok(found.into_iter().next())
    }

    async fn add_user(&self, contract: &str, user: &NewUser) -> PortalResult<AddUserResult> {
        // Keyed by email: a repeat reuses the account and sets the same profiles.
        let path = contract_path(contract, &["users"]);
        self.write("add_user", Method::POST, path, Some(user), true).await
    }

    async fn set_access(
        &self,
        contract: &str,
        account_id: &str,
        update: &AccessUpdate,
    ) -> PortalResult<ContractUser> {
        let path = contract_path(contract, &["users", account_id]);
        self.write("set_access", Method::PUT, path, Some(update), true)
            .await
    }

    async fn remove_access(&self, contract: &str, account_id: &str) -> PortalResult<()> {
        self.delete("remove_access", contract_path(contract, &["users", account_id]))
            .await
    }

    async fn delete_account(&self, account_id: &str) -> PortalResult<()> {
        self.delete("delete_account", api_path(&["users", account_id]))
            .await
    }

    async fn send_invitation(&self, account_id: &str) -> PortalResult<Account> {
        // Sends an email: never repeated automatically.
        let path = api_path(&["users", account_id, "invitation"]);
        self.write("send_invitation", Method::POST, path, None, false)
            .await
    }

    async fn consumption(&self, contract: &str) -> PortalResult<Consumption> {
        self.get_json(get("consumption", contract_path(contract, &["consumption"])))
            .await
    }

    async fn platform_status(&self, contract: &str) -> PortalResult<PlatformStatus> {
        self.get_json(get(
            "platform_status",
            contract_path(contract, &["platform-status"]),
        ))
        .await
    }

    async fn list_bills(&self, contract: &str, limit: u32) -> PortalResult<Vec<Bill>> {
        let mut call = get("list_bills", contract_path(contract, &["bills"]));
        call.query = vec![
            ("offset", "0".into()),
            ("limit", limit.min(MAX_LIMIT).to_string()),
        ];
        self.get_json(call).await
    }

    async fn bill_pdf(&self, contract: &str, bill_id: &str) -> PortalResult<Vec<u8>> {
        let call = get("bill_pdf", contract_path(contract, &["bills", bill_id, "pdf"]));
        Ok(self.send(&call).await?.body)
    }

    async fn billing_report(&self, contract: &str, period: &str) -> PortalResult<String> {
        let mut call = get("billing_report", contract_path(contract, &["billing-report"]));
        call.query.push(("period", period.to_string()));
        let body = self.send(&call).await?.body;
        String::from_utf8(body)
            .map_err(|_| PortalError::new(ErrorCategory::Decode, call.operation, "report is not UTF-8"))
    }

    async fn download(
        &self,
        contract: &str,
        file: &super::BillingFile,
        out: &std::path::Path,
        cap: u64,
    ) -> PortalResult<super::Downloaded> {
        self.download_to(contract, file, out, cap).await
    }

    async fn list_catalog(&self, contract: &str) -> PortalResult<Vec<CatalogItem>> {
        self.get_all(
            "list_catalog",
            contract_path(contract, &["catalog-items"]),
            vec![],
        )
        .await
    }

    async fn submit_request(&self, contract: &str, request: &NewRequest) -> PortalResult<ServiceRequest> {
        let call = Call {
            operation: "submit_request",
            method: Method::POST,
            path: contract_path(contract, &["requests"]),
            query: vec![],
            body: Some(request),
            retry: false,
        };
        // A failed attempt may still have been applied (commit then fail): look the reference up
        // before trying again, so a request is never created twice.
        self.with_retries(call.operation, true, |attempt| {
            let call = &call;
            async move {
                if attempt > 0
                    && let Some(found) = self.find_request(contract, &request.customer_reference).await?
                {
                    return Ok(found);
                }
                decode(call.operation, &self.send(call).await?.body)
            }
        })
        .await
    }

    async fn get_request(&self, contract: &str, request_id: &str) -> PortalResult<ServiceRequest> {
        self.get_json(get(
            "get_request",
            contract_path(contract, &["requests", request_id]),
        ))
        .await
    }

    async fn find_request(
        &self,
        contract: &str,
        customer_reference: &str,
    ) -> PortalResult<Option<ServiceRequest>> {
        let filter = vec![("customerReference", customer_reference.to_string())];
        let found: Vec<ServiceRequest> = self
            .get_all("find_request", contract_path(contract, &["requests"]), filter)
            .await?;
        Ok(found
            .into_iter()
            .find(|r| r.customer_reference == customer_reference))
    }

    async fn cancel_request(&self, contract: &str, request_id: &str) -> PortalResult<ServiceRequest> {
        let path = contract_path(contract, &["requests", request_id, "cancel"]);
        self.write("cancel_request", Method::POST, path, None, true).await
    }

    async fn list_requests(&self, contract: &str) -> PortalResult<Vec<ServiceRequest>> {
        self.get_all(
            "list_requests",
            contract_path(contract, &["requests"]),
            Vec::new(),
        )
        .await
    }
}
