//! `CloudContract`: one Cloud Customer Space contract, observed (and optionally managed) by the operator.

use super::common::{
    Conditions, CredentialsSecretRef, EMAIL_PATTERN, MAX_PORTAL_LONG_TEXT, MAX_PORTAL_TEXT, Money,
};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Most subscriptions listed in status.
pub const MAX_SUBSCRIPTIONS: usize = 200;
/// Most incidents remembered in status (one entry per incident id, whatever its states).
pub const MAX_NOTIFIED_INCIDENTS: usize = 1000;

/// Desired state of a Customer Space contract.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "customerspace.io",
    version = "v1alpha1",
    kind = "CloudContract",
    plural = "cloudcontracts",
    singular = "cloudcontract",
    shortname = "ccontract",
    category = "customerspace",
    namespaced,
    status = "CloudContractStatus",
    doc = "One Orange Business Cloud Customer Space contract (Flexible Engine or Flexible Computing Advanced): its weather, incidents, consumption, subscriptions, invoices and referent.",
    printcolumn(
        name = "Contract",
        type_ = "string",
        json_path = ".spec.contractId",
        description = "Customer Space contract id"
    ),
    printcolumn(
        name = "Offer",
        type_ = "string",
        json_path = ".spec.offer",
        description = "Cloud offer of the contract"
    ),
    printcolumn(
        name = "Weather",
        type_ = "string",
        json_path = ".status.weather",
        description = "Platform weather"
    ),
    printcolumn(
        name = "Incidents",
        type_ = "integer",
        json_path = ".status.incidents.open",
        description = "Open incidents"
    ),
    printcolumn(
        name = "Spend",
        type_ = "string",
        json_path = ".status.consumption.amount",
        description = "Consumption to date in the current period"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct CloudContractSpec {
    /// Customer Space contract id, as shown in the portal. Immutable: a new contract needs a new object.
    #[schemars(length(min = 3, max = 64), pattern(r"^[A-Za-z0-9][A-Za-z0-9._-]*$"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("contractId is immutable; create a new CloudContract for another contract"))]
    pub contract_id: String,
    /// Cloud offer the contract belongs to. Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("offer is immutable"))]
    pub offer: Offer,
    /// Secret in this namespace holding the Customer Space API client id, client secret and API key.
    pub credentials_secret_ref: CredentialsSecretRef,
    /// Customer Space API base URL; defaults to the operator's configured endpoint. Only endpoints
    /// the operator's configuration allows (`portal.allowedEndpoints`) are called; any other is
    /// `Ready=False`, reason `EndpointNotAllowed`. No user information, query or fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048), pattern(r"^https?://[^\s/?#@]+(/[^\s?#@]*)?$"))]
    pub endpoint: Option<String>,
    /// Desired referent of the contract. Unset: the operator reports the referent but never changes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referent: Option<ReferentSpec>,
    /// Who receives incident emails, and from which severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications: Option<IncidentNotifications>,
    /// `Full` reads and writes the portal; `ObserveOnly` never writes to it (status only).
    #[serde(default)]
    pub management_policy: ContractManagementPolicy,
}

/// Cloud offer of a contract.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum Offer {
    /// Flexible Engine, the OpenStack-based public cloud.
    FlexibleEngine,
    /// Flexible Computing Advanced, the VMware-based cloud.
    FlexibleComputingAdvanced,
}

/// What the operator may do on a contract.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ContractManagementPolicy {
    /// Read the contract and apply the declared referent.
    #[default]
    Full,
    /// Read only; never write to the portal.
    ObserveOnly,
}

/// The desired referent user of the contract.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReferentSpec {
    /// Email of the user who must be referent. The user must already have rights on the contract.
    #[schemars(length(max = 254), pattern(EMAIL_PATTERN))]
    pub email: String,
    /// Whether the previous referent loses all access to the contract after the change.
    #[serde(default)]
    pub remove_previous_access: bool,
}

/// Incident email settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentNotifications {
    /// Email addresses told about incidents (1 to 20).
    #[schemars(length(min = 1, max = 20), inner(length(max = 254), pattern(EMAIL_PATTERN)), extend("x-kubernetes-list-type" = "set"))]
    pub recipients: Vec<String>,
    /// Least severe incident that is emailed: 1 is the most severe, 4 the least.
    #[serde(default = "default_min_severity")]
    #[schemars(range(min = 1, max = 4))]
    pub min_severity: i32,
}

fn default_min_severity() -> i32 {
    2
}

