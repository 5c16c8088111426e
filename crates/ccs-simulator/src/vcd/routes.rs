//! The CloudAPI routes. Every call but `POST /sessions` needs `Authorization: Bearer <token>`;
//! every call needs `Accept: application/json;version=<36.0..=38.x>` as Cloud Director does.

use super::paging;
use super::state::{ADMIN_ROLE, EntityRef, OrgRecord, Session, UserRecord, VcdWorld};
use crate::server::App;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::get, routing::post};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// Path prefix of the CloudAPI.
pub const PREFIX: &str = "/cloudapi/1.0.0";
/// The access token header of a session answer.
pub const TOKEN_HEADER: &str = "X-VMWARE-VCLOUD-ACCESS-TOKEN";

type AppState = State<Arc<App>>;

/// A CloudAPI error: `{minorErrorCode, message, stackTrace}`.
#[derive(Debug)]
pub struct VcdError {
    status: StatusCode,
    minor: &'static str,
    message: String,
}

impl VcdError {
    fn new(status: StatusCode, minor: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            minor,
            message: message.into(),
        }
    }
    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }
    fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "Unauthorized: a valid access token or Basic credentials user@org:password are required",
        )
    }
    fn forbidden(right: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "ACCESS_TO_RESOURCE_IS_FORBIDDEN",
            format!("Access is forbidden: the right \"{right}\" is required"),
        )
    }
    fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", format!("{what} not found"))
    }
}

impl IntoResponse for VcdError {
    fn into_response(self) -> Response {
        let body = json!({"minorErrorCode": self.minor, "message": self.message, "stackTrace": null});
        (self.status, Json(body)).into_response()
    }
}

type VcdResult<T> = Result<T, VcdError>;

/// The API version asked in `Accept`; Cloud Director refuses a request without one.
fn check_accept(headers: &HeaderMap) -> VcdResult<()> {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let version = accept
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("version="))
        .next()
        .and_then(|v| v.split('.').next()?.parse::<u32>().ok());
    match version {
        Some(36..=38) if accept.contains("application/json") || accept.contains("*/*") => Ok(()),
        _ => Err(VcdError::new(
            StatusCode::NOT_ACCEPTABLE,
            "NOT_ACCEPTABLE",
            "The request has invalid accept header: use application/json;version=38.0 (36.0 to 38.x are supported)",
        )),
    }
}

fn session(app: &App, headers: &HeaderMap) -> VcdResult<Session> {
    check_accept(headers)?;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(VcdError::unauthorized)?;
    app.read()
        .vcd
        .sessions
        .get(token)
        .cloned()
        .ok_or_else(VcdError::unauthorized)
}

fn org<'a>(vcd: &'a VcdWorld, s: &Session) -> VcdResult<&'a OrgRecord> {
    vcd.orgs.get(&s.org).ok_or_else(VcdError::unauthorized)
}

fn require_admin(org: &OrgRecord, s: &Session, right: &str) -> VcdResult<()> {
    let role = org.users.get(&s.user).map(|u| u.role_entity_ref.name.as_str());
    if role == Some(ADMIN_ROLE) {
        Ok(())
    } else {
        Err(VcdError::forbidden(right))
    }
}

fn org_ref(org: &OrgRecord) -> Value {
    json!({"name": org.name, "id": org.id})
}

fn user_view(org: &OrgRecord, u: &UserRecord) -> Value {
    json!({
        "id": u.id, "username": u.username, "fullName": u.full_name, "email": u.email,
        "description": u.description, "roleEntityRef": u.role_entity_ref,
        "orgEntityRef": org_ref(org), "enabled": u.enabled, "providerType": u.provider_type,
        "locked": false, "stranded": false, "isGroupRole": false, "deployedVmQuota": 0,
        "storedVmQuota": 0, "nameInSource": u.username, "password": null,
    })
}

