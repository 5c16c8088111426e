//! `ccs-operator run`: connects to the cluster, elects a leader, runs one controller per kind and
//! serves metrics and health until SIGTERM or Ctrl-C.

pub mod cli;
pub mod leader;
pub mod server;
pub mod startup;
pub mod telemetry;
mod wiring;

use crate::config::OperatorConfig;
use crate::controllers::context::Context;
use crate::email::{LettreMailer, Mailer};
use crate::metrics::Metrics;
use server::Health;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Where the kube client comes from.
#[derive(Clone, Default)]
pub enum KubeSource {
    /// `KUBECONFIG`, `~/.kube/config`, or the in-cluster service account.
    #[default]
    Infer,
    /// A kubeconfig file.
    File(std::path::PathBuf),
    /// A ready client (the demo and benchmarks, with an in-process API server).
    Client(kube::Client),
}

/// Connects a kube client.
pub async fn kube_client(source: &KubeSource) -> anyhow::Result<kube::Client> {
    let config = match source {
        KubeSource::Client(client) => return Ok(client.clone()),
        KubeSource::Infer => kube::Config::infer()
            .await
            .map_err(|e| startup::kube_config_error(source, &e))?,
        KubeSource::File(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(path)
                .map_err(|e| startup::kube_config_error(source, &e))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
                .await
                .map_err(|e| startup::kube_config_error(source, &e))?
        }
    };
    kube::Client::try_from(config).map_err(|e| startup::kube_config_error(source, &e))
}

/// The SMTP password: `CCS_SMTP_PASSWORD`, else the configured password file.
fn smtp_password(config: &OperatorConfig) -> anyhow::Result<Option<String>> {
    if let Ok(password) = std::env::var("CCS_SMTP_PASSWORD") {
        return Ok(Some(password));
    }
    match &config.smtp.password_file {
        Some(path) => Ok(Some(
            std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("smtp.passwordFile {}: {e}", path.display()))?
                .trim()
                .to_string(),
        )),
        None => Ok(None),
    }
}

/// Watched namespaces checked at once by the preflight.
const PREFLIGHT_SCOPES_AT_ONCE: usize = 8;

/// Fails fast, naming the fix, when a CRD is missing or the operator may not list a kind.
async fn preflight(client: &kube::Client, namespaces: &[String]) -> anyhow::Result<()> {
    use crate::api::{BudgetAlert, CloudContract, PortalUser, ServiceOrder};
    use kube::api::{Api, ListParams};
    async fn check<K>(client: &kube::Client, namespace: Option<&str>) -> anyhow::Result<()>
    where
        K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        let api: Api<K> = match namespace {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        };
        let plural = K::plural(&());
        match api.list(&ListParams::default().limit(1)).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) if e.code == 404 => anyhow::bail!(
                "the CRD {plural}.customerspace.io is not installed: kubectl apply -f crds/ (or install the Helm chart)"
            ),
            Err(kube::Error::Api(e)) if e.code == 403 => {
                anyhow::bail!(
                    "the operator may not list {plural} ({}): check its RBAC",
                    e.message
                )
            }
            Err(e) => Err(anyhow::anyhow!(
                "cannot reach the Kubernetes API server ({}): check the kubeconfig's server address and that the cluster is up",
                startup::root_cause(&e)
            )),
        }
    }
    /// The four kinds of one scope at once; the first error in this order, whichever answer came
    /// first (without any CRD: cloudcontracts). Owned arguments: the future is spawned by callers.
    async fn check_scope(client: kube::Client, namespace: Option<String>) -> anyhow::Result<()> {
        let ns = namespace.as_deref();
        let (contracts, users, budgets, orders) = tokio::join!(
            check::<CloudContract>(&client, ns),
            check::<PortalUser>(&client, ns),
            check::<BudgetAlert>(&client, ns),
            check::<ServiceOrder>(&client, ns),
        );
        contracts.and(users).and(budgets).and(orders)
    }
    let scopes: Vec<Option<String>> = if namespaces.is_empty() {
        vec![None]
    } else {
        namespaces.iter().cloned().map(Some).collect()
    };
    // A few scopes at once: the start waits for the slowest list, not for their sum.
    for batch in scopes.chunks(PREFLIGHT_SCOPES_AT_ONCE) {
        let checks = batch
            .iter()
            .map(|scope| check_scope(client.clone(), scope.clone()));
        for result in futures::future::join_all(checks).await {
            result?;
        }
    }
    Ok(())
}

