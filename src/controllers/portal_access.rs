//! Access to the portal on behalf of a CloudContract: credentials from its Secret, one client per
//! credentials (keeping its token cache), and a per-contract snapshot cache so that every object
//! of a contract shares one read per poll interval (the dashboard, the users, the catalog).

use super::common::{Category, ReconcileError};
use super::shared_read::SharedRead;
use crate::api::CloudContract;
use crate::config::OperatorConfig;
use crate::portal::{
    CatalogItem, ContractUser, CustomerSpace, Dashboard, EndpointPolicy, PortalError, PortalShared,
    ReqwestPortal,
};
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, ResourceExt};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A portal read shared by every object of one contract.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// Contract, weather, incidents, consumption, bills.
    pub dashboard: Arc<Dashboard>,
    /// When it was read.
    pub fetched_at: Instant,
}

/// A Secret's resourceVersion and the client built from it.
type VersionedClient = (String, Arc<dyn CustomerSpace>);

type SnapshotSlot = Arc<tokio::sync::Mutex<Option<Snapshot>>>;

/// Portal clients and the snapshot cache.
pub struct PortalAccess {
    shared: Arc<PortalShared>,
    default_endpoint: String,
    /// The endpoints the operator may call (`portal.endpoint` + `portal.allowedEndpoints`).
    endpoints: EndpointPolicy,
    /// Per Secret (`endpoint|namespace/name`): the Secret's resourceVersion and its client.
    clients: Mutex<HashMap<String, VersionedClient>>,
    /// The latest resourceVersion the Secret watch delivered, per `namespace/name`: while a cached
    /// client was built from that version, it is used without reading the Secret again.
    watched_secrets: Mutex<HashMap<String, String>>,
    snapshots: Mutex<HashMap<String, SnapshotSlot>>,
    /// The users of each contract, shared by every PortalUser on it (see [`cache_key`]).
    pub users: SharedRead<Vec<ContractUser>>,
    /// The catalog of each contract, shared by every ServiceOrder on it (see [`cache_key`]).
    pub catalogs: SharedRead<Vec<CatalogItem>>,
}

/// The key of a contract in the shared read caches.
pub fn cache_key(endpoint: &str, contract_id: &str) -> String {
    format!("{endpoint}|{contract_id}")
}

impl PortalAccess {
    /// One shared HTTP pool, rate limiter and metric set for every client.
    pub fn new(config: &OperatorConfig, registry: &prometheus::Registry) -> anyhow::Result<Self> {
        Ok(Self {
            shared: PortalShared::new(config.portal.client_config(), registry)?,
            default_endpoint: config.portal.endpoint.clone(),
            endpoints: config.portal.endpoint_policy()?,
            clients: Mutex::default(),
            watched_secrets: Mutex::default(),
            snapshots: Mutex::default(),
            users: SharedRead::default(),
            catalogs: SharedRead::default(),
        })
    }

    /// The portal client for a CloudContract, built from its credentials Secret. The endpoint is
    /// checked against the allowlist first: a refused endpoint reads no Secret and sends nothing.
    pub async fn client_for(
        &self,
        kube: &kube::Client,
        contract: &CloudContract,
    ) -> Result<Arc<dyn CustomerSpace>, ReconcileError> {
        let endpoint = self.endpoint_of(contract);
        self.check_endpoint(&endpoint)?;
        let namespace = contract.namespace().unwrap_or_default();
        let spec_ref = &contract.spec.credentials_secret_ref;
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
                    "spec.credentialsSecretRef.name: Secret {namespace}/{} not found; create it with the keys {}, {} and {}",
                    spec_ref.name, spec_ref.client_id_key, spec_ref.client_secret_key, spec_ref.api_key_key
                ),
            )
        })?;
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
                        "Secret {namespace}/{} has no value for key {key:?} (spec.credentialsSecretRef)",
                        spec_ref.name
                    ),
                ));
            }
            Ok(text)
        };
        let credentials = crate::portal::Credentials::new(
            read(&spec_ref.client_id_key)?,
            read(&spec_ref.client_secret_key)?,
            read(&spec_ref.api_key_key)?,
        );
        // One client per Secret, replaced when the Secret's version changes: a rotated Secret gets
        // a fresh client (and token), and the old one is dropped rather than kept forever.
        let version = secret.resource_version().unwrap_or_default();
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        match clients.get(&key) {
            Some((seen, client)) if *seen == version => Ok(client.clone()),
            _ => {
                let client: Arc<dyn CustomerSpace> =
                    Arc::new(ReqwestPortal::new(self.shared.clone(), endpoint, credentials));
                clients.insert(key, (version, client.clone()));
                Ok(client)
            }
        }
    }

    /// The cached client of `key` when it was built from the Secret version the watch last saw.
    fn current_client(&self, key: &str, secret: &str) -> Option<Arc<dyn CustomerSpace>> {
        let watched = self
            .watched_secrets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(secret)
            .cloned()?;
        let clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        clients
            .get(key)
            .filter(|(version, _)| *version == watched)
            .map(|(_, client)| client.clone())
    }

    /// Records a Secret version delivered by the watch (a change or a deletion): clients built
    /// from an older version are no longer used, the next caller reads the Secret again.
    pub fn secret_seen(&self, secret: &Secret) {
        let name = format!("{}/{}", secret.namespace().unwrap_or_default(), secret.name_any());
        self.watched_secrets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name, secret.resource_version().unwrap_or_default());
    }

    /// The contract's dashboard, read at most once per `max_age` for every object of the contract.
    /// Concurrent callers wait for the one read in flight instead of issuing their own.
    pub async fn snapshot(
        &self,
        client: &dyn CustomerSpace,
        endpoint_key: &str,
        contract_id: &str,
        max_age: Duration,
    ) -> Result<Snapshot, PortalError> {
        let slot = {
            let mut snapshots = self.snapshots.lock().unwrap_or_else(|p| p.into_inner());
            snapshots
                .entry(cache_key(endpoint_key, contract_id))
                .or_default()
                .clone()
        };
        let mut guard = slot.lock().await;
        if let Some(snapshot) = guard.as_ref().filter(|s| s.fetched_at.elapsed() < max_age) {
            return Ok(snapshot.clone());
        }
        let dashboard = client.dashboard(contract_id).await?;
        let snapshot = Snapshot {
            dashboard: Arc::new(dashboard),
            fetched_at: Instant::now(),
        };
        *guard = Some(snapshot.clone());
        Ok(snapshot)
    }

    /// Drops the cached snapshot of a contract (after a write that changes it).
    pub fn invalidate(&self, endpoint_key: &str, contract_id: &str) {
        self.snapshots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&cache_key(endpoint_key, contract_id));
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
