//! Wire models of the Customer Space API (`config/customer-space-api.yaml`).
//!
//! The client and the simulator share these types, so the simulator cannot drift from what the
//! client decodes; the OpenAPI test checks both against the written contract.

mod billing;
mod contracts;
mod credentials;
mod requests;
mod status;
mod users;

pub use billing::*;
pub use contracts::*;
pub use credentials::{Credentials, Secret};
pub use requests::*;
pub use status::*;
pub use users::*;

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
