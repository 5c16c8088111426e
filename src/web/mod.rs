//! The optional status page (`web.listen`): an overview of every contract the viewer may see,
//! one page per contract, and the overview as JSON. Built from the operator's caches only: a
//! view calls neither the API server nor the portal (in `proxy` mode, SubjectAccessReviews are
//! asked and cached per person and namespace).

pub mod access;
pub mod i18n;
pub mod model;
pub mod pages;

use crate::controllers::context::Context;
use access::{Access, Rights, Viewer};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone)]
struct WebState {
    ctx: Arc<Context>,
    access: Arc<Access>,
}

/// The page's routes over the operator's caches.
pub fn router(ctx: Arc<Context>) -> Router {
    let access = Arc::new(Access::new(&ctx.config.web, ctx.client.clone()));
    Router::new()
        .route("/", get(overview_page))
        .route("/api/overview", get(overview_json))
        .route("/contracts/{namespace}/{name}", get(contract_page))
        .route("/style.css", get(style))
        .with_state(WebState { ctx, access })
        .layer(axum::middleware::map_response(secure_headers))
        // A phone on a slow network: the overview of fifty contracts is mostly repeated markup.
        .layer(tower_http::compression::CompressionLayer::new())
}

/// Binds `listen` and serves the page until `shutdown` resolves; returns the bound address.
pub async fn serve(
    listen: &str,
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("binding web.listen {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    let app = router(ctx);
    let task = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            tracing::error!(%err, "status page server stopped");
        }
    });
    Ok((addr, task))
}

/// No script, no frame, no referrer; the words depend on Accept-Language. Inline style
/// attributes are allowed (the bars' widths: numbers the operator computes, never text).
async fn secure_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    let set = |h: &mut HeaderMap, k: header::HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::VARY, "Accept-Language");
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    response
}

fn texts(headers: &HeaderMap) -> &'static i18n::Texts {
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    i18n::texts(i18n::locale(accept))
}

/// The viewer's rights in every namespace holding contracts.
async fn rights(state: &WebState, viewer: &Viewer) -> HashMap<String, Rights> {
    let mut all = HashMap::new();
    for ns in model::namespaces(&state.ctx) {
        let rights = state.access.rights(viewer, &ns).await;
        all.insert(ns, rights);
    }
    all
}

fn unauthenticated(t: &i18n::Texts) -> Response {
    (StatusCode::UNAUTHORIZED, pages::message(t, t.sign_in)).into_response()
}

async fn visible_overview(state: &WebState, viewer: &Viewer) -> model::Overview {
    let rights = rights(state, viewer).await;
    model::overview(&state.ctx, |ns| rights.get(ns).is_some_and(|r| r.contracts))
}

/// Adds how long the page took to build (`Server-Timing`: browsers' developer tools and the
/// benchmark read it).
fn timed(started: std::time::Instant, response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    let value = format!("render;dur={:.3}", started.elapsed().as_secs_f64() * 1000.0);
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert("server-timing", value);
    }
    response
}

async fn overview_page(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let started = std::time::Instant::now();
    let t = texts(&headers);
    let Some(viewer) = state.access.viewer(&headers) else {
        return unauthenticated(t);
    };
    timed(
        started,
        pages::overview(t, &visible_overview(&state, &viewer).await),
    )
}

async fn overview_json(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let started = std::time::Instant::now();
    let Some(viewer) = state.access.viewer(&headers) else {
        return (StatusCode::UNAUTHORIZED, "no user named by the proxy").into_response();
    };
    timed(started, axum::Json(visible_overview(&state, &viewer).await))
}

async fn contract_page(
    State(state): State<WebState>,
    Path((namespace, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let started = std::time::Instant::now();
    let t = texts(&headers);
    let Some(viewer) = state.access.viewer(&headers) else {
        return unauthenticated(t);
    };
    let rights = state.access.rights(&viewer, &namespace).await;
    let detail = rights
        .contracts
        .then(|| model::detail(&state.ctx, &namespace, &name, rights.emails))
        .flatten();
    match detail {
        Some(d) => timed(started, pages::contract(t, &d)),
        // The same answer whether the contract is missing or hidden: nothing leaks.
        None => (StatusCode::NOT_FOUND, pages::message(t, t.not_found)).into_response(),
    }
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        pages::STYLE,
    )
        .into_response()
}
