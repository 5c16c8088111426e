//! Temporary stand-in for `crate::validation` until it lands on main (no pruning, no errors).

use serde_json::Value;

/// Placeholder validator.
#[derive(Debug)]
pub struct SchemaValidator;

/// Placeholder field error.
pub struct FieldError {
    /// Field path.
    pub field: String,
    /// Reason.
    pub reason: &'static str,
    /// Detail.
    pub detail: String,
}

impl SchemaValidator {
    /// Placeholder.
    pub fn new(_schema: &Value) -> Self {
        Self
    }
    /// Placeholder.
    pub fn prune_and_default(&self, _object: &mut Value) -> Vec<String> {
        vec![]
    }
    /// Placeholder.
    pub fn validate(&self, _object: &Value, _old: Option<&Value>) -> Vec<FieldError> {
        vec![]
    }
}
