//! The simulator's mutable state (what `--state-file` saves); `seed.rs` creates it.

use super::clock::Clock;
use super::config::SimConfig;
use ccs_portal_model::{Account, AccountState, Offer, Profiles, ServiceRequest, Subscription};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One user's access to one contract.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Access {
    /// Profiles per section.
    pub profiles: Profiles,
    /// Whether the access is enabled.
    pub enabled: bool,
}

/// A contract and who may use it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractRecord {
    /// Contract id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Offer.
    pub offer: Offer,
    /// Customer.
    pub customer: String,
    /// Account id of the referent.
    pub referent: String,
    /// Technical console URL.
    pub console_url: String,
    /// Invoice reception email.
    pub invoice_contact: String,
    /// Currency.
    pub currency: String,
    /// Regions used.
    pub regions: Vec<String>,
    /// Subscriptions.
    pub subscriptions: Vec<Subscription>,
    /// Average daily spend in cents.
    pub daily_cents: i64,
    /// Access per account id.
    pub users: BTreeMap<String, Access>,
}

/// An account plus simulator-only fields.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountRecord {
    /// What the API shows (state is recomputed from `activates_at`).
    pub account: Account,
    /// When an invited account becomes active.
    pub activates_at: Option<DateTime<Utc>>,
}

/// API credentials: scoped to some contracts, acting as one account.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialRecord {
    /// What the credential is for (`manager`, `visitor`, `operator`).
    pub label: String,
    /// OAuth2 client id.
    pub client_id: String,
    /// OAuth2 client secret.
    pub client_secret: String,
    /// API key.
    pub api_key: String,
    /// The account the credential acts as.
    pub account_id: String,
    /// Contracts the credential may touch.
    pub contracts: Vec<String>,
}

impl std::fmt::Debug for CredentialRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialRecord")
            .field("label", &self.label)
            .field("client_id", &self.client_id)
            .field("account_id", &self.account_id)
            .field("contracts", &self.contracts)
            .finish_non_exhaustive()
    }
}

/// A request plus the outcome decided at submission.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    /// What the API shows.
    pub request: ServiceRequest,
    /// Why it will be rejected when processed, if it will.
    pub reject_reason: Option<(String, String)>,
}

/// An incident opened through the admin API.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManualIncident {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Platform.
    pub platform: Offer,
    /// Region.
    pub region: String,
    /// Severity 1-4.
    pub severity: u8,
    /// Opening time.
    pub opened_at: DateTime<Utc>,
    /// Duration in simulated seconds.
    pub duration_seconds: i64,
    /// A state set by a test, overriding the one the clock gives (to make incidents flap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forced_state: Option<ccs_portal_model::IncidentState>,
}

/// All mutable state.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct World {
    /// Settings the world was made with.
    #[serde(skip, default)]
    pub config: SimConfig,
    /// Clock.
    pub clock: Clock,
    /// Contracts by id.
    pub contracts: BTreeMap<String, ContractRecord>,
    /// Accounts by id.
    pub accounts: BTreeMap<String, AccountRecord>,
    /// Credentials.
    pub credentials: Vec<CredentialRecord>,
    /// Requests by id.
    pub requests: BTreeMap<String, RequestRecord>,
    /// Incidents opened by the admin API.
    pub manual_incidents: Vec<ManualIncident>,
    /// Counter for new ids.
    pub next_id: u64,
    /// When set, consumption data stops at this time (stale data, as after a billing outage).
    #[serde(default)]
    pub consumption_frozen_at: Option<DateTime<Utc>>,
    /// The Cloud Director organizations of the FCA contracts.
    #[serde(default)]
    pub vcd: super::vcd::VcdWorld,
}

impl World {
    /// A new unique id with a prefix.
    pub fn new_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}-{}", self.next_id)
    }

    /// The account as the API shows it now (invited accounts activate after a while).
    pub fn account_view(&self, id: &str, now: DateTime<Utc>) -> Option<Account> {
        self.accounts.get(id).map(|rec| {
            let mut account = rec.account.clone();
            if rec.activates_at.is_some_and(|t| t <= now) {
                account.state = AccountState::Active;
            }
            account
        })
    }

    /// The account with this email.
    pub fn account_by_email(&self, email: &str) -> Option<&AccountRecord> {
        self.accounts
            .values()
            .find(|a| a.account.email.eq_ignore_ascii_case(email))
    }
}
