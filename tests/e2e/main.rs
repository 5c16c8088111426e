//! End to end: the `ccs-operator` binary against the dev-cluster, the simulator and a real SMTP
//! server. One test binary (one link of the operator and the stand-ins) with a module per area.

#[path = "../support/mod.rs"]
mod support;

mod billing;
mod console;
mod console_fca;
mod contracts_budgets;
mod exactly_once;
mod failures;
mod hardening;
mod health;
mod isolation;
mod orders;
mod plan;
mod runtime;
mod users;
mod web;
