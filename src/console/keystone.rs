//! A small typed Keystone v3 client (the Flexible Engine IAM): a domain-scoped token from
//! `POST /v3/auth/tokens`, then users, groups, group membership, projects, roles and the group's
//! role assignments. Tokens and passwords are [`Secret`]s: never logged, never in errors.

use super::shared::{Call, ConsoleShared, Reply, decode, endpoint_url};
use crate::portal::{ErrorCategory, PortalError, PortalResult, Secret};
use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

const API: &str = "keystone";
/// Refresh a token this long before Keystone says it expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(120);

/// The IAM user the operator acts as: an administrator of the customer's domain.
#[derive(Clone, Debug)]
pub struct KeystoneCredentials {
    /// Domain name (Flexible Engine: the customer's account name).
    pub domain: String,
    /// User name.
    pub user: String,
    /// Password.
    pub password: Secret,
}

/// A user of the domain.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: String,
    /// Name (unique in the domain).
    pub name: String,
    /// Whether the user may log in.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Free text; the operator marks the users it creates here.
    #[serde(default)]
    pub description: Option<String>,
}

fn yes() -> bool {
    true
}

/// A group of the domain.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Group {
    /// Id.
    pub id: String,
    /// Name (unique in the domain).
    pub name: String,
    /// Free text; the operator records its owner here.
    #[serde(default)]
    pub description: Option<String>,
}

/// A project or a role: an id and a name.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Named {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// Where a role is assigned.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// On a project (its id).
    Project(String),
    /// On a domain (its id).
    Domain(String),
}

/// One role of the group on a scope.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Assignment {
    /// Role id.
    pub role_id: String,
    /// Where.
    pub scope: Scope,
}

/// A user to create.
#[derive(Clone, Debug)]
pub struct NewUser {
    /// Name.
    pub name: String,
    /// Email, when known.
    pub email: Option<String>,
    /// Marker of the operator (see [`User::description`]).
    pub description: String,
    /// Initial password (`GeneratedSecret`); `None` for federated users.
    pub password: Option<Secret>,
}

struct Token {
    value: Secret,
    domain_id: String,
    valid_until: Instant,
}

/// A client bound to one endpoint and one IAM user; keeps its token.
pub struct Keystone {
    shared: Arc<ConsoleShared>,
    base: url::Url,
    credentials: KeystoneCredentials,
    token: tokio::sync::Mutex<Option<Token>>,
}

impl std::fmt::Debug for Keystone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keystone")
            .field("base", &self.base.as_str())
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

/// Keystone's error body: `{"error": {"code", "title", "message"}}`.
fn describe(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let e = v.get("error")?;
    let message = e.get("message")?.as_str()?;
    Some(message.chars().take(512).collect())
}

impl Keystone {
    /// A client of the Keystone v3 API at `base` (such as `https://iam.example/v3`).
    pub fn new(shared: Arc<ConsoleShared>, base: url::Url, credentials: KeystoneCredentials) -> Self {
        Self {
            shared,
            base,
            credentials,
            token: tokio::sync::Mutex::new(None),
        }
    }

    /// `base` + the path segments (each percent-encoded: an id never reaches another path).
    fn url(&self, operation: &'static str, path: &[&str]) -> PortalResult<url::Url> {
        endpoint_url(&self.base, &[], path, operation, "identity endpoint")
    }

    /// A domain-scoped token (cached); also proves the credentials. Returns the domain id.
    pub async fn domain_id(&self) -> PortalResult<String> {
        Ok(self.token(false).await?.1)
    }

