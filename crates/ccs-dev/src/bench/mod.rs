//! Benchmarks: the embedded API server, the portal, and the operator at scale.
//!
//! The operator benchmarks start the real `ccs-operator` binary as a child process, so what they
//! measure is what ships.

pub mod billing;
pub mod devcluster;
pub mod operator;
pub mod portal;
pub mod users;
pub mod web;

use std::path::PathBuf;

/// The operator binary the benchmarks start: `CCS_OPERATOR_BIN`, else `ccs-operator` next to this
/// binary (cargo puts both in `target/<profile>/`).
pub fn operator_binary() -> anyhow::Result<PathBuf> {
    let path = match std::env::var_os("CCS_OPERATOR_BIN") {
        Some(path) => PathBuf::from(path),
        None => {
            std::env::current_exe()?.with_file_name(format!("ccs-operator{}", std::env::consts::EXE_SUFFIX))
        }
    };
    anyhow::ensure!(
        path.is_file(),
        "the operator binary {} is missing: build it first (`cargo build --release --workspace`) \
         or set CCS_OPERATOR_BIN",
        path.display()
    );
    Ok(path)
}