/// The message of a panic payload.
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Runs the operator until `shutdown` resolves. Returns an error, for a non-zero exit, when the
/// lease is lost or the controllers end or panic on their own.
pub async fn run(
    config: OperatorConfig,
    source: KubeSource,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    config.validate()?;
    let client = kube_client(&source).await?;
    preflight(&client, &config.namespaces).await?;
    let metrics = Metrics::new();
    let mailer = LettreMailer::from_config(&config.smtp, smtp_password(&config)?)?;
    startup::check_smtp(&mailer, &config.smtp).await?;
    let mailer: Arc<dyn Mailer> = Arc::new(mailer);
    tokio::spawn(startup::check_portal(
        config.portal.endpoint.clone(),
        config.portal.connect_timeout,
    ));
    let ctx = Context::new(client.clone(), config.clone(), metrics.clone(), mailer)?;
    let health = Health::default();

    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = {
        let rx = stop_rx.clone();
        move || {
            let mut rx = rx.clone();
            async move {
                let _ = rx.wait_for(|s| *s).await;
            }
        }
    };

    let (addr, server) =
        server::serve(&config.server.listen, metrics.clone(), health.clone(), stopped()).await?;
    tracing::info!(%addr, "serving /metrics, /healthz and /readyz");
    // Scripts and tests read the address from the first line of stdout (with port 0 it is not
    // known in advance); in-process callers (the demo) keep stdout for themselves.
    if !matches!(source, KubeSource::Client(_)) {
        println!("metrics and health listening on http://{addr}");
    }

    // The status page reads the caches, which fill once this replica leads; a standby serves it
    // empty (its caches are not running).
    let web = match &config.web.listen {
        Some(listen) => {
            let (addr, task) = crate::web::serve(listen, ctx.clone(), stopped()).await?;
            tracing::info!(%addr, "serving the status page");
            if !matches!(source, KubeSource::Client(_)) {
                println!("status page listening on http://{addr}");
            }
            Some(task)
        }
        None => None,
    };

    let mut lease_task = None;
    let mut leadership = if config.leader_election.enabled {
        // A standby is healthy and ready to take over; it reports ready while it waits.
        health.set_ready(true);
        let (mut rx, task) = leader::elect(client.clone(), &config.leader_election).await?;
        lease_task = Some(task);
        tracing::info!(identity = %leader::identity(), "waiting for the leader lease");
        let acquired = async {
            let _ = rx.wait_for(|leader| *leader).await;
        };
        tokio::select! {
            _ = acquired => {}
            _ = stopped() => { server.await?; return Ok(()) }
        }
        health.set_ready(false);
        tracing::info!("acquired the leader lease");
        Some(rx)
    } else {
        None
    };
    metrics.leader.set(1);

    // Losing the lease stops the controllers too: another replica has taken over.
    let lost = {
        let leadership = leadership.take();
        let flag = ctx.leader.clone();
        async move {
            if let Some(mut rx) = leadership {
                let _ = rx.wait_for(|leader| !*leader).await;
                // Before anything else: reconciles still in flight start no side effect from now on.
                flag.lose();
                tracing::warn!("lost the leader lease; stopping");
            } else {
                std::future::pending::<()>().await;
            }
        }
    };
    let lost = futures::FutureExt::shared(Box::pin(lost));
    let stop_all = {
        let stopped = stopped.clone();
        let lost = lost.clone();
        move || {
            let stopped = stopped();
            let lost = lost.clone();
            async move {
                tokio::select! { _ = stopped => {}, _ = lost => {} }
            }
        }
    };

    // Spawned: the stores fill only while the controllers' watch streams are polled.
    let mut controllers = tokio::spawn(wiring::start(ctx.clone(), stop_all.clone()));
    let synced = async {
        ctx.stores.contracts.wait_ready().await;
        ctx.stores.budgets.wait_ready().await;
        ctx.stores.users.wait_ready().await;
        ctx.stores.orders.wait_ready().await;
    };
    let early_end = tokio::select! {
        _ = synced => {
            health.set_ready(true);
            tracing::info!("caches synced; ready");
            None
        }
        _ = stop_all() => None,
        ended = &mut controllers => Some(ended),
    };

    // The state layer is scraped from the caches once they are synced: before, its counts would
    // be partial.
    metrics.set_state(crate::controllers::state_metrics::renderer(&ctx.stores));
    let ended = match early_end {
        Some(ended) => ended,
        None => controllers.await,
    };
    let stopping = *stop_rx.borrow() || futures::FutureExt::now_or_never(lost.clone()).is_some();
    if !stopping {
        // A dead controller must not keep a healthy face: no readiness, no Lease, a non-zero exit
        // so Kubernetes restarts the pod, and the standby takes over at once.
        let cause = match ended {
            Err(err) if err.is_panic() => format!("panicked: {}", panic_message(err.into_panic())),
            Err(err) => format!("failed: {err}"),
            Ok(()) => "ended".into(),
        };
        tracing::error!("the controllers {cause}; exiting so that the operator is restarted");
        health.set_ready(false);
        metrics.leader.set(0);
        drop((stop_all, lost));
        if let Some(lease) = lease_task {
            // Every receiver of the leadership channel is gone: the lease manager releases the Lease.
            let _ = tokio::time::timeout(Duration::from_secs(5), lease).await;
        }
        anyhow::bail!("the controllers {cause}");
    }
    metrics.leader.set(0);
    health.set_ready(false);
    let lost_lease = futures::FutureExt::now_or_never(lost.clone()).is_some() && !*stop_rx.borrow();
    if lost_lease {
        anyhow::bail!("lost the leader lease");
    }
    server.await?;
    if let Some(web) = web {
        web.await?;
    }
    Ok(())
}