    async fn token(&self, refresh: bool) -> PortalResult<(Secret, String)> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached
            .as_ref()
            .filter(|t| !refresh && t.valid_until > Instant::now())
        {
            return Ok((t.value.clone(), t.domain_id.clone()));
        }
        let c = &self.credentials;
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": c.user, "domain": {"name": c.domain}, "password": c.password.expose()}}},
            "scope": {"domain": {"name": c.domain}}
        }});
        let url = self.url("token", &["auth", "tokens"])?;
        let reply = self
            .shared
            .send(
                API,
                "token",
                true,
                || self.shared.http().post(url.clone()).json(&body),
                describe,
            )
            .await?;
        let value = reply
            .headers
            .get("X-Subject-Token")
            .and_then(|v| v.to_str().ok())
            .map(Secret::new)
            .ok_or_else(|| PortalError::new(ErrorCategory::Decode, "token", "no X-Subject-Token header"))?;
        #[derive(Deserialize)]
        struct Body {
            token: TokenBody,
        }
        #[derive(Deserialize)]
        struct TokenBody {
            expires_at: chrono::DateTime<chrono::Utc>,
            domain: Named,
        }
        let token: Body = decode("token", &reply)?;
        let left = (token.token.expires_at - chrono::Utc::now())
            .to_std()
            .unwrap_or_default()
            .min(Duration::from_secs(24 * 3600));
        let valid_for = left.saturating_sub(REFRESH_MARGIN).max(left / 2);
        *cached = Some(Token {
            value: value.clone(),
            domain_id: token.token.domain.id.clone(),
            valid_until: Instant::now() + valid_for,
        });
        Ok((value, token.token.domain.id))
    }

    /// One authenticated call; a 401 refreshes the token once.
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
        let token = |refresh| async move { Ok(self.token(refresh).await?.0) };
        self.shared
            .authenticated(call, token, |req, token| {
                req.header("X-Auth-Token", token.expose())
            })
            .await
    }

    /// Reads a list, refusing a truncated one (`list_limit` reached): acting on part of a list
    /// would remove what it did not see.
    async fn list<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        path: &[&str],
        query: &[(&str, &str)],
        key: &str,
    ) -> PortalResult<Vec<T>> {
        let reply = self.call(operation, Method::GET, path, query, None).await?;
        let mut v: Value = decode(operation, &reply)?;
        if v.get("truncated").and_then(Value::as_bool) == Some(true) {
            return Err(PortalError::new(
                ErrorCategory::TooLarge,
                operation,
                "the list is truncated by the identity service's list_limit",
            ));
        }
        serde_json::from_value(v.get_mut(key).map(Value::take).unwrap_or(Value::Null)).map_err(|e| {
            PortalError::new(
                ErrorCategory::Decode,
                operation,
                format!("unexpected answer: {e}"),
            )
        })
    }

    /// The group named `name` in the domain, if any.
    pub async fn find_group(&self, domain_id: &str, name: &str) -> PortalResult<Option<Group>> {
        let groups: Vec<Group> = self
            .list(
                "list_groups",
                &["groups"],
                &[("domain_id", domain_id), ("name", name)],
                "groups",
            )
            .await?;
        Ok(groups.into_iter().find(|g| g.name == name))
    }

    /// Creates a group.
    pub async fn create_group(&self, domain_id: &str, name: &str, description: &str) -> PortalResult<Group> {
        let body = json!({"group": {"domain_id": domain_id, "name": name, "description": description}});
        let reply = self
            .call("create_group", Method::POST, &["groups"], &[], Some(&body))
            .await?;
        let v: Value = decode("create_group", &reply)?;
        serde_json::from_value(v["group"].clone())
            .map_err(|e| PortalError::new(ErrorCategory::Decode, "create_group", e.to_string()))
    }

    /// Sets a group's description (the owner marker).
    pub async fn set_group_description(&self, group_id: &str, description: &str) -> PortalResult<()> {
        let body = json!({"group": {"description": description}});
        self.call(
            "update_group",
            Method::PATCH,
            &["groups", group_id],
            &[],
            Some(&body),
        )
        .await
        .map(drop)
    }

    /// Deletes a group (its memberships and role assignments go with it).
    pub async fn delete_group(&self, group_id: &str) -> PortalResult<()> {
        self.call("delete_group", Method::DELETE, &["groups", group_id], &[], None)
            .await
            .map(drop)
    }

    /// The users of the domain.
    pub async fn list_users(&self, domain_id: &str) -> PortalResult<Vec<User>> {
        self.list("list_users", &["users"], &[("domain_id", domain_id)], "users")
            .await
    }

    /// The members of a group.
    pub async fn group_users(&self, group_id: &str) -> PortalResult<Vec<User>> {
        self.list("list_group_users", &["groups", group_id, "users"], &[], "users")
            .await
    }

    /// Creates a user in the domain. A `password` must be changed at first login where the
    /// service enforces it (Keystone's `change_password_upon_first_use`).
    pub async fn create_user(&self, domain_id: &str, user: &NewUser) -> PortalResult<User> {
        let mut body = json!({"user": {"domain_id": domain_id, "name": user.name, "enabled": true,
            "description": user.description}});
        if let Some(email) = &user.email {
            body["user"]["email"] = json!(email);
        }
        if let Some(password) = &user.password {
            body["user"]["password"] = json!(password.expose());
        }
        let reply = self
            .call("create_user", Method::POST, &["users"], &[], Some(&body))
            .await?;
        let v: Value = decode("create_user", &reply)?;
        serde_json::from_value(v["user"].clone())
            .map_err(|e| PortalError::new(ErrorCategory::Decode, "create_user", e.to_string()))
    }

    /// Deletes a user.
    pub async fn delete_user(&self, user_id: &str) -> PortalResult<()> {
        self.call("delete_user", Method::DELETE, &["users", user_id], &[], None)
            .await
            .map(drop)
    }

    /// Adds a user to a group (idempotent).
    pub async fn add_member(&self, group_id: &str, user_id: &str) -> PortalResult<()> {
        self.call(
            "add_member",
            Method::PUT,
            &["groups", group_id, "users", user_id],
            &[],
            None,
        )
        .await
        .map(drop)
    }

    /// Removes a user from a group.
    pub async fn remove_member(&self, group_id: &str, user_id: &str) -> PortalResult<()> {
        self.call(
            "remove_member",
            Method::DELETE,
            &["groups", group_id, "users", user_id],
            &[],
            None,
        )
        .await
        .map(drop)
    }

    /// The projects of the domain.
    pub async fn list_projects(&self, domain_id: &str) -> PortalResult<Vec<Named>> {
        self.list(
            "list_projects",
            &["projects"],
            &[("domain_id", domain_id)],
            "projects",
        )
        .await
    }

    /// The roles the domain can assign (global ones and the domain's own).
    pub async fn list_roles(&self) -> PortalResult<Vec<Named>> {
        self.list("list_roles", &["roles"], &[], "roles").await
    }

    /// The group's direct role assignments.
    pub async fn group_assignments(&self, group_id: &str) -> PortalResult<Vec<Assignment>> {
        let raw: Vec<Value> = self
            .list(
                "list_role_assignments",
                &["role_assignments"],
                &[("group.id", group_id)],
                "role_assignments",
            )
            .await?;
        Ok(raw
            .iter()
            .filter_map(|a| {
                let role_id = a["role"]["id"].as_str()?.to_string();
                let scope = match (
                    a["scope"]["project"]["id"].as_str(),
                    a["scope"]["domain"]["id"].as_str(),
                ) {
                    (Some(p), _) => Scope::Project(p.to_string()),
                    (None, Some(d)) => Scope::Domain(d.to_string()),
                    _ => return None,
                };
                Some(Assignment { role_id, scope })
            })
            .collect())
    }

    fn assignment_path<'a>(group_id: &'a str, a: &'a Assignment) -> [&'a str; 6] {
        let (kind, id) = match &a.scope {
            Scope::Project(p) => ("projects", p.as_str()),
            Scope::Domain(d) => ("domains", d.as_str()),
        };
        [kind, id, "groups", group_id, "roles", a.role_id.as_str()]
    }

    /// Grants the group a role (idempotent).
    pub async fn grant(&self, group_id: &str, a: &Assignment) -> PortalResult<()> {
        let path = Self::assignment_path(group_id, a);
        self.call("grant_role", Method::PUT, &path, &[], None)
            .await
            .map(drop)
    }

    /// Revokes a role of the group.
    pub async fn revoke(&self, group_id: &str, a: &Assignment) -> PortalResult<()> {
        let path = Self::assignment_path(group_id, a);
        self.call("revoke_role", Method::DELETE, &path, &[], None)
            .await
            .map(drop)
    }
}
