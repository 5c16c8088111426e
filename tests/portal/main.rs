//! The Customer Space client against the simulator: every operation, faults, the OpenAPI contract
//! (and the standard OpenAPI tools on every API document),
//! the simulator itself and TLS. One test binary with a module per area.

mod portal_common;

mod client;
mod cloud_director;
mod faults;
mod hardening;
mod openapi;
mod openapi_tools;
mod simulator;
mod tls;
