//! Accounts keyed by email and their access per contract.

use super::{Language, Profiles};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Account state.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountState {
    /// Invited, never logged in.
    Invited,
    /// Has logged in.
    Active,
    /// A value this client does not know yet (the API may grow): read as unknown, not a decode
    /// failure.
    #[serde(other)]
    Unknown,
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