/// Observed state of a Customer Space contract.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloudContractStatus {
    /// Generation of the spec this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Synced` and `CredentialsValid`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Conditions,
    /// Last value of the `customerspace.io/reconcile-requested-at` annotation that was handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// Contract name in the portal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub contract_name: Option<String>,
    /// Customer (legal entity) holding the contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub customer: Option<String>,
    /// Email of the current referent user of the contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub referent: Option<String>,
    /// URL of the technical console of the platform (Flexible Engine console or vCloud Director).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_PORTAL_LONG_TEXT))]
    pub console_url: Option<String>,
    /// Platform weather: the worst state of the platform regions the contract uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weather: Option<Weather>,
    /// One-line explanation of the weather.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_PORTAL_LONG_TEXT))]
    pub weather_summary: Option<String>,
    /// Open incidents on the contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incidents: Option<IncidentsStatus>,
    /// Consumption to date in the current billing period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumption: Option<ConsumptionStatus>,
    /// Services subscribed on the contract (at most 200; `subscriptionsOmitted` counts the rest).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_SUBSCRIPTIONS))]
    pub subscriptions: Vec<Subscription>,
    /// Subscriptions the portal listed beyond the 200 shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscriptions_omitted: Option<i32>,
    /// The most recent invoices, newest first (at most 12).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 12))]
    pub invoices: Vec<InvoiceSummary>,
    /// Email address that receives the invoices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub invoice_contact: Option<String>,
    /// Number of portal users with access to the contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_count: Option<i32>,
    /// Open requests of the contract (ServiceOrders' and those made in the portal) by state;
    /// absent when the credentials may not list requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<OpenRequests>,
    /// When the status was last refreshed from the portal (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<String>,
    /// Incidents emailed to `spec.notifications.recipients`, one entry per incident id (so each
    /// state of an incident is sent once). Kept while the portal lists the incident.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_NOTIFIED_INCIDENTS))]
    pub notified_incidents: Vec<NotifiedIncident>,
}

/// What was emailed about one incident: one entry per incident id, however often it changes.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotifiedIncident {
    /// Incident id (a digest, `h` plus 32 hex digits, when the portal's id is long or unusual).
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub id: String,
    /// The states already emailed (`Open`, `InProgress`, `Resolved`, `Unknown`): each is sent once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 4))]
    pub states: Vec<String>,
    /// The state whose email is due: on record before the email leaves, moved to `states` once
    /// it was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    pub due: Option<String>,
    /// The one state emailed, as written by releases before `states`; read, never written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub state: Option<String>,
}

/// Platform weather, as the portal's dashboard shows it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum Weather {
    /// All services nominal.
    Sunny,
    /// Minor degradation.
    Cloudy,
    /// Major degradation.
    Rainy,
    /// Outage.
    Stormy,
    /// The weather could not be read.
    Unknown,
}

/// Open incidents: how many, and the most severe few.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentsStatus {
    /// Number of open incidents.
    pub open: i32,
    /// The most severe open incidents (at most 5), most severe first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 5))]
    pub most_severe: Vec<IncidentSummary>,
}

/// One incident.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentSummary {
    /// Incident id in the portal.
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub id: String,
    /// Short title (cut at 256 characters).
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub title: String,
    /// Severity from 1 (most severe) to 4.
    #[schemars(range(min = 1, max = 4))]
    pub severity: i32,
    /// Incident state, such as `Open`, `InProgress` or `Resolved`.
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub state: String,
    /// When the incident was opened (RFC 3339).
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub opened: String,
    /// When the incident was last updated (RFC 3339).
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub updated: String,
}

/// Open requests of a contract by state.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OpenRequests {
    /// Every request not Completed, Rejected or Cancelled.
    pub open: i32,
    /// Received by the portal, not yet processed.
    pub transmitted: i32,
    /// Being processed.
    pub in_progress: i32,
    /// In a state this operator does not know yet.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unknown: i32,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

/// Consumption to date.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsumptionStatus {
    /// Decimal amount consumed since the start of the period.
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub amount: String,
    /// ISO 4217 currency of the amount.
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub currency: String,
    /// First day of the current billing period (RFC 3339 date).
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub period_start: String,
    /// Time the portal's consumption data was computed (RFC 3339).
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub data_as_of: String,
}

/// One subscribed service.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// Subscription id in the portal.
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub id: String,
    /// Service name.
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub service: String,
    /// Platform region, when the service is regional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub region: Option<String>,
    /// Subscription state, such as `Active`.
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub state: String,
}

/// One invoice.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceSummary {
    /// Invoice id.
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub id: String,
    /// Billing period, such as `2026-10`.
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub period: String,
    /// Amount including taxes.
    pub amount: Money,
    /// Invoice status, such as `Issued`, `Paid` or `Overdue`.
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub status: String,
}
