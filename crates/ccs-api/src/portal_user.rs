//! `PortalUser`: one person's access to Customer Space contracts.

use super::common::{Conditions, EMAIL_PATTERN, Locale, MAX_PORTAL_TEXT, OBJECT_NAME_PATTERN};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Desired access of one person. There is no password field: the portal sends an invitation instead.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "customerspace.io",
    version = "v1alpha1",
    kind = "PortalUser",
    plural = "portalusers",
    singular = "portaluser",
    shortname = "puser",
    category = "customerspace",
    namespaced,
    status = "PortalUserStatus",
    doc = "One person's access to Cloud Customer Space contracts: the account, and a Visitor or Manager profile per portal section and contract.",
    printcolumn(
        name = "Email",
        type_ = "string",
        json_path = ".spec.email",
        description = "Email of the person"
    ),
    printcolumn(
        name = "State",
        type_ = "string",
        json_path = ".status.state",
        description = "Account state"
    ),
    printcolumn(
        name = "Contracts",
        type_ = "string",
        json_path = ".spec.access[*].contract",
        description = "CloudContracts the person has access to"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct PortalUserSpec {
    /// Email of the person; it identifies the portal account. Immutable.
    #[schemars(length(max = 254), pattern(EMAIL_PATTERN))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("email is immutable; create another PortalUser for another person"))]
    pub email: String,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub last_name: Option<String>,
    /// Phone number in international format, such as `+33 1 23 45 67 89`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^\+?[0-9][0-9 ().-]{5,24}$"))]
    pub phone: Option<String>,
    /// Preferred login: 8 to 64 letters, digits, `.`, `_` or `-`. When the email already has an
    /// account, the portal keeps its existing login (see `status.login`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[A-Za-z0-9._-]{8,64}$"))]
    pub login: Option<String>,
    /// Language of the portal and of its emails for this person.
    #[serde(default)]
    pub locale: Locale,
    /// Access per contract: at most one entry per CloudContract.
    #[serde(default)]
    #[schemars(length(max = 50), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["contract"]))]
    pub access: Vec<ContractAccess>,
    /// `false` disables the person's access on the listed contracts without forgetting it.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Invitation email settings.
    #[serde(default)]
    pub invitation: Invitation,
    /// `Full` creates, updates and removes undeclared profiles; `CreateOnly` creates but never
    /// updates; `ObserveOnly` writes nothing and reports drift.
    #[serde(default)]
    pub management_policy: UserManagementPolicy,
    /// What happens in the portal when this object is deleted.
    #[serde(default)]
    pub deletion_policy: UserDeletionPolicy,
}

fn default_true() -> bool {
    true
}

/// The profiles of the person on one contract.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContractAccess {
    /// Name of a CloudContract in this namespace.
    #[schemars(length(min = 1, max = 253), pattern(OBJECT_NAME_PATTERN))]
    pub contract: String,
    /// Profile per portal section; sections left out give no access.
    pub profiles: SectionProfiles,
}

/// A profile per portal section. At least one section must be set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("minProperties" = 1))]
pub struct SectionProfiles {
    /// Dashboard: weather, incidents, consumption overview.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dashboard: Option<Profile>,
    /// Contracts: contract details and referent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contracts: Option<Profile>,
    /// Users: managing the users and their rights (Manager needed to manage users).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<Profile>,
    /// Requests: orders and change requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<Profile>,
    /// Catalog: browsing and ordering catalog items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<Profile>,
    /// Invoices: bills and billing reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoices: Option<Profile>,
    /// Documents: contractual documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents: Option<Profile>,
    /// Support: tickets and incident follow-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support: Option<Profile>,
    /// Console: link to the technical console of the platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console: Option<Profile>,
}

/// A profile in one portal section.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema)]
pub enum Profile {
    /// Read only.
    Visitor,
    /// Read and write.
    Manager,
}

/// Invitation email settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Invitation {
    /// Send the portal's invitation email once, when the account is created.
    #[serde(default = "default_true")]
    pub send: bool,
}

impl Default for Invitation {
    fn default() -> Self {
        Self { send: true }
    }
}

/// What the operator may write for a PortalUser.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum UserManagementPolicy {
    /// Create, update, and remove undeclared profiles on the listed contracts.
    #[default]
    Full,
    /// Create missing account and profiles; never update or remove.
    CreateOnly,
    /// Write nothing; report drift in a condition.
    ObserveOnly,
}

/// What happens in the portal when a PortalUser is deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum UserDeletionPolicy {
    /// Remove the person's access to the listed contracts; keep the account.
    #[default]
    RemoveAccess,
    /// Delete the account, unless another PortalUser still references the email (then RemoveAccess).
    Delete,
    /// Leave the account and its access as they are.
    Orphan,
}

/// Observed state of a PortalUser.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortalUserStatus {
    /// Generation of the spec this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` and `Synced`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Conditions,
    /// Last value of the `customerspace.io/reconcile-requested-at` annotation that was handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// Account id in the portal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub account_id: Option<String>,
    /// Login the portal actually uses (an existing account keeps its login).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub login: Option<String>,
    /// Account state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<UserState>,
    /// Whether the account existed before this object and was adopted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted: Option<bool>,
    /// When the invitation email was sent (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation_sent_at: Option<String>,
    /// Profiles observed in the portal, per listed contract.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["contract"]))]
    pub grants: Vec<ObservedGrant>,
    /// When the status was last refreshed from the portal (RFC 3339). A poll that finds nothing
    /// new does not write it again until it is `controllers.statusHeartbeat` old (30m by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<String>,
}

/// Account state of a PortalUser.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum UserState {
    /// Not created yet.
    Pending,
    /// Created and invited; the person has not logged in yet.
    Invited,
    /// The person uses the account.
    Active,
    /// Access disabled (`spec.enabled: false`).
    Disabled,
    /// The account could not be created or updated; see the conditions.
    Failed,
}

/// Profiles observed on one contract.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObservedGrant {
    /// Name of the CloudContract.
    pub contract: String,
    /// Customer Space contract id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_id: Option<String>,
    /// Profiles the portal reports; absent when the person has no access to the contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profiles: Option<SectionProfiles>,
}
