//! Command line of `ccs-dev dev-cluster`.

use super::{DevCluster, DevClusterConfig};
use std::path::PathBuf;

/// Arguments of `dev-cluster`.
#[derive(clap::Args, Debug)]
pub struct DevClusterArgs {
    /// Address to listen on (loopback by default; plain HTTP unless a token is set).
    #[arg(long, default_value = "127.0.0.1:6443")]
    pub listen: String,
    /// Where to write a kubeconfig pointing at the server.
    #[arg(long)]
    pub kubeconfig: PathBuf,
    /// Require this bearer token (written into the kubeconfig); the server then speaks HTTPS
    /// with a CA generated at start, since kubectl sends credentials only over TLS.
    #[arg(long, env = "CCS_DEV_CLUSTER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Keep objects in this directory across restarts.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// Runs the dev cluster until Ctrl-C.
pub fn run(args: DevClusterArgs) -> anyhow::Result<()> {
    tokio::runtime::Runtime::new()?.block_on(async move {
        let config = DevClusterConfig {
            listen: args.listen,
            token: args.token,
            data_dir: args.data_dir,
            ..DevClusterConfig::default()
        };
        let mut cluster = DevCluster::start(config).await?;
        cluster.write_kubeconfig(&args.kubeconfig)?;
        eprintln!(
            "dev-cluster (a development and test API server, not for production) listening on {}\n\
             use it with:  export KUBECONFIG={}\n\
             then e.g.:    kubectl apply -f crds/ && kubectl wait --for=condition=established crd --all",
            cluster.base_url(),
            args.kubeconfig.display()
        );
        tokio::signal::ctrl_c().await?;
        eprintln!("shutting down");
        cluster.shutdown().await;
        Ok(())
    })
}