async fn create_session(State(app): AppState, headers: HeaderMap) -> VcdResult<Response> {
    check_accept(&headers)?;
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(VcdError::unauthorized)?;
    let (login, password) = basic.split_once(':').ok_or_else(VcdError::unauthorized)?;
    let (user, org_name) = login.rsplit_once('@').ok_or_else(VcdError::unauthorized)?;
    let token = format!("{:032x}", fastrand::u128(..));
    let body = {
        let mut world = app.write();
        let seed = world.config.seed;
        let vcd = &mut world.vcd;
        let org = vcd.orgs.get(org_name).ok_or_else(VcdError::unauthorized)?;
        let u = org
            .users
            .values()
            .find(|u| u.username == user && u.enabled && u.password.as_deref() == Some(password))
            .ok_or_else(VcdError::unauthorized)?;
        let body = json!({
            "user": {"name": u.username, "id": u.id}, "org": org_ref(org),
            "roles": [u.role_entity_ref.name], "roleRefs": [u.role_entity_ref],
            "sessionIdleTimeoutMinutes": 30, "location": "vcd-sim",
        });
        let session = Session {
            org: org.name.clone(),
            user: u.id.clone(),
        };
        let session_id = vcd.urn(seed, "session");
        vcd.sessions.insert(token.clone(), session);
        let mut body = body;
        body["id"] = json!(session_id);
        body
    };
    app.persist();
    let mut resp = Json(body).into_response();
    let h = resp.headers_mut();
    h.insert(TOKEN_HEADER, HeaderValue::from_str(&token).expect("hex"));
    h.insert("X-VMWARE-VCLOUD-TOKEN-TYPE", HeaderValue::from_static("Bearer"));
    Ok(resp)
}

