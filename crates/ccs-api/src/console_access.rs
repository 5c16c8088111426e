//! `ConsoleAccess`: one team's access to one contract's technical console (the Flexible Engine
//! IAM, Keystone v3; or the FCA console, VMware Cloud Director).

use super::common::{Conditions, EMAIL_PATTERN, MAX_PORTAL_TEXT, OBJECT_NAME_PATTERN};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Pattern of a console user, group, role or project name: no control characters, no `/`.
pub const CONSOLE_NAME_PATTERN: &str = r"^[A-Za-z0-9][A-Za-z0-9 ._@+-]*$";

/// Key of the IAM user name in a console credentials Secret.
pub const KEY_USER_NAME: &str = "userName";
/// Key of the IAM user's password in a console credentials Secret.
pub const KEY_PASSWORD: &str = "password";
/// Key of the IAM domain (Flexible Engine: the customer's account name) in a console credentials Secret.
pub const KEY_DOMAIN_NAME: &str = "domainName";

/// Desired access of one team on one contract's console. No password field: members are either
/// federated, or get a generated initial password in a Secret the operator owns.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "customerspace.io",
    version = "v1alpha1",
    kind = "ConsoleAccess",
    plural = "consoleaccesses",
    singular = "consoleaccess",
    shortname = "caccess",
    category = "customerspace",
    namespaced,
    status = "ConsoleAccessStatus",
    doc = "One team's access to the technical console of one contract: a Flexible Engine IAM group with its members and role assignments, or members of an FCA (Cloud Director) organization.",
    printcolumn(
        name = "Contract",
        type_ = "string",
        json_path = ".spec.contract",
        description = "CloudContract whose console this is"
    ),
    printcolumn(
        name = "Group",
        type_ = "string",
        json_path = ".spec.flexibleEngine.group",
        description = "Flexible Engine IAM group"
    ),
    printcolumn(
        name = "Effective-After",
        type_ = "string",
        json_path = ".status.effectiveAfter",
        description = "When the last permission change is applied by the platform"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.flexibleEngine) != has(self.fca)").message("set exactly one of flexibleEngine (Flexible Engine contracts) or fca (FCA contracts)"))]
#[x_kube(validation = Rule::new("has(self.flexibleEngine) == has(oldSelf.flexibleEngine)").message("the platform is immutable: create another ConsoleAccess for the other console"))]
pub struct ConsoleAccessSpec {
    /// Name of the CloudContract (same namespace) whose console this is; its offer must match the
    /// platform section (`flexibleEngine` or `fca`). Immutable.
    #[schemars(length(min = 1, max = 253), pattern(OBJECT_NAME_PATTERN))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("contract is immutable; create another ConsoleAccess for another contract"))]
    pub contract: String,
    /// Flexible Engine (OpenStack) console: an IAM group, its members and its role assignments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flexible_engine: Option<FlexibleEngineAccess>,
    /// FCA (VMware Cloud Director) console: members of an organization with one role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fca: Option<FcaAccess>,
    /// `Federated`: members come from the customer's identity provider and get no local password.
    /// `GeneratedSecret`: each new member gets a generated initial password, stored in a Secret
    /// owned by this object (named in `status.passwordSecret`), to be changed at first login.
    #[serde(default)]
    pub passwords: PasswordPolicy,
    /// `Full` creates, updates and removes undeclared members and role assignments; `CreateOnly`
    /// creates but never updates or removes; `ObserveOnly` writes nothing and reports drift.
    #[serde(default)]
    pub management_policy: ConsoleManagementPolicy,
    /// What happens on the console when this object is deleted.
    #[serde(default)]
    pub deletion_policy: ConsoleDeletionPolicy,
}

/// The Flexible Engine IAM (Keystone v3) side.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlexibleEngineAccess {
    /// Keystone v3 base URL, such as
    /// `https://iam.eu-west-0.prod-cloud-ocb.orange-business.com/v3`. It must be one of the
    /// operator's `console.identityEndpoints`; any other is refused before anything is sent.
    #[schemars(length(min = 1, max = 2048), pattern(r"^https?://"))]
    pub identity_endpoint: String,
    /// An IAM administrator of the customer's domain: a Secret in this namespace labelled
    /// `customerspace.io/credentials=true` with the keys `domainName`, `userName` and `password`.
    pub credentials_secret_ref: ConsoleSecretRef,
    /// IAM group of the team, created or adopted in the credentials' domain, and owned by this
    /// object. Immutable.
    #[schemars(length(min = 1, max = 64), pattern(CONSOLE_NAME_PATTERN))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("group is immutable; create another ConsoleAccess for another group"))]
    pub group: String,
    /// Roles of the group, each on one project or on the whole domain. The group has exactly
    /// these under `Full`.
    #[serde(default)]
    #[schemars(length(max = 50))]
    pub role_assignments: Vec<RoleAssignment>,
    /// Members of the group (IAM users of the domain, created when missing).
    #[serde(default)]
    #[schemars(length(max = 200), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub members: Vec<ConsoleMember>,
}

/// A role of the group: on a project (`project`) or on the domain (`domain: true`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.project) != (has(self.domain) && self.domain)").message("set either project (a project-scoped role) or domain: true (a domain-scoped role)"))]
pub struct RoleAssignment {
    /// Role name, such as `te_admin` or `readonly`.
    #[schemars(length(min = 1, max = 255), pattern(CONSOLE_NAME_PATTERN))]
    pub role: String,
    /// Project name in the domain, such as `eu-west-0_acme`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), pattern(CONSOLE_NAME_PATTERN))]
    pub project: Option<String>,
    /// `true`: the role is on the whole domain of the credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<bool>,
}

