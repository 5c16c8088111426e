//! Catalog items and requests (orders and changes).

use super::Offer;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A parameter of a catalog item.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CatalogParameter {
    /// Parameter key.
    pub key: String,
    /// Description, localized.
    pub description: String,
    /// Whether the key is required.
    pub required: bool,
    /// Allowed values; empty means free text.
    #[serde(default)]
    pub allowed_values: Vec<String>,
}

/// An orderable catalog item.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CatalogItem {
    /// Item code.
    pub code: String,
    /// Name, localized.
    pub name: String,
    /// Platform offer.
    pub offer: Offer,
    /// Parameters.
    pub parameters: Vec<CatalogParameter>,
    /// Largest quantity accepted in one request; larger ones are rejected during processing.
    pub max_quantity: u32,
    /// List price of one unit; absent when the item is priced on quote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<CatalogPrice>,
}

/// The list price of one unit of a catalog item.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CatalogPrice {
    /// Amount, a decimal string with two digits after the point (`"42.50"`).
    pub amount: String,
    /// ISO 4217 currency.
    pub currency: String,
    /// What the amount pays for: a month of use, or once.
    pub period: PricePeriod,
}

/// How often a catalog price is paid.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PricePeriod {
    /// Every month while the service runs.
    Monthly,
    /// Once, when the order is delivered.
    OneOff,
    /// A value this client does not know yet (the API may grow): read as unknown, not a decode
    /// failure.
    #[serde(other)]
    Unknown,
}

/// Kind of request.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RequestType {
    /// Order of a catalog item.
    #[default]
    Order,
    /// Change of an existing service.
    Change,
}

/// Request state.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestState {
    /// Received (portal: "transmise").
    Transmitted,
    /// Being processed ("en cours").
    InProgress,
    /// Done ("terminée").
    Completed,
    /// Refused.
    Rejected,
    /// Cancelled by the customer.
    Cancelled,
    /// A value this client does not know yet (the API may grow): read as unknown, not a decode
    /// failure.
    #[serde(other)]
    Unknown,
}

impl RequestState {
    /// Completed, Rejected and Cancelled are final.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Rejected | Self::Cancelled)
    }
}

/// Body of a request submission.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NewRequest {
    /// Idempotency key chosen by the customer; resubmitting it returns the existing request.
    pub customer_reference: String,
    /// Kind of request.
    #[serde(default, rename = "type")]
    pub request_type: RequestType,
    /// Catalog item code.
    pub catalog_item: String,
    /// Quantity.
    #[serde(default = "one")]
    pub quantity: u32,
    /// Parameters of the item.
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
}

fn one() -> u32 {
    1
}

/// One state change of a request.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StateChange {
    /// New state.
    pub state: RequestState,
    /// When.
    pub at: DateTime<Utc>,
    /// Why, localized.
    pub message: String,
}

/// An order or change request.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRequest {
    /// Request id.
    pub id: String,
    /// Contract id.
    pub contract_id: String,
    /// Customer reference (idempotency key).
    pub customer_reference: String,
    /// Kind of request.
    #[serde(rename = "type")]
    pub request_type: RequestType,
    /// Catalog item code.
    pub catalog_item: String,
    /// Quantity.
    pub quantity: u32,
    /// Parameters.
    pub parameters: BTreeMap<String, String>,
    /// Current state.
    pub state: RequestState,
    /// Submission time.
    pub submitted_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// State changes, oldest first.
    pub history: Vec<StateChange>,
}