async fn list_users(
    State(app): AppState,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> VcdResult<Json<Value>> {
    let s = session(&app, &headers)?;
    let world = app.read();
    let org = org(&world.vcd, &s)?;
    let users = org.users.values().map(|u| user_view(org, u)).collect();
    paging::page(users, &q).map(Json)
}

async fn get_user(
    State(app): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> VcdResult<Json<Value>> {
    let s = session(&app, &headers)?;
    let world = app.read();
    let org = org(&world.vcd, &s)?;
    let u = org.users.get(&id).ok_or_else(|| VcdError::not_found("user"))?;
    Ok(Json(user_view(org, u)))
}

/// The writable part of a `VcdUser` body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserBody {
    username: String,
    #[serde(default)]
    full_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    description: Option<String>,
    role_entity_ref: RoleRef,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    provider_type: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// A role reference: by id, or by name.
#[derive(Deserialize)]
struct RoleRef {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

fn parse_body(body: &[u8]) -> VcdResult<UserBody> {
    serde_json::from_slice(body).map_err(|e| VcdError::bad_request(format!("invalid VcdUser body: {e}")))
}

fn resolve_role(org: &OrgRecord, r: &RoleRef) -> VcdResult<EntityRef> {
    org.roles
        .iter()
        .find(
            |role| match (r.id.as_ref().filter(|id| !id.is_empty()), &r.name) {
                (Some(id), _) => &role.id == id,
                (None, Some(name)) => &role.name == name,
                (None, None) => false,
            },
        )
        .cloned()
        .ok_or_else(|| VcdError::bad_request("roleEntityRef does not name a role of the organization"))
}

fn check_user(b: &UserBody, provider: &str) -> VcdResult<()> {
    if b.username.trim().is_empty() || b.username.len() > 128 {
        return Err(VcdError::bad_request("username must have 1 to 128 characters"));
    }
    match provider {
        "LOCAL" => Ok(()),
        "SAML" | "OIDC" if b.password.is_some() => Err(VcdError::bad_request(
            "a password can only be set for a LOCAL user",
        )),
        "SAML" | "OIDC" => Ok(()),
        other => Err(VcdError::bad_request(format!(
            "providerType {other:?} is not one of LOCAL, SAML, OIDC"
        ))),
    }
}

async fn create_user(
    State(app): AppState,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> VcdResult<Response> {
    let s = session(&app, &headers)?;
    let b = parse_body(&body)?;
    let provider = b.provider_type.clone().unwrap_or_else(|| "LOCAL".into());
    check_user(&b, &provider)?;
    let view = {
        let mut world = app.write();
        let seed = world.config.seed;
        let vcd = &mut world.vcd;
        let org = org(vcd, &s)?;
        require_admin(org, &s, "Organization vDC Manage Users")?;
        let role = resolve_role(org, &b.role_entity_ref)?;
        if org
            .users
            .values()
            .any(|u| u.username.eq_ignore_ascii_case(&b.username))
        {
            return Err(VcdError::new(
                StatusCode::BAD_REQUEST,
                "DUPLICATE_NAME",
                format!("a user named {} already exists in the organization", b.username),
            ));
        }
        if provider == "LOCAL" && b.password.as_deref().is_none_or(|p| p.len() < 6) {
            return Err(VcdError::bad_request(
                "a LOCAL user needs a password of at least 6 characters",
            ));
        }
        let id = vcd.urn(seed, "user");
        let org = vcd.orgs.get_mut(&s.org).ok_or_else(VcdError::unauthorized)?;
        let user = UserRecord {
            id: id.clone(),
            username: b.username,
            full_name: b.full_name.unwrap_or_default(),
            email: b.email.unwrap_or_default(),
            description: b.description.unwrap_or_default(),
            role_entity_ref: role,
            enabled: b.enabled.unwrap_or(true),
            provider_type: provider,
            password: b.password,
        };
        let view = user_view(org, &user);
        org.users.insert(id, user);
        view
    };
    app.persist();
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn update_user(
    State(app): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> VcdResult<Json<Value>> {
    let s = session(&app, &headers)?;
    let b = parse_body(&body)?;
    let view = {
        let mut world = app.write();
        let org = world
            .vcd
            .orgs
            .get_mut(&s.org)
            .ok_or_else(VcdError::unauthorized)?;
        require_admin(org, &s, "Organization vDC Manage Users")?;
        let role = resolve_role(org, &b.role_entity_ref)?;
        let current = org.users.get(&id).ok_or_else(|| VcdError::not_found("user"))?;
        if !current.username.eq_ignore_ascii_case(&b.username) {
            return Err(VcdError::bad_request("username cannot be changed"));
        }
        let provider = b
            .provider_type
            .clone()
            .unwrap_or_else(|| current.provider_type.clone());
        check_user(&b, &provider)?;
        let u = org
            .users
            .get_mut(&id)
            .ok_or_else(|| VcdError::not_found("user"))?;
        u.full_name = b.full_name.unwrap_or_default();
        u.email = b.email.unwrap_or_default();
        u.description = b.description.unwrap_or_default();
        u.role_entity_ref = role;
        u.enabled = b.enabled.unwrap_or(u.enabled);
        u.provider_type = provider;
        if b.password.is_some() {
            u.password = b.password;
        }
        let u = u.clone();
        user_view(org, &u)
    };
    app.persist();
    Ok(Json(view))
}

async fn delete_user(
    State(app): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> VcdResult<Response> {
    let s = session(&app, &headers)?;
    {
        let mut world = app.write();
        let org = world
            .vcd
            .orgs
            .get_mut(&s.org)
            .ok_or_else(VcdError::unauthorized)?;
        require_admin(org, &s, "Organization vDC Manage Users")?;
        if id == s.user {
            return Err(VcdError::bad_request("a user cannot delete itself"));
        }
        org.users.remove(&id).ok_or_else(|| VcdError::not_found("user"))?;
        world.vcd.sessions.retain(|_, sess| sess.user != id);
    }
    app.persist();
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_roles(
    State(app): AppState,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> VcdResult<Json<Value>> {
    let s = session(&app, &headers)?;
    let world = app.read();
    let org = org(&world.vcd, &s)?;
    let roles = org
        .roles
        .iter()
        .map(|r| json!({"id": r.id, "name": r.name, "description": format!("Predefined role {}", r.name), "bundleKey": "com.vmware.vcloud.undefined.key", "readOnly": false}))
        .collect();
    paging::page(roles, &q).map(Json)
}

async fn list_orgs(
    State(app): AppState,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> VcdResult<Json<Value>> {
    let s = session(&app, &headers)?;
    let world = app.read();
    let org = org(&world.vcd, &s)?;
    let view = json!({"id": org.id, "name": org.name, "displayName": org.display_name,
        "description": "", "isEnabled": true, "orgVdcCount": 1, "catalogCount": 0, "vappCount": 0,
        "runningVMCount": 0, "userCount": org.users.len(), "diskCount": 0, "canPublish": false});
    paging::page(vec![view], &q).map(Json)
}

/// The CloudAPI routes (under [`PREFIX`]).
pub fn routes() -> Router<Arc<App>> {
    let p = |s: &str| format!("{PREFIX}{s}");
    Router::new()
        .route(&p("/sessions"), post(create_session))
        .route(&p("/users"), get(list_users).post(create_user))
        .route(
            &p("/users/{userId}"),
            get(get_user).put(update_user).delete(delete_user),
        )
        .route(&p("/roles"), get(list_roles))
        .route(&p("/orgs"), get(list_orgs))
}
