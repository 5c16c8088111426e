//! Leader election on a `coordination.k8s.io/v1` Lease, with kube-lease-manager.

use crate::config::LeaderElectionConfig;
use kube_lease_manager::{LeaseManagerBuilder, LeaseParams};
use tokio::sync::watch;

/// This replica's identity: `POD_NAME`, else the host name, plus the process id.
pub fn identity() -> String {
    let host = std::env::var("POD_NAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "ccs-operator".into());
    format!("{host}-{}", std::process::id())
}

/// The lease manager's task: once every receiver of its channel is dropped, it releases the lease
/// and ends.
pub type LeaseTask = tokio::task::JoinHandle<kube_lease_manager::Result<kube_lease_manager::LeaseManager>>;

/// Starts competing for the lease; the channel says whether this replica holds it.
pub async fn elect(
    client: kube::Client,
    config: &LeaderElectionConfig,
) -> anyhow::Result<(watch::Receiver<bool>, LeaseTask)> {
    let namespace = config
        .lease_namespace
        .clone()
        .or_else(|| std::env::var("POD_NAMESPACE").ok())
        .unwrap_or_else(|| "default".into());
    let duration = config.lease_duration.as_secs().max(2);
    // Renew a third of the way before expiry: a lost renewal still leaves time for another try.
    let grace = (duration / 3).max(1);
    let identity = identity();
    // One field manager per replica: the lease manager relies on server-side apply conflicts
    // between managers to keep a second replica from taking a held lease.
    let field_manager = format!("ccs-operator-lease-{identity}");
    let manager = LeaseManagerBuilder::new(client, &config.lease_name)
        .with_namespace(namespace)
        .with_parameters(LeaseParams::new(identity, duration, grace).with_field_manager(field_manager))
        .build()
        .await?;
    Ok(manager.watch().await)
}
