//! Access to the portal on behalf of a CloudContract: credentials from its Secret (only Secrets
//! labelled `customerspace.io/credentials=true`, only the keys `clientId`, `clientSecret`,
//! `apiKey`), only to an allowed endpoint; one client per credentials (keeping its token cache);
//! and per-credential read caches so that every object of a contract shares one read per poll
//! interval (the dashboard, the users, the catalog) while other credentials never see them.

use super::claims::Claims;
use super::common::{Category, ReconcileError};
use super::shared_read::{CAPACITY, Cached, SharedRead};
use crate::api::CloudContract;
use crate::api::common::{KEY_API_KEY, KEY_CLIENT_ID, KEY_CLIENT_SECRET, LABEL_CREDENTIALS};
use crate::config::OperatorConfig;
use crate::portal::{
    CatalogItem, ContractUser, CustomerSpace, Dashboard, EndpointPolicy, PortalError, PortalShared,
    RequestState, ReqwestPortal, ServiceRequest,
};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::{Api, ResourceExt};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A portal read shared by every object of one contract and credential.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// Contract, weather, incidents, consumption, bills.
    pub dashboard: Arc<Dashboard>,
    /// When it was read.
    pub fetched_at: Instant,
}

/// The cached portal reads of one contract, each with the time it was read.
#[derive(Clone, Debug, Default)]
pub struct CachedReads {
    /// Contract, weather, incidents, consumption, bills.
    pub dashboard: Option<Cached<Dashboard>>,
    /// The contract's users.
    pub users: Option<Cached<Vec<ContractUser>>>,
    /// The contract's catalog.
    pub catalog: Option<Cached<Vec<CatalogItem>>>,
    /// The contract's requests.
    pub requests: Option<Cached<Vec<RequestSummary>>>,
}

/// What the status and the status page use of a portal request. The cache holds this, not the
/// request: a contract's list, with each request's parameters and history, would cost about a
/// kilobyte per request for as long as it is cached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestSummary {
    /// Request id.
    pub id: String,
    /// Catalog item.
    pub catalog_item: String,
    /// Quantity.
    pub quantity: u32,
    /// State.
    pub state: RequestState,
    /// When it was submitted.
    pub submitted_at: chrono::DateTime<chrono::Utc>,
}

impl From<ServiceRequest> for RequestSummary {
    fn from(r: ServiceRequest) -> Self {
        Self {
            id: r.id,
            catalog_item: r.catalog_item,
            quantity: r.quantity,
            state: r.state,
            submitted_at: r.submitted_at,
        }
    }
}

/// A client and the Secret version it was built from.
struct ClientEntry {
    version: String,
    client: Arc<dyn CustomerSpace>,
}

/// Portal clients and the read caches, all keyed by credential and bounded.
pub struct PortalAccess {
    shared: Arc<PortalShared>,
    default_endpoint: String,
    /// The endpoints the operator may call (`portal.endpoint` + `portal.allowedEndpoints`).
    endpoints: EndpointPolicy,
    /// Per Secret (`endpoint|namespace/name`): the client built from its current version.
    clients: Mutex<lru::LruCache<String, ClientEntry>>,
    /// The latest resourceVersion the (label-selected) Secret watch delivered, per
    /// `namespace/name`: while a cached client was built from that version, it is used without
    /// reading the Secret again. Entries leave with their Secret, and past [`CAPACITY`] the least
    /// recently seen go (a Secret deleted while the watch was down sends no delete event; a
    /// missing entry only costs one Secret read).
    watched_secrets: Mutex<lru::LruCache<String, String>>,
    /// The dashboard of each contract, shared by every object on it (see [`cache_key`]); never
    /// older than the CloudContract poll interval (with the jitter's slack).
    snapshots: SharedRead<Dashboard>,
    /// The users of each contract, shared by every PortalUser on it (see [`cache_key`]).
    pub users: SharedRead<Vec<ContractUser>>,
    /// The catalog of each contract, shared by every ServiceOrder on it (see [`cache_key`]).
    pub catalogs: SharedRead<Vec<CatalogItem>>,
    /// The requests of each contract (ServiceOrders' and those made in the portal), read by the
    /// CloudContract controller once per poll interval (see [`cache_key`]).
    pub requests: SharedRead<Vec<RequestSummary>>,
    /// Contract ids claimed by proof (see [`Claims`]).
    pub claims: Claims,
    /// `ccs_portal_cache_entries{cache}`: entries per cache (a debug metric).
    sizes: prometheus::IntGaugeVec,
}

