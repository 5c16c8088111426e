//! The Customer Space client against the simulator: every operation, faults, the OpenAPI contract,
//! the simulator itself and TLS. One test binary with a module per area.

mod portal_common;

mod client;
mod faults;
mod hardening;
mod openapi;
mod simulator;
mod tls;
