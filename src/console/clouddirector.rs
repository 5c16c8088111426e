//! A small typed Cloud Director CloudAPI client (the FCA console): a session from
//! `POST /cloudapi/1.0.0/sessions` (Basic `user@org:password`, the token in the
//! `X-VMWARE-VCLOUD-ACCESS-TOKEN` header), then users and roles of the organization, read page by
//! page. Every call sends `Accept: application/json;version=38.0`. Tokens and passwords are
//! [`Secret`]s: never logged, never in errors.

use super::shared::{Call, ConsoleShared, Reply, decode, endpoint_url};
use crate::portal::{ErrorCategory, PortalError, PortalResult, Secret};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

const API: &str = "clouddirector";
/// The CloudAPI version the operator speaks.
pub const ACCEPT: &str = "application/json;version=38.0";
/// The largest page Cloud Director serves.
const PAGE_SIZE: &str = "128";
/// At most this many pages are read (128 * 100 users): a longer list is refused, not half-read.
const MAX_PAGES: u64 = 100;

/// The organization administrator the operator acts as.
#[derive(Clone, Debug)]
pub struct VcdCredentials {
    /// Organization name.
    pub org: String,
    /// User name.
    pub user: String,
    /// Password.
    pub password: Secret,
}

/// A reference: `{name, id}`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct EntityRef {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// URN.
    #[serde(default)]
    pub id: String,
}

/// A user, as the `VcdUser` body (the password is write-only and never read back).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VcdUser {
    /// `urn:vcloud:user:<uuid>` (absent on creation).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Login name.
    pub username: String,
    /// Display name.
    #[serde(default)]
    pub full_name: String,
    /// Email.
    #[serde(default)]
    pub email: String,
    /// Free text; the operator marks the users it manages here.
    #[serde(default)]
    pub description: String,
    /// The user's role.
    pub role_entity_ref: EntityRef,
    /// Whether the user may log in.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// `LOCAL`, `SAML` or `OIDC`.
    #[serde(default = "local")]
    pub provider_type: String,
}

impl Default for VcdUser {
    /// An enabled `LOCAL` user with no name and no role yet.
    fn default() -> Self {
        Self {
            id: String::new(),
            username: String::new(),
            full_name: String::new(),
            email: String::new(),
            description: String::new(),
            role_entity_ref: EntityRef::default(),
            enabled: true,
            provider_type: local(),
        }
    }
}

fn yes() -> bool {
    true
}

fn local() -> String {
    "LOCAL".into()
}

/// One page: `{resultTotal, pageCount, page, pageSize, values}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page<T> {
    page_count: u64,
    values: Vec<T>,
}

/// A client bound to one Cloud Director and one organization administrator; keeps its token.
pub struct CloudDirector {
    shared: Arc<ConsoleShared>,
    base: url::Url,
    credentials: VcdCredentials,
    token: tokio::sync::Mutex<Option<Secret>>,
}

impl std::fmt::Debug for CloudDirector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudDirector")
            .field("base", &self.base.as_str())
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

/// The CloudAPI error body: `{minorErrorCode, message, stackTrace}`.
fn describe(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let message = v.get("message")?.as_str()?;
    let minor = v.get("minorErrorCode").and_then(Value::as_str).unwrap_or("");
    Some(format!("{minor}: {message}").chars().take(512).collect())
}

impl CloudDirector {
    /// A client of the Cloud Director at `base` (before `/cloudapi`).
    pub fn new(shared: Arc<ConsoleShared>, base: url::Url, credentials: VcdCredentials) -> Self {
        Self {
            shared,
            base,
            credentials,
            token: tokio::sync::Mutex::new(None),
        }
    }

    /// The organization name of the credentials.
    pub fn org(&self) -> &str {
        &self.credentials.org
    }

    /// `base/cloudapi/1.0.0/` + the path segments (each percent-encoded).
    fn url(&self, operation: &'static str, path: &[&str]) -> PortalResult<url::Url> {
        endpoint_url(
            &self.base,
            &["cloudapi", "1.0.0"],
            path,
            operation,
            "Cloud Director endpoint",
        )
    }

    /// Opens a session (cached until a 401); also proves the credentials.
    pub async fn login(&self) -> PortalResult<()> {
        self.token(false).await.map(drop)
    }

