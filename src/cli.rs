//! Command line of the `ccs-operator` binary.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Kubernetes operator for Orange Business Cloud Customer Space contracts, users, budgets and orders.
#[derive(Parser, Debug)]
#[command(name = "ccs-operator", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the CustomResourceDefinitions as multi-document YAML, or write one file per CRD.
    Crds {
        /// Write `<plural>.customerspace.io.yaml` files into this directory instead of printing.
        #[arg(long)]
        out_dir: Option<PathBuf>,
    },
    /// Try everything with no cluster: embedded API server, simulator and operator in one process.
    Demo(crate::demo::DemoArgs),
    /// Run the operator against the current cluster (or --kubeconfig) until SIGTERM.
    Run(crate::runtime::cli::RunArgs),
    /// Run the Customer Space simulator (the API of config/customer-space-api.yaml).
    Simulator(crate::simulator::cli::SimulatorArgs),
    /// Run an embedded Kubernetes API server and write a kubeconfig for it. A development and
    /// test tool (in memory, no RBAC, HTTPS only with --token), not a production API server.
    DevCluster(crate::devcluster::cli::DevClusterArgs),
    /// Run a benchmark.
    Bench {
        /// What to measure.
        #[command(subcommand)]
        target: BenchTarget,
    },
}

/// Benchmarks.
#[derive(Subcommand, Debug)]
pub enum BenchTarget {
    /// Throughput, list latency and memory of the embedded API server.
    DevCluster(crate::devcluster::cli::BenchArgs),
    /// The simulator's throughput (`simulator`) or the portal client's overhead (`client`).
    Portal(crate::simulator::bench::BenchArgs),
    /// PortalUsers at scale: time to Ready against the bound, steady-state portal calls, memory.
    Users(crate::runtime::bench::UsersBenchArgs),
    /// The operator at scale: contracts and budgets to Ready, portal calls per poll interval, memory.
    Operator(crate::runtime::bench_operator::BenchArgs),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Crds { out_dir: Some(dir) } => {
            for path in crate::crdgen::write_all(&dir)? {
                eprintln!("wrote {}", path.display());
            }
            Ok(())
        }
        Command::Crds { out_dir: None } => {
            print!("{}", crate::crdgen::all_as_yaml()?);
            Ok(())
        }
        Command::Demo(args) => crate::demo::main(args),
        Command::Run(args) => crate::runtime::cli::main(args),
        Command::Simulator(args) => crate::simulator::cli::run(args),
        Command::DevCluster(args) => crate::devcluster::cli::run(args),
        Command::Bench {
            target: BenchTarget::DevCluster(args),
        } => crate::devcluster::cli::bench(args),
        Command::Bench {
            target: BenchTarget::Portal(args),
        } => crate::simulator::bench::run(args),
        Command::Bench {
            target: BenchTarget::Users(args),
        } => crate::runtime::bench::run(args),
        Command::Bench {
            target: BenchTarget::Operator(args),
        } => crate::runtime::bench_operator::main(args),
    }
}
