//! `ServiceOrder`: one catalog order, submitted exactly once and followed to completion.

use super::common::{Conditions, EMAIL_PATTERN, MAX_PORTAL_LONG_TEXT, MAX_PORTAL_TEXT, OBJECT_NAME_PATTERN};
pub use super::parameters::Parameters;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An order of one catalog item on a contract. The whole spec is immutable.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "customerspace.io",
    version = "v1alpha1",
    kind = "ServiceOrder",
    plural = "serviceorders",
    singular = "serviceorder",
    shortname = "sorder",
    category = "customerspace",
    namespaced,
    status = "ServiceOrderStatus",
    doc = "An order of a catalog item on a CloudContract, submitted to the portal exactly once and followed until it completes, is rejected or is cancelled.",
    printcolumn(
        name = "Contract",
        type_ = "string",
        json_path = ".spec.contract",
        description = "CloudContract the order is placed on"
    ),
    printcolumn(
        name = "Item",
        type_ = "string",
        json_path = ".spec.catalogItem",
        description = "Catalog item code"
    ),
    printcolumn(
        name = "State",
        type_ = "string",
        json_path = ".status.state",
        description = "Order state"
    ),
    printcolumn(
        name = "Request",
        type_ = "string",
        json_path = ".status.requestId",
        description = "Portal request id"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self == oldSelf").message("spec is immutable; delete the ServiceOrder and create a new one to change an order"))]
pub struct ServiceOrderSpec {
    /// Name of the CloudContract in this namespace the order is placed on.
    #[schemars(length(min = 1, max = 253), pattern(OBJECT_NAME_PATTERN))]
    pub contract: String,
    /// Catalog item code, such as `FE-ECS-GENERAL`.
    #[schemars(length(min = 2, max = 64), pattern(r"^[A-Z0-9][A-Z0-9._-]*$"))]
    pub catalog_item: String,
    /// Number of units ordered, 1 to 1000.
    #[serde(default = "default_quantity")]
    #[schemars(range(min = 1, max = 1000))]
    pub quantity: i32,
    /// Parameters of the catalog item (at most 50; names up to 128 characters, values up to
    /// 1024), checked against the catalog before submission.
    #[serde(default, skip_serializing_if = "Parameters::is_empty")]
    #[schemars(extend("maxProperties" = 50), inner(length(max = 1024)))]
    #[x_kube(validation = Rule::new("self.all(k, size(k) <= 128)").message("parameter names are at most 128 characters"))]
    pub parameters: Parameters,
    /// Email addresses told when the order completes or is rejected (at most 20).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20), inner(length(max = 254), pattern(EMAIL_PATTERN)), extend("x-kubernetes-list-type" = "set"))]
    pub notify: Vec<String>,
    /// Cancel the portal request when this object is deleted before the order completes.
    #[serde(default)]
    pub cancel_on_delete: bool,
}

fn default_quantity() -> i32 {
    1
}

/// Observed state of a ServiceOrder.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceOrderStatus {
    /// Generation of the spec this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` (true once completed) and `Synced`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Conditions,
    /// Last value of the `customerspace.io/reconcile-requested-at` annotation that was handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// Request id the portal gave the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub request_id: Option<String>,
    /// Idempotency key sent with the order, derived from the object's uid; recorded before submission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_reference: Option<String>,
    /// Order state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<OrderState>,
    /// When the order was submitted (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<String>,
    /// When the order reached a final state (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// When the notification email went to `spec.notify` (RFC 3339); set once, so it is sent once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified_at: Option<String>,
    /// When the status was last refreshed from the portal (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<String>,
    /// State changes, oldest first (the last 20).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub history: Vec<OrderHistoryEntry>,
}

/// State of an order.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum OrderState {
    /// Validated, not submitted yet.
    Pending,
    /// Submitted; the portal has transmitted it.
    Submitted,
    /// Being processed.
    InProgress,
    /// Done.
    Completed,
    /// Refused by the portal (final).
    Rejected,
    /// Cancelled (final).
    Cancelled,
}

/// One state change of an order.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderHistoryEntry {
    /// When the change was observed (RFC 3339).
    pub time: String,
    /// New state.
    pub state: OrderState,
    /// Portal message, if any (cut at 2048 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_PORTAL_LONG_TEXT))]
    pub message: Option<String>,
}
