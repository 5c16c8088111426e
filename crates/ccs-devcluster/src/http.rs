//! HTTP front end: one axum fallback handler that parses Kubernetes paths itself (their shapes
//! vary too much for route patterns), decodes bodies and renders replies.

use super::discovery;
use super::error::{ApiError, ApiResult};
use super::gc::Propagation;
use super::openapi;
use super::ops::{DeleteOptions, Outcome, Target, WriteOptions};
use super::patch::PatchType;
use super::requests::RequestCounter;
use super::route::{self, ResourcePath, Route};
use super::selector::Selectors;
use super::store::Store;
use super::table::{self, Format};
use super::view::present;
use super::watch::{self, WatchRequest};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Largest accepted request body (the real server's limit).
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// Shared state of the HTTP handler.
#[derive(Debug)]
pub struct AppState {
    /// The objects.
    pub store: Arc<Store>,
    /// Required bearer token, if any.
    pub token: Option<String>,
    /// `host:port` the server listens on (legacy discovery reports it).
    pub address: String,
    /// Requests received, per `User-Agent`.
    pub requests: Arc<RequestCounter>,
}

/// The axum router.
pub fn router(state: Arc<AppState>) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(state)
}

type Query = HashMap<String, String>;

fn json_response(code: StatusCode, body: &Value) -> Response {
    bytes_response(
        code,
        "application/json",
        serde_json::to_vec(body).unwrap_or_default(),
    )
}

fn bytes_response(code: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    (code, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn error_response(e: &ApiError) -> Response {
    json_response(e.code, &e.to_status())
}

async fn handle(State(state): State<Arc<AppState>>, req: Request) -> Response {
    state.requests.record(req.headers());
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let result = serve(&state, req).await;
    let response = result.unwrap_or_else(|e| error_response(&e));
    tracing::debug!(%method, %path, status = response.status().as_u16(), "dev-cluster request");
    response
}

fn authorized(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(token) = &state.token else { return true };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    presented == Some(token.as_str())
}

async fn serve(state: &Arc<AppState>, req: Request) -> ApiResult<Response> {
    let route = route::parse(req.uri().path()).ok_or_else(ApiError::no_route)?;
    if route != Route::Health && !authorized(state, req.headers()) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Unauthorized",
        ));
    }
    let query: Query = form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if req.method() != Method::GET && !matches!(route, Route::Resource(_)) {
        return Err(ApiError::method_not_allowed());
    }
    let registry = state.store.read().registry.clone();
    let found = |doc: Option<Value>| {
        doc.map(|d| json_response(StatusCode::OK, &d))
            .ok_or_else(ApiError::no_route)
    };
    match route {
        Route::Version => Ok(json_response(StatusCode::OK, &discovery::version())),
        Route::Health => Ok(bytes_response(StatusCode::OK, "text/plain", b"ok".to_vec())),
        Route::Api | Route::Apis => {
            let core = route == Route::Api;
            if let Some(v) = ["v2", "v2beta1"]
                .into_iter()
                .find(|v| accept.contains(&format!("v={v};as=APIGroupDiscoveryList")))
            {
                let body = discovery::aggregated(&registry, core, &format!("apidiscovery.k8s.io/{v}"));
                let ct = HeaderValue::from_str(&format!(
                    "application/json;g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList"
                ))
                .expect("static header");
                let mut response = json_response(StatusCode::OK, &body);
                response.headers_mut().insert(header::CONTENT_TYPE, ct);
                return Ok(response);
            }
            let doc = if core {
                discovery::api_versions(&state.address)
            } else {
                discovery::api_group_list(&registry)
            };
            Ok(json_response(StatusCode::OK, &doc))
        }
        Route::Group(g) => found(discovery::group(&registry, &g)),
        Route::GroupVersion(g, v) => found(discovery::resource_list(&registry, &g, &v)),
        Route::OpenApiV2 if accept.contains("protobuf") => Ok(bytes_response(
            StatusCode::OK,
            openapi::v2::PROTOBUF,
            openapi::v2::protobuf(),
        )),
        Route::OpenApiV2 => Ok(json_response(StatusCode::OK, &openapi::v2::json())),
        Route::OpenApiIndex => Ok(json_response(StatusCode::OK, &openapi::index(&registry))),
        Route::OpenApiDoc(g, v) => found(openapi::document(&registry, &g, &v)),
        Route::Resource(path) => {
            let info = registry
                .get(&path.group, &path.version, &path.plural)
                .ok_or_else(ApiError::no_route)?;
            resource(
                state,
                req,
                Target {
                    info,
                    namespace: String::new(),
                    name: String::new(),
                    subresource: None,
                },
                path,
                query,
                &accept,
            )
            .await
        }
    }
}

