//! Helpers shared by the integration tests: real peers started on OS-chosen ports.
#![allow(dead_code)] // each test binary uses a different subset

pub mod access;
pub mod capture;
pub mod e2e;
pub mod gate;
pub mod keystone;
pub mod manifests;
pub mod moto;
pub mod recorder;
pub mod s3_gate;
pub mod smtp;
