//! One controller per kind, each a pipeline: observe -> plan (pure) -> apply -> status.

pub mod budget_alert;
