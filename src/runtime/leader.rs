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

/// Whether this replica may act: held in the context, cleared as soon as the lease is lost. Side
/// effects (portal writes, emails) check it right before they start, so a reconcile that was in
/// flight when the lease went to another replica stops short of them.
#[derive(Clone, Debug)]
pub struct Leadership(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Default for Leadership {
    /// Leading: without leader election the one replica always acts.
    fn default() -> Self {
        Self(std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true)))
    }
}

impl Leadership {
    /// Whether this replica still holds the lease (or runs without election).
    pub fn is_leader(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Records that the lease is lost; for good: a replica that lost it exits.
    pub fn lose(&self) {
        self.0.store(false, std::sync::atomic::Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::Leadership;

    #[test]
    fn leadership_is_shared_and_lost_for_good() {
        let leader = Leadership::default();
        let seen_by_a_reconcile = leader.clone();
        assert!(seen_by_a_reconcile.is_leader());
        leader.lose();
        assert!(!seen_by_a_reconcile.is_leader());
    }
}
