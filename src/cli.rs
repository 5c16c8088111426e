//! Command line of the `ccs-operator` binary.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Kubernetes operator for Orange Business Cloud Customer Space contracts, users, budgets and orders.
#[derive(Parser, Debug)]
#[command(name = "ccs-operator", version = crate::shell::VERSION, about)]
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
    /// Run the operator against the current cluster (or --kubeconfig) until SIGTERM.
    Run(Box<crate::runtime::cli::RunArgs>),
    /// Print the shell completion script: `source <(ccs-operator completions bash)`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per subcommand into a directory.
    Man {
        /// Write `ccs-operator.1`, `ccs-operator-run.1`... into this directory instead of printing.
        #[arg(long)]
        out_dir: Option<PathBuf>,
    },
    /// Show what the operator would do in the portal if these manifests were applied (read-only).
    Plan(Box<crate::plan::PlanArgs>),
    /// Billing files without the operator: download a contract's invoices and reports.
    #[command(subcommand)]
    Billing(BillingCommand),
}

/// `billing` subcommands.
#[derive(Subcommand, Debug)]
pub enum BillingCommand {
    /// Download the invoice PDFs and CSV billing reports of months into a directory, with a
    /// SHA256SUMS manifest; files already present with their checksum are skipped.
    Download(Box<crate::billing::download::DownloadArgs>),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Crds { out_dir: Some(dir) } => {
            for path in crate::api::crdgen::write_all(&dir)? {
                eprintln!("wrote {}", path.display());
            }
            Ok(())
        }
        Command::Crds { out_dir: None } => {
            print!("{}", crate::api::crdgen::all_as_yaml()?);
            Ok(())
        }
        Command::Run(args) => crate::runtime::cli::main(*args),
        Command::Completions { shell } => {
            crate::shell::completions(shell, &mut std::io::stdout());
            Ok(())
        }
        Command::Man { out_dir: None } => crate::shell::man_page(&mut std::io::stdout()),
        Command::Man { out_dir: Some(dir) } => {
            for path in crate::shell::man_pages_to(&dir)? {
                eprintln!("wrote {}", path.display());
            }
            Ok(())
        }
        Command::Plan(args) => crate::plan::main(*args),
        Command::Billing(BillingCommand::Download(args)) => crate::billing::download::main(*args),
    }
}