/// The key of a contract in the shared read caches: the client's credential scope (endpoint,
/// Secret namespace/name/uid) and the contract id.
pub fn cache_key(client: &dyn CustomerSpace, contract_id: &str) -> String {
    format!("{}#{contract_id}", client.cache_scope())
}

/// The credential scope of a Secret's client: `endpoint|namespace/name|uid`.
fn scope(endpoint: &str, secret: &str, uid: &str) -> String {
    format!("{endpoint}|{secret}|{uid}")
}

fn lru<V>() -> Mutex<lru::LruCache<String, V>> {
    Mutex::new(super::common::lru_cache(CAPACITY))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the operator reads of a credentials Secret, and the fix when it is missing.
fn fixed_keys_hint() -> String {
    format!(
        "the label {LABEL_CREDENTIALS}=true and the keys {KEY_CLIENT_ID}, {KEY_CLIENT_SECRET} and {KEY_API_KEY}"
    )
}

impl PortalAccess {
    /// One shared HTTP pool, rate limiter and metric set for every client.
    pub fn new(config: &OperatorConfig, registry: &prometheus::Registry) -> anyhow::Result<Self> {
        let sizes = prometheus::IntGaugeVec::new(
            prometheus::Opts::new(
                "ccs_portal_cache_entries",
                "Entries in the operator's portal caches (clients, snapshots, users, catalogs)",
            ),
            &["cache"],
        )?;
        registry.register(Box::new(sizes.clone()))?;
        let controllers = &config.controllers;
        Ok(Self {
            shared: PortalShared::new(config.portal.client_config(), registry)?,
            default_endpoint: config.portal.endpoint.clone(),
            endpoints: config.portal.endpoint_policy()?,
            clients: lru(),
            watched_secrets: lru(),
            snapshots: SharedRead::new(
                controllers.cloud_contract.poll_interval,
                Some(sizes.with_label_values(&["snapshots"])),
            ),
            users: SharedRead::new(
                controllers.portal_user.poll_interval,
                Some(sizes.with_label_values(&["users"])),
            ),
            catalogs: SharedRead::new(
                controllers.service_order.poll_interval,
                Some(sizes.with_label_values(&["catalogs"])),
            ),
            requests: SharedRead::new(
                controllers.cloud_contract.poll_interval,
                Some(sizes.with_label_values(&["requests"])),
            ),
            claims: Claims::default(),
            sizes,
        })
    }

    fn report(&self, cache: &str, len: usize) {
        self.sizes
            .with_label_values(&[cache])
            .set(i64::try_from(len).unwrap_or(i64::MAX));
    }

    /// The portal client for a CloudContract, built from its credentials Secret. The endpoint and
    /// the key names are checked first, then the Secret's label: a refused contract sends nothing,
    /// and an unmarked Secret's values are never used.
    pub async fn client_for(
        &self,
        kube: &kube::Client,
        contract: &CloudContract,
    ) -> Result<Arc<dyn CustomerSpace>, ReconcileError> {
        let endpoint = self.endpoint_of(contract);
        self.check_endpoint(&endpoint)?;
        let namespace = contract.namespace().unwrap_or_default();
        let spec_ref = &contract.spec.credentials_secret_ref;
        check_key_names(spec_ref, &namespace)?;
        let secret_name = format!("{namespace}/{}", spec_ref.name);
        let key = format!("{endpoint}|{secret_name}");
        if let Some(client) = self.current_client(&key, &secret_name) {
            return Ok(client);
        }
        let secret = Api::<Secret>::namespaced(kube.clone(), &namespace)
            .get_opt(&spec_ref.name)
            .await?;
        let secret = secret.ok_or_else(|| {
            ReconcileError::new(
                Category::SecretNotFound,
                format!(
                    "spec.credentialsSecretRef.name: Secret {secret_name} not found; create it with {}",
                    fixed_keys_hint()
                ),
            )
        })?;
        if !is_marked(&secret.metadata) {
            return Err(ReconcileError::new(
                Category::SecretNotMarked,
                format!(
                    "Secret {secret_name} is not marked as Customer Space credentials: the operator reads only Secrets with the label {LABEL_CREDENTIALS}=true; add it with `kubectl label secret {} -n {namespace} {LABEL_CREDENTIALS}=true` (keys {KEY_CLIENT_ID}, {KEY_CLIENT_SECRET}, {KEY_API_KEY})",
                    spec_ref.name
                ),
            ));
        }
        let read = |key: &str| -> Result<String, ReconcileError> {
            let bytes = secret
                .data
                .as_ref()
                .and_then(|d| d.get(key))
                .map(|b| b.0.clone())
                .unwrap_or_default();
            let text = String::from_utf8(bytes).unwrap_or_default();
            let text = text.trim().to_string();
            if text.is_empty() {
                return Err(ReconcileError::new(
                    Category::SecretInvalid,
                    format!(
                        "Secret {secret_name} has no value for key {key:?}; add it (the operator reads {})",
                        fixed_keys_hint()
                    ),
                ));
            }
            Ok(text)
        };
        let credentials = crate::portal::Credentials::new(
            read(KEY_CLIENT_ID)?,
            read(KEY_CLIENT_SECRET)?,
            read(KEY_API_KEY)?,
        );
        // One client per Secret, replaced when the Secret's version changes: a rotated Secret gets
        // a fresh client (and token), and the old one is dropped rather than kept forever.
        let version = secret.resource_version().unwrap_or_default();
        let uid = secret.uid().unwrap_or_default();
        let mut clients = lock(&self.clients);
        let client = match clients.get(&key) {
            Some(entry) if entry.version == version => entry.client.clone(),
            _ => {
                let client: Arc<dyn CustomerSpace> = Arc::new(
                    ReqwestPortal::new(self.shared.clone(), endpoint.clone(), credentials)
                        .with_cache_scope(scope(&endpoint, &secret_name, &uid)),
                );
                let entry = ClientEntry {
                    version,
                    client: client.clone(),
                };
                clients.put(key, entry);
                client
            }
        };
        self.report("clients", clients.len());
        Ok(client)
    }

    /// The cached client of `key` when it was built from the Secret version the watch last saw.
    fn current_client(&self, key: &str, secret: &str) -> Option<Arc<dyn CustomerSpace>> {
        let watched = lock(&self.watched_secrets).get(secret).cloned()?;
        lock(&self.clients)
            .get(key)
            .filter(|entry| entry.version == watched)
            .map(|entry| entry.client.clone())
    }

    /// Records a credentials Secret version delivered by the (metadata-only, label-selected)
    /// watch: clients built from an older version are no longer used, the next caller reads the
    /// Secret again. A deleted (or unlabelled) Secret is forgotten.
    pub fn secret_seen(&self, meta: &ObjectMeta, deleted: bool) {
        let name = format!(
            "{}/{}",
            meta.namespace.as_deref().unwrap_or_default(),
            meta.name.as_deref().unwrap_or_default()
        );
        let mut watched = lock(&self.watched_secrets);
        if deleted || !is_marked(meta) {
            watched.pop(&name);
        } else {
            watched.put(name, meta.resource_version.clone().unwrap_or_default());
        }
        self.report("secrets", watched.len());
    }

    /// The contract's dashboard, read at most once per `max_age` (capped by the configured
    /// CloudContract poll interval) for every object of the contract using the same credentials.
    /// Concurrent callers wait for the one read in flight instead of issuing their own.
    /// `endpoint_key` names the cache only for clients without a credential scope.
    pub async fn snapshot(
        &self,
        client: &dyn CustomerSpace,
        endpoint_key: &str,
        contract_id: &str,
        max_age: Duration,
    ) -> Result<Snapshot, PortalError> {
        let key = snapshot_key(client, endpoint_key, contract_id);
        let cached = self
            .snapshots
            .get_cached(&key, max_age, || client.dashboard(contract_id))
            .await?;
        Ok(Snapshot {
            dashboard: cached.value,
            fetched_at: cached.fetched_at,
        })
    }

    /// Drops the cached snapshot of a contract (after a write that changes it).
    pub fn invalidate(&self, client: &dyn CustomerSpace, endpoint_key: &str, contract_id: &str) {
        self.snapshots
            .invalidate(&snapshot_key(client, endpoint_key, contract_id));
    }

    /// Forgets everything cached for a deleted CloudContract: its client, its snapshot, users and
    /// catalog, and its claim on the contract id.
    pub fn forget(&self, contract: &CloudContract) {
        let ours = self.keys_of(contract);
        self.snapshots.evict(&ours);
        self.users.evict(&ours);
        self.catalogs.evict(&ours);
        self.requests.evict(&ours);
        let endpoint = self.endpoint_of(contract);
        let secret = format!(
            "{}/{}",
            contract.namespace().unwrap_or_default(),
            contract.spec.credentials_secret_ref.name
        );
        let mut clients = lock(&self.clients);
        clients.pop(&format!("{endpoint}|{secret}"));
        self.report("clients", clients.len());
        self.claims.forget(contract);
    }

    /// Matches the cache keys of a CloudContract: its endpoint and credentials Secret (any
    /// version of it), and its contract id.
    fn keys_of(&self, contract: &CloudContract) -> impl Fn(&str) -> bool + use<> {
        let endpoint = self.endpoint_of(contract);
        let namespace = contract.namespace().unwrap_or_default();
        let secret = format!("{namespace}/{}", contract.spec.credentials_secret_ref.name);
        let prefix = format!("{endpoint}|{secret}|");
        let suffix = format!("#{}", contract.spec.contract_id);
        move |key: &str| key.starts_with(&prefix) && key.ends_with(&suffix)
    }

    /// What the caches hold for a CloudContract, without any call (the status page).
    pub fn cached(&self, contract: &CloudContract) -> CachedReads {
        let ours = self.keys_of(contract);
        CachedReads {
            dashboard: self.snapshots.peek(&ours),
            users: self.users.peek(&ours),
            catalog: self.catalogs.peek(&ours),
            requests: self.requests.peek(&ours),
        }
    }

    /// Refuses an endpoint the operator's configuration does not allow.
    pub fn check_endpoint(&self, endpoint: &str) -> Result<(), ReconcileError> {
        self.endpoints.check(endpoint).map(drop).map_err(|why| {
            ReconcileError::new(
                Category::EndpointNotAllowed,
                format!(
                    "spec.endpoint: {why}; remove spec.endpoint to use the operator's endpoint {}, or ask the operator's administrators to add it to portal.allowedEndpoints (allowed: {})",
                    self.default_endpoint,
                    self.endpoints.describe()
                ),
            )
        })
    }

    /// The endpoint a contract talks to (its override or the default).
    pub fn endpoint_of(&self, contract: &CloudContract) -> String {
        contract
            .spec
            .endpoint
            .clone()
            .unwrap_or_else(|| self.default_endpoint.clone())
    }
}

/// The snapshot cache key: the client's credential scope, or `endpoint_key` without one.
fn snapshot_key(client: &dyn CustomerSpace, endpoint_key: &str, contract_id: &str) -> String {
    match client.cache_scope() {
        "" => format!("{endpoint_key}#{contract_id}"),
        _ => cache_key(client, contract_id),
    }
}

/// Whether a Secret carries the credentials label.
pub fn is_marked(meta: &ObjectMeta) -> bool {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(LABEL_CREDENTIALS))
        .is_some_and(|v| v == "true")
}

