//! Contracts, their referent, and the dashboard.

use super::{Bill, Consumption, Offer, PlatformStatus};
use serde::{Deserialize, Serialize};

/// The referent of a contract.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Referent {
    /// Account id.
    pub account_id: String,
    /// Email of the referent.
    pub email: String,
}

/// A subscribed service: the same shape as in the CloudContract status, so controllers copy it.
pub use ccs_api::cloud_contract::Subscription;

/// A Customer Space contract.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Contract {
    /// Contract id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Platform offer.
    pub offer: Offer,
    /// Customer (legal entity).
    pub customer: String,
    /// Current referent.
    pub referent: Referent,
    /// Technical console URL.
    pub console_url: String,
    /// Invoice reception contact (email).
    pub invoice_contact: String,
    /// Billing currency.
    pub currency: String,
    /// Platform regions the contract uses.
    pub regions: Vec<String>,
    /// Subscribed services.
    pub subscriptions: Vec<Subscription>,
    /// Number of users with access to the contract.
    pub user_count: u32,
}

/// Body of a referent change.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ReferentChange {
    /// Email of the new referent; must already have access to the contract.
    pub new_referent_email: String,
    /// Whether the previous referent loses access to the contract.
    #[serde(default)]
    pub remove_previous_referent_access: bool,
}

/// Contract overview in one read: details, weather, consumption and latest bills.
///
/// Parts the caller has no right to read are left out rather than failing the whole call.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    /// Contract details.
    pub contract: Contract,
    /// Weather and incidents.
    pub platform_status: PlatformStatus,
    /// Consumption (needs Visitor on Invoices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumption: Option<Consumption>,
    /// Up to 12 latest bills, newest first (needs Manager on Invoices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_bills: Option<Vec<Bill>>,
}
