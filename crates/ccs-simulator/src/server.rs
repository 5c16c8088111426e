//! Shared state of the running simulator, the full router, and state-file persistence.

use super::auth::Grant;
use super::calllog::CallLog;
use super::errors::ApiError;
use super::faults::Faults;
use super::world::World;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The OpenAPI contract, served at `/openapi.yaml`.
pub const OPENAPI: &str = include_str!("../../../config/customer-space-api.yaml");

/// [`OPENAPI`] rendered as a self-contained HTML page by Redocly's `build-docs`, served at `/docs`.
/// Committed (so the crate builds offline, without node) and kept fresh by the test
/// `tests/portal/openapi_tools.rs`, which also regenerates it with `UPDATE_API_DOCS=1`.
pub const OPENAPI_DOCS: &str = include_str!("../docs/customer-space.html");

/// The Cloud Director CloudAPI subset the simulator serves, at `/cloudapi/openapi.yaml`.
pub const VCD_OPENAPI: &str = include_str!("../../../config/cloud-director-api.yaml");

/// [`VCD_OPENAPI`] rendered like [`OPENAPI_DOCS`], served at `/cloudapi/docs`.
pub const VCD_OPENAPI_DOCS: &str = include_str!("../docs/cloud-director.html");

/// Everything a handler may touch. Locks are held briefly and never across an await.
pub struct App {
    world: RwLock<World>,
    /// Bearer tokens handed out.
    pub tokens: Mutex<HashMap<String, Grant>>,
    /// The call log.
    pub calls: Mutex<CallLog>,
    /// Maximum records kept in the call log.
    pub call_log_capacity: usize,
    /// Injected faults.
    pub faults: Mutex<Faults>,
    state_file: Option<PathBuf>,
    /// Serializes saves so an older snapshot never overwrites a newer one.
    persist_lock: Mutex<()>,
}

impl App {
    /// Wraps a world.
    pub fn new(world: World, state_file: Option<PathBuf>) -> Self {
        Self {
            call_log_capacity: world.config.call_log_capacity,
            faults: Mutex::new(Faults::new(world.config.seed)),
            world: RwLock::new(world),
            tokens: Mutex::new(HashMap::new()),
            calls: Mutex::new(CallLog::default()),
            state_file,
            persist_lock: Mutex::new(()),
        }
    }

    /// Reads the world (a poisoned lock still holds consistent data: every write is one step).
    pub fn read(&self) -> RwLockReadGuard<'_, World> {
        self.world.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes the world; call [`App::persist`] after.
    pub fn write(&self) -> RwLockWriteGuard<'_, World> {
        self.world.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The client id a token was issued to.
    pub fn client_of_token(&self, token: &str) -> Option<String> {
        let credential = self
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
            .map(|g| g.credential)?;
        self.read()
            .credentials
            .get(credential)
            .map(|c| c.client_id.clone())
    }

    /// Forgets every token: the next business call of each client gets a 401.
    pub fn revoke_tokens(&self) {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Saves the world to the state file, if any (write to a temporary file, then rename).
    pub fn persist(&self) {
        let Some(path) = &self.state_file else { return };
        let _guard = self.persist_lock.lock().unwrap_or_else(|e| e.into_inner());
        let json = {
            let world = self.read();
            let mut copy = world.clone();
            copy.clock = world.clock.folded();
            serde_json::to_vec_pretty(&copy)
        };
        let result = json.map_err(std::io::Error::other).and_then(|bytes| {
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, bytes)?;
            std::fs::rename(&tmp, path)
        });
        if let Err(err) = result {
            tracing::error!(path = %path.display(), %err, "could not save simulator state");
        }
    }
}

/// Loads a saved world, keeping the new config (the saved one is not trusted blindly).
pub fn load_state(path: &std::path::Path, config: &super::SimConfig) -> anyhow::Result<Option<World>> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let mut world: World = serde_json::from_slice(&bytes)
                .map_err(|e| anyhow::anyhow!("state file {}: {e}", path.display()))?;
            world.config = config.clone();
            Ok(Some(world))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::anyhow!("state file {}: {e}", path.display())),
    }
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI)
}

async fn docs() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], OPENAPI_DOCS)
}

async fn vcd_openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/yaml")], VCD_OPENAPI)
}

async fn vcd_docs() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        VCD_OPENAPI_DOCS,
    )
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        21,
        "Method not allowed",
        "method not allowed on this route".into(),
    )
}

/// The whole router: business routes (with faults and call log), `/openapi.yaml`, `/docs`, and the admin
/// routes when enabled.
pub fn router(app: Arc<App>, admin: bool) -> Router {
    let business = super::handlers::routes()
        .merge(super::vcd::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            app.clone(),
            super::faults::inject,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            super::calllog::record,
        ));
    let mut router = business
        .route("/openapi.yaml", axum::routing::get(openapi))
        .route("/docs", axum::routing::get(docs))
        .route("/cloudapi/openapi.yaml", axum::routing::get(vcd_openapi))
        .route("/cloudapi/docs", axum::routing::get(vcd_docs));
    if admin {
        router = router.nest("/admin", super::admin::routes());
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
}
