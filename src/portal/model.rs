//! Wire models of the Customer Space API (`config/customer-space-api.yaml`).
//!
//! The client and the simulator share these types, so the simulator cannot drift from what the
//! client decodes; the OpenAPI test checks both against the written contract.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Path prefix of every business route (the token and the OpenAPI document live outside it).
pub const API_PREFIX: &str = "/customer-space/b2b/v1";

/// Platform offer of a contract.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Offer {
    /// Flexible Engine (public cloud).
    FE,
    /// Flexible Computing Advanced (VMware based).
    FCA,
}

/// A section of the customer space; rights are granted per contract and per section.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub enum Section {
    /// Dashboard: weather, incidents, consumption overview.
    Dashboard,
    /// Contract details and referent.
    Contracts,
    /// Users and their rights.
    Users,
    /// Orders and change requests.
    Requests,
    /// Catalog of orderable items.
    Catalog,
    /// Bills, consumption and billing reports.
    Invoices,
    /// Contractual documents.
    Documents,
    /// Support tickets.
    Support,
    /// Link to the technical console.
    Console,
}

impl Section {
    /// Every section, in display order.
    pub const ALL: [Section; 9] = [
        Section::Dashboard,
        Section::Contracts,
        Section::Users,
        Section::Requests,
        Section::Catalog,
        Section::Invoices,
        Section::Documents,
        Section::Support,
        Section::Console,
    ];
}

/// A profile in one section.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Profile {
    /// Read only.
    Visitor,
    /// Read and write.
    Manager,
}

/// Profiles of one person on one contract; a section left out gives no access.
pub type Profiles = BTreeMap<Section, Profile>;

/// Language of messages.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Language {
    /// English.
    #[default]
    #[serde(rename = "en")]
    En,
    /// French.
    #[serde(rename = "fr")]
    Fr,
}

impl Language {
    /// The `Accept-Language` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Fr => "fr",
        }
    }
}

/// OAuth2 token response (snake case, as RFC 6749 says).
#[derive(Serialize, Deserialize, Clone)]
pub struct TokenResponse {
    /// The bearer token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime in seconds.
    pub expires_in: u64,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Error body of every non-2xx answer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ApiErrorBody {
    /// Numeric error code, in the Orange B2B API style (e.g. 41 invalid token, 50 forbidden).
    pub code: u32,
    /// Short message.
    pub message: String,
    /// Longer explanation, localized from `Accept-Language`.
    #[serde(default)]
    pub description: String,
}

/// The referent of a contract.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Referent {
    /// Account id.
    pub account_id: String,
    /// Email of the referent.
    pub email: String,
}

/// A subscribed service.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// Subscription id.
    pub id: String,
    /// Service name.
    pub service: String,
    /// Region, for regional services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// `Active` or `Suspended`.
    pub state: String,
}

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

/// Account state.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountState {
    /// Invited, never logged in.
    Invited,
    /// Has logged in.
    Active,
}

/// A portal account, keyed by email.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// Account id.
    pub id: String,
    /// Email (unique).
    pub email: String,
    /// Login.
    pub login: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Language of emails.
    pub locale: Language,
    /// Account state.
    pub state: AccountState,
    /// When the last invitation was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation_sent_at: Option<DateTime<Utc>>,
}

/// A user's access to one contract.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ContractUser {
    /// The account.
    pub account: Account,
    /// Profiles per section.
    pub profiles: Profiles,
    /// Whether the access is enabled.
    pub enabled: bool,
    /// Whether this user is the contract referent.
    pub referent: bool,
}

/// Body of "add a user to a contract".
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NewUser {
    /// Email; an existing account with this email is reused.
    pub email: String,
    /// Wanted login (8-64 of letters, digits, `.`, `_`, `-`); an existing account keeps its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Language of emails.
    #[serde(default)]
    pub locale: Language,
    /// Profiles on the contract.
    pub profiles: Profiles,
    /// Whether the access is enabled.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Send the invitation email when the account is created.
    #[serde(default)]
    pub send_invitation: bool,
}

fn yes() -> bool {
    true
}

/// Answer of "add a user to a contract".
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AddUserResult {
    /// The user's access to the contract.
    pub user: ContractUser,
    /// False when an account with this email existed and was reused.
    pub account_created: bool,
    /// True when the existing account's login was used instead of the requested one.
    pub login_substituted: bool,
}

/// Body of "set a user's access".
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AccessUpdate {
    /// Profiles per section (replaces the current ones).
    pub profiles: Profiles,
    /// Whether the access is enabled.
    pub enabled: bool,
}

/// Spend of one day.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DailyAmount {
    /// The day.
    pub date: NaiveDate,
    /// Decimal amount.
    pub amount: String,
}

/// Consumption to date in the current monthly period.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Consumption {
    /// Contract id.
    pub contract_id: String,
    /// ISO 4217 currency.
    pub currency: String,
    /// First day of the period.
    pub period_start: NaiveDate,
    /// Last day of the period.
    pub period_end: NaiveDate,
    /// Decimal amount consumed since the start of the period.
    pub amount_to_date: String,
    /// Time the data was computed.
    pub data_as_of: DateTime<Utc>,
    /// One entry per day of the period up to today.
    pub daily: Vec<DailyAmount>,
}

/// Platform weather.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Weather {
    /// Nominal.
    Sunny,
    /// Minor degradation (severity 3-4 incident).
    Cloudy,
    /// Major degradation (severity 2).
    Rainy,
    /// Outage (severity 1).
    Stormy,
}

/// Incident state.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncidentState {
    /// Just opened.
    Open,
    /// Being worked on.
    InProgress,
    /// Resolved.
    Resolved,
}

/// A platform incident.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    /// Incident id.
    pub id: String,
    /// Title, localized.
    pub title: String,
    /// Platform offer.
    pub platform: Offer,
    /// Region.
    pub region: String,
    /// 1 (critical) to 4 (low).
    pub severity: u8,
    /// State.
    pub state: IncidentState,
    /// Opening time.
    pub opened_at: DateTime<Utc>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
    /// Resolution time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Weather of one platform region.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RegionStatus {
    /// Platform offer.
    pub platform: Offer,
    /// Region.
    pub region: String,
    /// Weather.
    pub weather: Weather,
}

/// Weather and incidents of the platform regions a contract uses.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PlatformStatus {
    /// Contract id.
    pub contract_id: String,
    /// Worst weather of the regions.
    pub weather: Weather,
    /// One line explanation, localized.
    pub summary: String,
    /// Per region.
    pub regions: Vec<RegionStatus>,
    /// Open incidents and those resolved in the last 24 hours, most severe first.
    pub incidents: Vec<Incident>,
    /// When this was computed.
    pub checked_at: DateTime<Utc>,
}

/// Bill status.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BillStatus {
    /// Issued, not yet due.
    Issued,
    /// Paid.
    Paid,
    /// Past due date.
    Overdue,
}

/// An invoice.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Bill {
    /// Bill id.
    pub id: String,
    /// Billed month, `YYYY-MM`.
    pub period: String,
    /// Issue date.
    pub issued_at: NaiveDate,
    /// Due date.
    pub due_at: NaiveDate,
    /// Decimal amount including taxes.
    pub amount: String,
    /// ISO 4217 currency.
    pub currency: String,
    /// Status.
    pub status: BillStatus,
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