/// Refuses key names other than the fixed ones (objects stored before the CRD rule existed).
fn check_key_names(
    spec_ref: &crate::api::common::CredentialsSecretRef,
    namespace: &str,
) -> Result<(), ReconcileError> {
    for (field, given, fixed) in [
        ("clientIdKey", &spec_ref.client_id_key, KEY_CLIENT_ID),
        ("clientSecretKey", &spec_ref.client_secret_key, KEY_CLIENT_SECRET),
        ("apiKeyKey", &spec_ref.api_key_key, KEY_API_KEY),
    ] {
        if given != fixed {
            return Err(ReconcileError::new(
                Category::SecretInvalid,
                format!(
                    "spec.credentialsSecretRef.{field}: the operator reads only the key {fixed}; remove {field} and store the value under {fixed} in Secret {namespace}/{} (labelled {LABEL_CREDENTIALS}=true)",
                    spec_ref.name
                ),
            ));
        }
    }
    Ok(())
}

/// Maps a portal error to the controller layer, naming what to check.
pub fn portal_error(err: PortalError, what: &str) -> ReconcileError {
    use crate::portal::ErrorCategory as P;
    let category = match err.category {
        P::Unauthorized => Category::Unauthorized,
        P::Forbidden => Category::Forbidden,
        P::NotFound => Category::NotFound,
        P::Conflict => Category::Conflict,
        P::Invalid => Category::InvalidSpec,
        P::RateLimited => Category::RateLimited,
        P::Unavailable | P::Transport | P::Decode => Category::Unavailable,
        P::Timeout => Category::Timeout,
        P::TooLarge => Category::ResponseTooLarge,
    };
    let hint = match category {
        Category::Unauthorized => {
            "; check the client id, client secret and API key in the credentials Secret"
        }
        Category::Forbidden => "; grant the API client the missing profile in the portal",
        _ => "",
    };
    ReconcileError::new(category, format!("{what}: {err}{hint}"))
}
