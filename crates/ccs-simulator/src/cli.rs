//! `ccs-dev simulator`: runs the simulator until interrupted.

use super::{ServeOptions, SimConfig, Simulator};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Flags of the `simulator` subcommand.
#[derive(clap::Args, Debug)]
pub struct SimulatorArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Seed of the generated world (overrides the config file's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// YAML settings (see `SimConfig`: contracts, clockSpeed, startTime, tokenTtlSeconds, ...).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Keep state in this file across restarts.
    #[arg(long)]
    pub state_file: Option<PathBuf>,
    /// Do not serve the /admin routes.
    #[arg(long)]
    pub no_admin: bool,
    /// Start the simulated clock at the real current time instead of the config's `startTime`
    /// (for a demo next to an operator that compares `dataAsOf` with its own clock).
    #[arg(long)]
    pub start_now: bool,
}

/// Runs the simulator in a new Tokio runtime until SIGINT or SIGTERM.
pub fn run(args: SimulatorArgs) -> anyhow::Result<()> {
    let mut config = match &args.config {
        Some(path) => SimConfig::from_yaml(&std::fs::read_to_string(path)?)?,
        None => SimConfig::default(),
    };
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    if args.start_now {
        config.start_time = chrono::Utc::now();
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    tokio::runtime::Runtime::new()?.block_on(async move {
        let options = ServeOptions {
            listen: args.listen,
            state_file: args.state_file,
            admin: !args.no_admin,
        };
        let sim = Simulator::serve(config, options).await?;
        eprintln!(
            "simulator listening on {} (contracts: {})",
            sim.base_url(),
            sim.contract_ids().join(", ")
        );
        for c in sim.seeded_credentials() {
            // Client ids only: secrets are served by GET /admin/credentials, never printed.
            eprintln!(
                "  credential {} ({}) for {}",
                c.client_id,
                c.label,
                c.contracts.join(",")
            );
        }
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            res = sim.wait() => res,
            _ = tokio::signal::ctrl_c() => Ok(()),
            _ = term.recv() => Ok(()),
        }
    })
}
