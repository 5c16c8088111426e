#![forbid(unsafe_code)]

use clap::Parser;

/// mimalloc rather than the system allocator: the operator (and the dev-cluster it embeds) allocate
/// many short-lived JSON trees, where glibc's malloc spent a fifth of the CPU in the benchmarks.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
