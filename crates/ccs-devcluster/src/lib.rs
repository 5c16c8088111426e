//! An embedded Kubernetes API server for development and tests (`ccs-dev dev-cluster`).
//!
//! It speaks the real REST protocol over plain HTTP so that the unmodified operator (kube
//! `Client`, kube-runtime `Controller`) and the real `kubectl` run against it. It serves built-in
//! Namespace, ConfigMap, Secret, Event (core and events.k8s.io), Lease and
//! CustomResourceDefinition, and any custom resource whose CRD a client applies. It is a
//! development and test tool, not a production API server: everything lives in memory (optionally
//! snapshotted to a directory), there is no RBAC, no admission webhooks, and TLS (with a CA made at
//! start) only when a bearer token is required.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use ccs_devcluster::{DevCluster, DevClusterConfig};
//! let cluster = DevCluster::start(DevClusterConfig::default()).await?;
//! let client = cluster.client()?;
//! # drop(client);
//! cluster.shutdown().await;
//! # Ok(()) }
//! ```

pub mod admission;
pub mod builtin;
pub mod cli;
pub mod discovery;
pub mod error;
pub mod events;
pub mod gc;
pub mod http;
pub mod list;
pub mod managed;
pub mod meta;
pub mod openapi;
pub mod ops;
pub mod patch;
pub mod persist;
pub mod protobuf;
pub mod rbac;
pub mod requests;
pub mod resource;
pub mod route;
pub mod selector;
pub mod store;
pub mod table;
pub mod tls;
pub mod typed;
pub mod view;
pub mod watch;

use anyhow::Context;
use axum::http as http_types;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use store::Store;
use tokio::task::JoinHandle;

/// How to start a dev cluster.
#[derive(Debug, Clone)]
pub struct DevClusterConfig {
    /// Address to bind, `127.0.0.1:0` for any free port.
    pub listen: String,
    /// Bearer token clients must present (the kubeconfig carries it). With a token the server
    /// speaks HTTPS (kubectl sends credentials only over TLS), with a CA generated at start.
    pub token: Option<String>,
    /// Directory holding a snapshot of the store across restarts.
    pub data_dir: Option<PathBuf>,
    /// Changes kept for watch resumption; older resourceVersions get 410 Expired.
    pub history_limit: usize,
}

impl Default for DevClusterConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:0".into(),
            token: None,
            data_dir: None,
            history_limit: store::DEFAULT_HISTORY,
        }
    }
}

/// A running dev cluster.
#[derive(Debug)]
pub struct DevCluster {
    addr: SocketAddr,
    store: Arc<Store>,
    requests: Arc<requests::RequestCounter>,
    token: Option<String>,
    tls: Option<tls::TlsMaterial>,
    data_dir: Option<PathBuf>,
    kubeconfig: Option<PathBuf>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: JoinHandle<()>,
    persister: Option<JoinHandle<()>>,
}

/// Namespaces every cluster starts with.
const INITIAL_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

impl DevCluster {
    /// Binds, loads the data directory if any, and starts serving.
    pub async fn start(config: DevClusterConfig) -> anyhow::Result<Self> {
        let store = Arc::new(Store::new(config.history_limit));
        let loaded = match &config.data_dir {
            Some(dir) => persist::load(&store, dir)?,
            None => false,
        };
        if !loaded {
            bootstrap(&store)?;
        }
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(requests::RequestCounter::default());
        let state = Arc::new(http::AppState {
            store: store.clone(),
            token: config.token.clone(),
            address: addr.to_string(),
            requests: requests.clone(),
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = http::router(state);
        let tls = match config.token {
            Some(_) => Some(tls::generate(&addr.ip().to_string())?),
            None => None,
        };
        let server = match &tls {
            Some(material) => tokio::spawn(tls::serve(listener, material.acceptor.clone(), app, rx)),
            None => tokio::spawn(async move {
                let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                    let _ = rx.await;
                });
                if let Err(e) = serve.await {
                    tracing::warn!("dev-cluster server stopped: {e}");
                }
            }),
        };
        let persister = config
            .data_dir
            .clone()
            .map(|dir| tokio::spawn(persist::run(store.clone(), dir)));
        Ok(Self {
            addr,
            store,
            requests,
            token: config.token,
            tls,
            data_dir: config.data_dir,
            kubeconfig: None,
            shutdown: Some(tx),
            server,
            persister,
        })
    }

