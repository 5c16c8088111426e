//! Manifests the end-to-end tests apply, as JSON.

use serde_json::{Value, json};

/// The seeded contract the tests use.
pub const CONTRACT: &str = "OCB258415";

/// A CloudContract `name` in `default` for `contract_id`, reading credentials from Secret `secret`.
pub fn contract(name: &str, contract_id: &str, secret: &str) -> Value {
    json!({
        "apiVersion": "customerspace.io/v1alpha1", "kind": "CloudContract",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"contractId": contract_id, "offer": "FlexibleEngine", "credentialsSecretRef": {"name": secret}}
    })
}

/// A BudgetAlert `name` in `default` on CloudContract `contract`, with thresholds `half` (50%)
/// and `most` (90%).
pub fn budget(name: &str, contract: &str, amount: &str) -> Value {
    json!({
        "apiVersion": "customerspace.io/v1alpha1", "kind": "BudgetAlert",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"contract": contract, "amount": amount, "recipients": ["finops@acme.example"],
                 "thresholds": [{"name": "half", "percent": 50}, {"name": "most", "percent": 90}]}
    })
}