/// One person with console access.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsoleMember {
    /// User name on the console (unique in the domain or organization), such as `jane.doe`.
    #[schemars(length(min = 1, max = 64), pattern(CONSOLE_NAME_PATTERN))]
    pub name: String,
    /// Email of the person, set on a user the operator creates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 254), pattern(EMAIL_PATTERN))]
    pub email: Option<String>,
}

/// The FCA (VMware Cloud Director) side.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FcaAccess {
    /// Cloud Director base URL (before `/cloudapi`), such as
    /// `https://console1.cloudavenue.orange-business.com`. It must be one of the operator's
    /// `console.cloudDirectorEndpoints`; any other is refused before anything is sent.
    #[schemars(length(min = 1, max = 2048), pattern(r"^https?://"))]
    pub endpoint: String,
    /// An organization administrator: a Secret in this namespace labelled
    /// `customerspace.io/credentials=true` with the keys `domainName` (the organization),
    /// `userName` and `password`.
    pub credentials_secret_ref: ConsoleSecretRef,
    /// Cloud Director organization name.
    #[schemars(length(min = 1, max = 128), pattern(CONSOLE_NAME_PATTERN))]
    pub organization: String,
    /// Role of every member, such as `Organization Administrator`.
    #[schemars(length(min = 1, max = 128), pattern(CONSOLE_NAME_PATTERN))]
    pub role: String,
    /// Members (Cloud Director users of the organization, created when missing).
    #[serde(default)]
    #[schemars(length(max = 200), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub members: Vec<ConsoleMember>,
}

/// A console credentials Secret in the same namespace as the object.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsoleSecretRef {
    /// Name of the Secret, in the namespace of this object. It must be labelled
    /// `customerspace.io/credentials=true` and hold `domainName`, `userName` and `password`.
    #[schemars(length(min = 1, max = 253), pattern(OBJECT_NAME_PATTERN))]
    pub name: String,
}

/// How members get their password.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum PasswordPolicy {
    /// Members log in through the customer's identity provider: no local password is set.
    #[default]
    Federated,
    /// Each new member gets a generated initial password in a Secret owned by this object, to be
    /// changed at first login.
    GeneratedSecret,
}

/// What the operator may write for a ConsoleAccess.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ConsoleManagementPolicy {
    /// Create, update and remove: the group has exactly the declared members and roles.
    #[default]
    Full,
    /// Create the group, the missing members and roles; never remove anything.
    CreateOnly,
    /// Write nothing; report drift in the `Synced` condition.
    ObserveOnly,
}

/// What happens on the console when a ConsoleAccess is deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ConsoleDeletionPolicy {
    /// Revoke the group's role assignments and empty the group; keep the group and the users.
    #[default]
    RemoveAccess,
    /// Delete the group and the users this object created (adopted users stay).
    Delete,
    /// Leave the group, its members and its roles as they are.
    Orphan,
}

/// Observed state of a ConsoleAccess.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsoleAccessStatus {
    /// Generation of the spec this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Synced`, `Reconciling` and `Stalled`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Conditions,
    /// Last value of the `customerspace.io/reconcile-requested-at` annotation that was handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// When the status was last refreshed from the console (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<String>,
    /// IAM domain id of the credentials (Flexible Engine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub domain_id: Option<String>,
    /// IAM group id (Flexible Engine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub group_id: Option<String>,
    /// Whether the group existed before this object and was adopted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted: Option<bool>,
    /// The declared members as the console shows them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 200), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub members: Vec<MemberStatus>,
    /// The group's role assignments as the console shows them (declared or not).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["id"]))]
    pub role_assignments: Vec<AssignmentStatus>,
    /// Secret (same namespace, owned by this object) holding the generated initial password of
    /// each new member, under the member's name (`passwords: GeneratedSecret`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret: Option<String>,
    /// When the operator last changed the group's members or roles (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_changed_at: Option<String>,
    /// When the last permission change is surely applied: Flexible Engine applies IAM changes
    /// 15 to 30 minutes after they are made, so this is `permissionsChangedAt` + 30 minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_after: Option<String>,
}

/// One declared member on the console.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberStatus {
    /// User name.
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub name: String,
    /// User id on the console.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub user_id: Option<String>,
    /// State of the member.
    pub state: MemberState,
    /// Whether this object created the user (a `Delete` deletion deletes only those).
    #[serde(default)]
    pub created: bool,
}

/// State of one member.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum MemberState {
    /// The user does not exist yet.
    Pending,
    /// The user exists but is not in the group (ObserveOnly drift, or being added).
    NotMember,
    /// In the group.
    Member,
    /// In the group, but the user is disabled on the console.
    Disabled,
}

/// One role assignment of the group.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentStatus {
    /// Stable id of the assignment: `project:<projectId>/role:<roleId>` or
    /// `domain:<domainId>/role:<roleId>` (Keystone gives role assignments no id of their own).
    #[schemars(length(max = 520))]
    pub id: String,
    /// Role name.
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub role: String,
    /// Role id.
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub role_id: String,
    /// Project name, for a project-scoped role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub project: Option<String>,
    /// Project id, for a project-scoped role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_PORTAL_TEXT))]
    pub project_id: Option<String>,
    /// `true` for a domain-scoped role.
    #[serde(default)]
    pub domain: bool,
    /// Whether the spec declares it (`false`: drift under ObserveOnly or CreateOnly).
    pub declared: bool,
}