    /// `http://127.0.0.1:PORT` (`https://` when a token is required).
    pub fn base_url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// PEM of the CA that signed the server certificate (token-protected clusters only).
    pub fn ca_pem(&self) -> Option<&str> {
        self.tls.as_ref().map(|t| t.ca_pem.as_str())
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The store (for tests that need to reach behind the API).
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Requests served so far, in all and per `User-Agent` (a benchmark tells its own client's
    /// from the operator's by giving it an agent of its own: see [`DevCluster::client_with_agent`]).
    pub fn requests(&self) -> &requests::RequestCounter {
        &self.requests
    }

    /// A kube client for this cluster, default namespace `default`.
    pub fn client(&self) -> anyhow::Result<kube::Client> {
        Ok(kube::Client::try_from(self.client_config()?)?)
    }

    /// A kube client whose requests carry `User-Agent: agent`, so [`DevCluster::requests`]
    /// counts them apart.
    pub fn client_with_agent(&self, agent: &str) -> anyhow::Result<kube::Client> {
        let mut config = self.client_config()?;
        config
            .headers
            .push((http_types::header::USER_AGENT, agent.parse()?));
        Ok(kube::Client::try_from(config)?)
    }

    fn client_config(&self) -> anyhow::Result<kube::Config> {
        let mut config = kube::Config::new(self.base_url().parse()?);
        config.auth_info.token = self.token.clone().map(Into::into);
        config.root_cert = self.tls.as_ref().map(|t| vec![t.ca_der.clone()]);
        Ok(config)
    }

    /// The kubeconfig text pointing at this cluster.
    pub fn kubeconfig_yaml(&self) -> String {
        use base64::Engine;
        let user = match &self.token {
            Some(t) => format!("{{token: {t:?}}}"),
            None => "{}".into(),
        };
        let ca = match self.ca_pem() {
            Some(pem) => format!(
                "\n    certificate-authority-data: {}",
                base64::engine::general_purpose::STANDARD.encode(pem)
            ),
            None => String::new(),
        };
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: ccs-dev\n  cluster:\n    server: {}{ca}\ncontexts:\n- name: ccs-dev\n  context:\n    cluster: ccs-dev\n    user: ccs-dev\n    namespace: default\ncurrent-context: ccs-dev\nusers:\n- name: ccs-dev\n  user: {user}\npreferences: {{}}\n",
            self.base_url()
        )
    }

    /// Writes the kubeconfig (mode 0600, it may hold the token), atomically.
    pub fn write_kubeconfig(&mut self, path: &Path) -> anyhow::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        // Written aside then renamed, so a reader never sees a half-written file.
        let tmp = path.with_extension("tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("writing {}", tmp.display()))?;
        file.write_all(self.kubeconfig_yaml().as_bytes())?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        self.kubeconfig = Some(path.to_path_buf());
        Ok(())
    }

    /// Path of the kubeconfig written last, if any.
    pub fn kubeconfig_path(&self) -> Option<&Path> {
        self.kubeconfig.as_deref()
    }

    /// Drops the change history and ends every open watch with an in-stream 410, so clients
    /// must relist (what a real server does after compaction).
    pub fn expire_watches(&self) {
        self.store.expire_watches();
    }

    /// Test hook: the next `n` status writes of `kind` (such as `CloudContract`) whose body
    /// (the patch or the object sent) `when` matches are answered 500 without any change.
    pub fn fail_status_writes(
        &self,
        kind: &str,
        n: u32,
        when: impl Fn(&serde_json::Value) -> bool + Send + Sync + 'static,
    ) {
        self.store.fail_status_writes(kind, n, when);
    }

    /// Stops serving: ends open watches, waits for connections (at most 5 s), saves the data dir.
    pub async fn shutdown(mut self) {
        let _ = self.store.closing.send(true);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if tokio::time::timeout(Duration::from_secs(5), &mut self.server)
            .await
            .is_err()
        {
            self.server.abort();
        }
        if let Some(p) = self.persister.take() {
            let _ = p.await;
        }
        if let Some(dir) = &self.data_dir
            && let Err(e) = persist::save(&self.store, dir)
        {
            tracing::warn!("dev-cluster final snapshot failed: {e:#}");
        }
    }
}

fn bootstrap(store: &Store) -> anyhow::Result<()> {
    let info = store
        .read()
        .registry
        .get("", "v1", "namespaces")
        .context("namespaces are built in")?;
    let target = ops::Target {
        info,
        namespace: String::new(),
        name: String::new(),
        subresource: None,
    };
    for ns in INITIAL_NAMESPACES {
        let body = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        store
            .create(&target, body, &ops::WriteOptions::default())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(())
}

/// Installs the process-wide rustls crypto provider (ring) that the dev-cluster's TLS listener and
/// the kube clients of its tests share; a second call is a no-op.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
