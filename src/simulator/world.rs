//! The simulator's mutable state (what `--state-file` saves) and its seeding.

use super::catalog;
use super::clock::Clock;
use super::config::SimConfig;
use super::rng::Rng;
use crate::portal::model::{
    Account, AccountState, Language, Offer, Profile, Profiles, Section, ServiceRequest, Subscription,
};
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
}

const FIRST: &[&str] = &[
    "Alice", "Bruno", "Chloé", "David", "Emma", "Farid", "Gaëlle", "Hugo", "Inès", "Jules", "Karim", "Léa",
];
const LAST: &[&str] = &[
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
];
const CUSTOMERS: &[(&str, &str)] = &[
    ("Acme Industries", "acme.example"),
    ("Bleu Logistique", "bleu-logistique.example"),
    ("Cerise Santé", "cerise-sante.example"),
];
const SERVICES: &[&str] = &[
    "Compute",
    "Block storage",
    "Object storage",
    "Network",
    "Backup",
    "Managed Kubernetes",
];

/// Profiles with every section at `profile`.
pub fn all_sections(profile: Profile) -> Profiles {
    Section::ALL.iter().map(|s| (*s, profile)).collect()
}

/// ASCII login from a name: letters and dots, at least 8 characters.
fn login_of(first: &str, last: &str) -> String {
    let raw: String = format!("{first}.{last}")
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'é' | 'è' | 'ë' => 'e',
            'ï' => 'i',
            c if c.is_ascii_alphanumeric() || c == '.' => c,
            _ => '-',
        })
        .collect();
    format!("{raw:.<8}")
}

impl World {
    /// The world a seed and config produce.
    pub fn seeded(config: &SimConfig) -> Self {
        let mut rng = Rng::new(config.seed);
        let mut world = World {
            config: config.clone(),
            clock: Clock::new(config.start_time, config.clock_speed),
            contracts: BTreeMap::new(),
            accounts: BTreeMap::new(),
            credentials: vec![],
            requests: BTreeMap::new(),
            manual_incidents: vec![],
            next_id: 1000,
        };
        // An operator account, Manager everywhere, like a platform team's service account.
        let ops = world.seed_account(&mut rng, "Platform", "Operator", "ops.example");
        let mut all_contracts = vec![];
        for n in 0..config.contracts {
            // Alternate offers so both are always present.
            let offer = if n % 2 == 0 { Offer::FE } else { Offer::FCA };
            let (customer, domain) = CUSTOMERS[n % CUSTOMERS.len()];
            let id = format!(
                "{}{:06}",
                if offer == Offer::FE { "OCB" } else { "FCA" },
                100_000 + rng.below(900_000)
            );
            let referent = world.seed_person(&mut rng, domain);
            let mut users = BTreeMap::new();
            users.insert(
                referent.clone(),
                Access {
                    profiles: all_sections(Profile::Manager),
                    enabled: true,
                },
            );
            users.insert(
                ops.clone(),
                Access {
                    profiles: all_sections(Profile::Manager),
                    enabled: true,
                },
            );
            // A read-only colleague, and a few users with mixed profiles.
            let visitor = world.seed_person(&mut rng, domain);
            users.insert(
                visitor.clone(),
                Access {
                    profiles: all_sections(Profile::Visitor),
                    enabled: true,
                },
            );
            for _ in 0..2 + rng.below(3) {
                let account = world.seed_person(&mut rng, domain);
                let profiles = Section::ALL
                    .iter()
                    .filter_map(|s| match rng.below(3) {
                        0 => None,
                        1 => Some((*s, Profile::Visitor)),
                        _ => Some((*s, Profile::Manager)),
                    })
                    .collect();
                users.insert(
                    account,
                    Access {
                        profiles,
                        enabled: rng.below(8) != 0,
                    },
                );
            }
            let regions: Vec<String> = {
                let all = catalog::regions(offer);
                all[..1 + rng.below(all.len())]
                    .iter()
                    .map(|r| r.to_string())
                    .collect()
            };
            let subscriptions = (0..2 + rng.below(3))
                .map(|i| Subscription {
                    id: format!("SUB-{id}-{i}"),
                    service: SERVICES[(i + n) % SERVICES.len()].to_string(),
                    region: Some(regions[i % regions.len()].clone()),
                    state: "Active".into(),
                })
                .collect();
            let console_url = match offer {
                Offer::FE => format!(
                    "https://console.{}.prod-cloud-ocb.orange-business.com/",
                    regions[0]
                ),
                Offer::FCA => format!(
                    "https://vcd.{}.fca.example/tenant/{}",
                    regions[0],
                    id.to_lowercase()
                ),
            };
            world.credential(&mut rng, "manager", &referent, std::slice::from_ref(&id));
            world.credential(&mut rng, "visitor", &visitor, std::slice::from_ref(&id));
            all_contracts.push(id.clone());
            world.contracts.insert(
                id.clone(),
                ContractRecord {
                    name: format!(
                        "{customer} {} {}",
                        if offer == Offer::FE {
                            "Flexible Engine"
                        } else {
                            "FCA"
                        },
                        n + 1
                    ),
                    id,
                    offer,
                    customer: customer.to_string(),
                    referent,
                    console_url,
                    invoice_contact: format!("invoices@{domain}"),
                    currency: "EUR".into(),
                    regions,
                    subscriptions,
                    daily_cents: 5_000 + rng.below(60_000) as i64,
                    users,
                },
            );
        }
        world.credential(&mut rng, "operator", &ops, &all_contracts);
        world
    }

    fn seed_person(&mut self, rng: &mut Rng, domain: &str) -> String {
        let first = *rng.pick(FIRST);
        let last = *rng.pick(LAST);
        self.seed_account(rng, first, last, domain)
    }

    fn seed_account(&mut self, rng: &mut Rng, first: &str, last: &str, domain: &str) -> String {
        let login = login_of(first, last);
        let email = format!("{login}@{domain}");
        if let Some(existing) = self.accounts.values().find(|a| a.account.email == email) {
            // Same person on several contracts: one account.
            return existing.account.id.clone();
        }
        let id = format!("ACC-{:06}", rng.below(1_000_000));
        let account = Account {
            id: id.clone(),
            email,
            login,
            first_name: first.into(),
            last_name: last.into(),
            phone: Some(format!(
                "+33 1 {:02} {:02} {:02} {:02}",
                rng.below(100),
                rng.below(100),
                rng.below(100),
                rng.below(100)
            )),
            locale: if rng.below(2) == 0 {
                Language::En
            } else {
                Language::Fr
            },
            state: AccountState::Active,
            invitation_sent_at: None,
        };
        self.accounts.insert(
            id.clone(),
            AccountRecord {
                account,
                activates_at: None,
            },
        );
        id
    }

    fn credential(&mut self, rng: &mut Rng, label: &str, account: &str, contracts: &[String]) {
        let n = self.credentials.len();
        self.credentials.push(CredentialRecord {
            label: label.into(),
            client_id: format!("ccs-{label}-{n:03}"),
            client_secret: rng.hex(),
            api_key: rng.hex(),
            account_id: account.into(),
            contracts: contracts.to_vec(),
        });
    }

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