fn flag(query: &Query, key: &str) -> bool {
    matches!(query.get(key).map(String::as_str), Some("true" | "1"))
}

fn write_options(query: &Query) -> WriteOptions {
    WriteOptions {
        force: flag(query, "force"),
        dry_run: query.get("dryRun").is_some_and(|v| v == "All"),
        field_manager: query.get("fieldManager").cloned().unwrap_or_default(),
        field_validation: super::admission::FieldValidation::parse(
            query.get("fieldValidation").map(String::as_str),
        ),
    }
}

/// Decodes a JSON (or YAML) body.
fn decode(content_type: &str, body: &Bytes) -> ApiResult<Value> {
    if content_type.contains("protobuf") {
        return super::protobuf::decode(body);
    }
    if content_type.contains("cbor") {
        return Err(ApiError::unsupported_media_type(
            "application/json, application/yaml",
        ));
    }
    let text =
        std::str::from_utf8(body).map_err(|_| ApiError::bad_request("the request body is not UTF-8"))?;
    match serde_json::from_str(text) {
        Ok(v) => Ok(v),
        Err(json_err) if content_type.contains("yaml") => serde_saphyr::from_str::<Value>(text)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e} (as JSON: {json_err})"))),
        Err(e) => Err(ApiError::bad_request(format!(
            "couldn't get version/kind; json parse error: {e}"
        ))),
    }
}

async fn read_body(body: Body) -> ApiResult<Bytes> {
    axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            format!("Request entity too large: limit is {MAX_BODY}"),
        )
    })
}

fn outcome_response(o: Outcome) -> Response {
    let mut response = json_response(o.code, &o.body);
    for w in o.warnings {
        if let Ok(v) = HeaderValue::from_str(&format!("299 - {:?}", w)) {
            response.headers_mut().append(header::WARNING, v);
        }
    }
    response
}