    async fn token(&self, refresh: bool) -> PortalResult<Secret> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref().filter(|_| !refresh) {
            return Ok(t.clone());
        }
        let c = &self.credentials;
        let url = self.url("session", &["sessions"])?;
        let login = format!("{}@{}", c.user, c.org);
        let reply = self
            .shared
            .send(
                API,
                "session",
                true,
                || {
                    self.shared
                        .http()
                        .post(url.clone())
                        .basic_auth(&login, Some(c.password.expose()))
                        .header(reqwest::header::ACCEPT, ACCEPT)
                },
                describe,
            )
            .await?;
        let value = reply
            .headers
            .get("X-VMWARE-VCLOUD-ACCESS-TOKEN")
            .and_then(|v| v.to_str().ok())
            .map(Secret::new)
            .ok_or_else(|| {
                PortalError::new(
                    ErrorCategory::Decode,
                    "session",
                    "no X-VMWARE-VCLOUD-ACCESS-TOKEN header",
                )
            })?;
        *cached = Some(value.clone());
        Ok(value)
    }

    /// One authenticated call; a 401 opens a new session once.
    async fn call(
        &self,
        operation: &'static str,
        method: Method,
        path: &[&str],
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> PortalResult<Reply> {
        let call = Call {
            api: API,
            operation,
            method,
            url: self.url(operation, path)?,
            query,
            body,
            describe,
        };
        self.shared
            .authenticated(
                call,
                |refresh| self.token(refresh),
                |req, token| {
                    req.bearer_auth(token.expose())
                        .header(reqwest::header::ACCEPT, ACCEPT)
                },
            )
            .await
    }

    /// Every item of a list, page by page; refuses a list longer than [`MAX_PAGES`] pages
    /// (acting on part of it would remove what it did not see).
    async fn list_all<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        path: &[&str],
    ) -> PortalResult<Vec<T>> {
        let mut all = Vec::new();
        let mut page = 1u64;
        loop {
            let number = page.to_string();
            let query = [("page", number.as_str()), ("pageSize", PAGE_SIZE)];
            let reply = self.call(operation, Method::GET, path, &query, None).await?;
            let p: Page<T> = decode(operation, &reply)?;
            all.extend(p.values);
            if page >= p.page_count {
                return Ok(all);
            }
            if page >= MAX_PAGES {
                return Err(PortalError::new(
                    ErrorCategory::TooLarge,
                    operation,
                    format!("more than {MAX_PAGES} pages"),
                ));
            }
            page += 1;
        }
    }

    /// The users of the organization.
    pub async fn list_users(&self) -> PortalResult<Vec<VcdUser>> {
        self.list_all("list_users", &["users"]).await
    }

    /// The roles of the organization.
    pub async fn list_roles(&self) -> PortalResult<Vec<EntityRef>> {
        self.list_all("list_roles", &["roles"]).await
    }

    /// Creates a user; `password` for a `LOCAL` user only.
    pub async fn create_user(&self, user: &VcdUser, password: Option<&Secret>) -> PortalResult<VcdUser> {
        let mut body = serde_json::to_value(user)
            .map_err(|e| PortalError::new(ErrorCategory::Invalid, "create_user", e.to_string()))?;
        if let Some(p) = password {
            body["password"] = Value::String(p.expose().to_string());
        }
        let reply = self
            .call("create_user", Method::POST, &["users"], &[], Some(&body))
            .await?;
        decode("create_user", &reply)
    }

    /// Replaces a user (role, enabled, description...; the password is left as is).
    pub async fn update_user(&self, user: &VcdUser) -> PortalResult<VcdUser> {
        let body = serde_json::to_value(user)
            .map_err(|e| PortalError::new(ErrorCategory::Invalid, "update_user", e.to_string()))?;
        let reply = self
            .call("update_user", Method::PUT, &["users", &user.id], &[], Some(&body))
            .await?;
        decode("update_user", &reply)
    }

    /// Deletes a user.
    pub async fn delete_user(&self, id: &str) -> PortalResult<()> {
        self.call("delete_user", Method::DELETE, &["users", id], &[], None)
            .await
            .map(drop)
    }
}
