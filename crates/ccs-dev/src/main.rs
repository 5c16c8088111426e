//! `ccs-dev`: the development tools of ccs-operator. The one-command demo, the embedded API
//! server, the Customer Space simulator and the benchmarks. None of this ships in the operator.
#![forbid(unsafe_code)]

mod bench;
mod demo;

use clap::{Parser, Subcommand};

/// Development tools of ccs-operator: demo, dev-cluster, simulator, benchmarks.
#[derive(Parser, Debug)]
#[command(name = "ccs-dev", version, about)]
struct Cli {
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
enum Command {
    /// Try everything with no cluster: embedded API server, simulator and operator in one process.
    Demo(demo::DemoArgs),
    /// Run the Customer Space simulator (the API of config/customer-space-api.yaml).
    Simulator(ccs_simulator::cli::SimulatorArgs),
    /// Run an embedded Kubernetes API server and write a kubeconfig for it. A development and
    /// test tool (in memory, no RBAC, HTTPS only with --token), not a production API server.
    DevCluster(ccs_devcluster::cli::DevClusterArgs),
    /// Run a benchmark.
    Bench {
        /// What to measure.
        #[command(subcommand)]
        target: BenchTarget,
    },
}

/// Benchmarks.
#[derive(Subcommand, Debug)]
enum BenchTarget {
    /// Throughput, list latency and memory of the embedded API server.
    DevCluster(bench::devcluster::BenchArgs),
    /// The simulator's throughput (`simulator`) or the portal client's overhead (`client`).
    Portal(bench::portal::BenchArgs),
    /// PortalUsers at scale: time to Ready against the bound, steady-state portal calls, memory.
    Users(bench::users::UsersBenchArgs),
    /// The operator at scale: contracts and budgets to Ready, portal calls per poll interval, memory.
    Operator(bench::operator::BenchArgs),
    /// The status page: render time, page weight, API-server and portal calls per view.
    Web(bench::web::WebBenchArgs),
    /// `ccs-operator billing download` against a plain sequential download: time and peak memory.
    Billing(bench::billing::BenchArgs),
    /// The plain sequential download `bench billing` compares with (run as its child process).
    #[command(hide = true)]
    BillingPlain(bench::billing::PlainArgs),
}

fn main() -> std::process::ExitCode {
    ccs_operator::install_crypto_provider();
    let result = match Cli::parse().command {
        Command::Demo(args) => demo::main(args),
        Command::Simulator(args) => ccs_simulator::cli::run(args),
        Command::DevCluster(args) => ccs_devcluster::cli::run(args),
        Command::Bench { target } => match target {
            BenchTarget::DevCluster(args) => bench::devcluster::main(args),
            BenchTarget::Portal(args) => bench::portal::run(args),
            // Checked before any server starts: the operator benchmarks run the shipped binary.
            BenchTarget::Users(args) => bench::operator_binary().and_then(|_| bench::users::run(args)),
            BenchTarget::Operator(args) => bench::operator_binary().and_then(|_| bench::operator::main(args)),
            BenchTarget::Web(args) => bench::operator_binary().and_then(|_| bench::web::main(args)),
            BenchTarget::Billing(args) => bench::operator_binary().and_then(|_| bench::billing::run(args)),
            BenchTarget::BillingPlain(args) => bench::billing::plain(args),
        },
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
