//! Seeding: the contracts, people, rights and credentials a seed produces.

use super::catalog;
use super::clock::Clock;
use super::config::SimConfig;
use super::rng::Rng;
use super::world::{Access, AccountRecord, ContractRecord, CredentialRecord, World};
use ccs_portal_model::{Account, AccountState, Language, Offer, Profile, Profiles, Section, Subscription};
use std::collections::BTreeMap;

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
fn all_sections(profile: Profile) -> Profiles {
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
            consumption_frozen_at: None,
            vcd: Default::default(),
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
            if offer == Offer::FCA {
                let tenant = id.to_lowercase();
                world.vcd.seed_org(config.seed, &mut rng, &id, &tenant);
            }
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
}
