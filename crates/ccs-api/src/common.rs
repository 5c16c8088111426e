//! Shapes shared by several kinds: conditions, money, annotations, references.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Annotation: `"true"` stops the controller from acting on the object (status is still read).
pub const ANNOTATION_PAUSED: &str = "customerspace.io/paused";
/// Annotation: any new value asks for an immediate reconcile; the value is echoed to
/// `status.lastHandledReconcileAt` once handled.
pub const ANNOTATION_RECONCILE_REQUESTED_AT: &str = "customerspace.io/reconcile-requested-at";
/// Annotation: per-object poll interval as a duration such as `30s`, `5m` or `1h`.
pub const ANNOTATION_POLL_INTERVAL: &str = "customerspace.io/poll-interval";

/// Pattern of an email address accepted anywhere in the API.
pub const EMAIL_PATTERN: &str = r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$";
/// Pattern of a non-negative decimal amount of money, at most 4 decimals.
pub const DECIMAL_PATTERN: &str = r"^(0|[1-9][0-9]{0,14})(\.[0-9]{1,4})?$";
/// Pattern of an ISO 4217 alphabetic currency code.
pub const CURRENCY_PATTERN: &str = "^[A-Z]{3}$";
/// Pattern of the name of an object in the same namespace (a DNS-1123 subdomain).
pub const OBJECT_NAME_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/// Standard Kubernetes conditions, one entry per `type`.
pub type Conditions = Vec<Condition>;

/// Longest portal string copied into a status field (names, ids, states, regions, titles).
pub const MAX_PORTAL_TEXT: usize = 256;
/// Longest portal URL or free-text summary copied into a status field.
pub const MAX_PORTAL_LONG_TEXT: usize = 2048;

/// An amount of money as the portal reports it (status only): a decimal string (no float
/// rounding) and its currency. Not constrained beyond its length: the portal is an external
/// system, and a credit note has a negative amount such as `-120.00`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    /// Decimal amount such as `1234.56`, or `-120.00` for a credit note.
    #[schemars(length(max = 64))]
    pub amount: String,
    /// ISO 4217 currency code such as `EUR`.
    #[schemars(length(max = 16))]
    pub currency: String,
}

/// Label that marks a Secret as Customer Space credentials. The operator reads no other Secret:
/// an unmarked one is refused with a condition saying to add this label.
pub const LABEL_CREDENTIALS: &str = "customerspace.io/credentials";
/// Label selector of the credentials Secrets the operator watches.
pub const CREDENTIALS_SELECTOR: &str = "customerspace.io/credentials=true";
/// Key of the OAuth2 client id in a credentials Secret.
pub const KEY_CLIENT_ID: &str = "clientId";
/// Key of the OAuth2 client secret in a credentials Secret.
pub const KEY_CLIENT_SECRET: &str = "clientSecret";
/// Key of the API key in a credentials Secret.
pub const KEY_API_KEY: &str = "apiKey";

/// A credentials Secret in the same namespace as the object. The Secret must carry the label
/// `customerspace.io/credentials: "true"` and the keys `clientId`, `clientSecret` and `apiKey`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialsSecretRef {
    /// Name of the Secret, in the namespace of this object (cross-namespace references are not
    /// allowed). It must be labelled `customerspace.io/credentials=true`.
    #[schemars(length(min = 1, max = 253), pattern(OBJECT_NAME_PATTERN))]
    pub name: String,
    /// Deprecated: the key is always `clientId`. Only that value is accepted.
    #[serde(default = "default_client_id_key")]
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new("self == 'clientId'").message("clientIdKey is deprecated: the operator reads only the key clientId; remove clientIdKey and store the client id under clientId"))]
    pub client_id_key: String,
    /// Deprecated: the key is always `clientSecret`. Only that value is accepted.
    #[serde(default = "default_client_secret_key")]
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new("self == 'clientSecret'").message("clientSecretKey is deprecated: the operator reads only the key clientSecret; remove clientSecretKey and store the client secret under clientSecret"))]
    pub client_secret_key: String,
    /// Deprecated: the key is always `apiKey`. Only that value is accepted.
    #[serde(default = "default_api_key_key")]
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new("self == 'apiKey'").message("apiKeyKey is deprecated: the operator reads only the key apiKey; remove apiKeyKey and store the API key under apiKey"))]
    pub api_key_key: String,
}

fn default_client_id_key() -> String {
    KEY_CLIENT_ID.into()
}
fn default_client_secret_key() -> String {
    KEY_CLIENT_SECRET.into()
}
fn default_api_key_key() -> String {
    KEY_API_KEY.into()
}

/// Language of emails and of portal messages.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum Locale {
    /// English.
    #[default]
    #[serde(rename = "en")]
    En,
    /// French.
    #[serde(rename = "fr")]
    Fr,
}

/// Fields every status of this API carries.
pub trait CommonStatus {
    /// The conditions of the object.
    fn conditions(&self) -> &[Condition];
    /// The generation the status was computed from.
    fn observed_generation(&self) -> Option<i64>;
}

/// Looks up a condition by type.
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}