async fn resource(
    state: &Arc<AppState>,
    req: Request,
    mut target: Target,
    path: ResourcePath,
    query: Query,
    accept: &str,
) -> ApiResult<Response> {
    let info = target.info.clone();
    if path.namespace.is_some() && !info.namespaced {
        return Err(ApiError::no_route());
    }
    if info.namespaced && path.namespace.is_none() && path.name.is_some() {
        return Err(ApiError::no_route());
    }
    if path
        .subresource
        .as_deref()
        .is_some_and(|s| s != "status" || !info.status_subresource)
    {
        return Err(ApiError::no_route());
    }
    if info.builtin == Some(super::resource::Builtin::SubjectAccessReview) {
        // Not stored: answered at once from the RBAC objects.
        if req.method() != Method::POST || path.name.is_some() {
            return Err(ApiError::method_not_allowed());
        }
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = decode(&content_type, &read_body(req.into_body()).await?)?;
        let answer = super::rbac::review(&state.store.read(), body)?;
        return Ok(json_response(StatusCode::CREATED, &answer));
    }
    target.namespace = path.namespace.clone().unwrap_or_default();
    target.name = path.name.clone().unwrap_or_default();
    target.subresource = path.subresource.clone();
    let format = Format::from_accept(accept);
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    let method = req.method().clone();
    let store = &state.store;
    let collection = path.name.is_none();
    match (method, collection) {
        (Method::GET, true) if flag(&query, "watch") => {
            let timeout = query
                .get("timeoutSeconds")
                .and_then(|t| t.parse().ok())
                .map(Duration::from_secs);
            let watch_req = WatchRequest {
                info: info.clone(),
                namespace: path.namespace,
                selectors: selectors(&query, &info)?,
                resource_version: query.get("resourceVersion").cloned(),
                send_initial_events: flag(&query, "sendInitialEvents"),
                bookmarks: flag(&query, "allowWatchBookmarks"),
                timeout: timeout.unwrap_or(watch::DEFAULT_TIMEOUT),
                format,
            };
            let body = watch::watch(store, watch_req)?;
            Ok(Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/json")
                .body(body)
                .expect("static response parts"))
        }
        (Method::GET, true) => {
            let sel = selectors(&query, &info)?;
            let page = super::list::Page {
                limit: query.get("limit").and_then(|l| l.parse().ok()),
                continue_token: query.get("continue").filter(|c| !c.is_empty()).cloned(),
            };
            Ok(bytes_response(
                StatusCode::OK,
                "application/json",
                super::list::list(store, &info, path.namespace.as_deref(), &sel, format, &page)?,
            ))
        }
        (Method::GET, false) => {
            let body = table::render(&info, store.get_object(&target)?, format, true);
            Ok(json_response(StatusCode::OK, &body))
        }
        (Method::POST, true) => {
            let body = decode(&content_type, &read_body(req.into_body()).await?)?;
            Ok(outcome_response(store.create(
                &target,
                body,
                &write_options(&query),
            )?))
        }
        (Method::PUT, false) => {
            let body = decode(&content_type, &read_body(req.into_body()).await?)?;
            Ok(outcome_response(store.replace(
                &target,
                body,
                &write_options(&query),
            )?))
        }
        (Method::PATCH, false) => {
            let kind = PatchType::from_content_type(&content_type)
                .ok_or_else(|| ApiError::unsupported_media_type(super::patch::CR_PATCH_TYPES))?;
            let body = decode(&content_type, &read_body(req.into_body()).await?)?;
            Ok(outcome_response(store.patch(
                &target,
                kind,
                body,
                &write_options(&query),
            )?))
        }
        (Method::DELETE, collection) => {
            let raw = read_body(req.into_body()).await?;
            let body = if raw.iter().all(u8::is_ascii_whitespace) {
                json!({})
            } else {
                decode(&content_type, &raw)?
            };
            let options = delete_options(&query, &body);
            if collection {
                let sel = selectors(&query, &info)?;
                let deleted = super::list::delete_collection(
                    store,
                    &target,
                    path.namespace.as_deref(),
                    &sel,
                    &options,
                )?;
                let list = json!({"kind": format!("{}List", info.kind), "apiVersion": info.api_version(),
                    "metadata": {}, "items": deleted.iter().map(|o| present(&info, o)).collect::<Vec<_>>()});
                return Ok(json_response(StatusCode::OK, &list));
            }
            Ok(outcome_response(store.delete(&target, &options)?))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn selectors(query: &Query, info: &super::resource::ResourceInfo) -> ApiResult<Selectors> {
    Selectors::parse(
        query.get("labelSelector").map(String::as_str),
        query.get("fieldSelector").map(String::as_str),
        info,
    )
}

fn delete_options(query: &Query, body: &Value) -> DeleteOptions {
    let from_query = |k: &str| query.get(k).cloned();
    let policy = body["propagationPolicy"]
        .as_str()
        .map(String::from)
        .or_else(|| from_query("propagationPolicy"));
    let dry_run = body["dryRun"]
        .as_array()
        .is_some_and(|a| a.iter().any(|v| v == "All"))
        || from_query("dryRun").as_deref() == Some("All");
    let orphan = body["orphanDependents"].as_bool() == Some(true)
        || from_query("orphanDependents").as_deref() == Some("true");
    let propagation = match policy.as_deref() {
        Some("Orphan") => Propagation::Orphan,
        Some("Foreground") => Propagation::Foreground,
        _ if orphan => Propagation::Orphan,
        _ => Propagation::Background,
    };
    DeleteOptions {
        dry_run,
        propagation,
        uid: body["preconditions"]["uid"].as_str().map(String::from),
        resource_version: body["preconditions"]["resourceVersion"]
            .as_str()
            .map(String::from),
    }
}
