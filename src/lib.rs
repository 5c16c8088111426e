//! ccs-operator: Orange Business Cloud Customer Space contracts, users, budgets and orders as
//! Kubernetes custom resources.
#![forbid(unsafe_code)]

pub use ccs_api as api;

pub mod billing;
pub mod cli;
pub mod config;
pub mod console;
pub mod controllers;
pub mod email;
pub mod metrics;
pub mod plan;
pub mod portal;
pub mod runtime;
pub mod shell;
pub mod web;

/// Installs the process-wide rustls crypto provider (ring).
///
/// kube and reqwest could each pull a different provider; with two compiled in, the first TLS
/// client panics. Calling this first in `main` and in every test binary makes the choice explicit.
pub fn install_crypto_provider() {
    // An Err only means a provider was installed already, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
