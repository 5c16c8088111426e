//! The `ccs-operator` binary: `run` and `crds` (see `ccs_operator::cli`).
#![forbid(unsafe_code)]

use clap::Parser;

fn main() -> std::process::ExitCode {
    ccs_operator::install_crypto_provider();
    let cli = ccs_operator::cli::Cli::parse();
    match ccs_operator::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
