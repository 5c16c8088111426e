//! "Current" without a portal call: the portal as each object last observed it, rebuilt from the
//! status into the shapes the controllers' pure plan functions take.

use crate::api::cloud_contract::CloudContractStatus;
use crate::api::portal_user::{PortalUser, PortalUserStatus, UserState};
use crate::controllers::portal_user::plan::{ContractView, to_portal};
use crate::portal::{
    Account, AccountState, Bill, BillStatus, Consumption, Contract, ContractUser, DailyAmount, Dashboard,
    Language, Offer, PlatformStatus, Referent, Weather,
};
use chrono::{DateTime, NaiveDate, Utc};

fn time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The dashboard a CloudContract's status was written from, as far as the status tells: the
/// referent, and the consumption to date as one amount on the period's first day (plus the bills
/// of earlier months). `None` when the contract was never observed (no referent in status).
pub fn dashboard(contract_id: &str, status: &CloudContractStatus) -> Option<Dashboard> {
    let referent = status.referent.clone()?;
    let consumption = status.consumption.as_ref().and_then(|c| {
        let period_start = NaiveDate::parse_from_str(&c.period_start, "%Y-%m-%d").ok()?;
        Some(Consumption {
            contract_id: contract_id.to_string(),
            currency: c.currency.clone(),
            period_start,
            period_end: period_start,
            amount_to_date: c.amount.clone(),
            data_as_of: time(&c.data_as_of)?,
            daily: vec![DailyAmount {
                date: period_start,
                amount: c.amount.clone(),
            }],
        })
    });
    let bills: Vec<Bill> = status
        .invoices
        .iter()
        .filter_map(|i| {
            let issued = NaiveDate::parse_from_str(&format!("{}-01", i.period), "%Y-%m-%d").ok()?;
            Some(Bill {
                id: i.id.clone(),
                period: i.period.clone(),
                issued_at: issued,
                due_at: issued,
                amount: i.amount.amount.clone(),
                currency: i.amount.currency.clone(),
                status: BillStatus::Issued,
            })
        })
        .collect();
    let checked = status
        .last_sync_time
        .as_deref()
        .and_then(time)
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    Some(Dashboard {
        contract: Contract {
            id: contract_id.to_string(),
            name: status.contract_name.clone().unwrap_or_default(),
            offer: Offer::FE,
            customer: status.customer.clone().unwrap_or_default(),
            referent: Referent {
                account_id: String::new(),
                email: referent,
            },
            console_url: status.console_url.clone().unwrap_or_default(),
            invoice_contact: status.invoice_contact.clone().unwrap_or_default(),
            currency: status
                .consumption
                .as_ref()
                .map(|c| c.currency.clone())
                .unwrap_or_default(),
            regions: Vec::new(),
            subscriptions: status.subscriptions.clone(),
            user_count: status.user_count.and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
        },
        platform_status: PlatformStatus {
            contract_id: contract_id.to_string(),
            weather: Weather::Unknown,
            summary: String::new(),
            regions: Vec::new(),
            // Incidents are emails, not portal writes: the plan leaves them out.
            incidents: Vec::new(),
            checked_at: checked,
        },
        consumption,
        latest_bills: (!bills.is_empty()).then_some(bills),
    })
}

/// Whether a PortalUser was ever observed (its status carries a state).
pub fn observed(status: Option<&PortalUserStatus>) -> bool {
    status.is_some_and(|s| s.state.is_some())
}

/// A contract a PortalUser lists, resolved: its name, id, and the referent's email if observed.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedContract {
    /// CloudContract name.
    pub name: String,
    /// Contract id.
    pub contract_id: String,
    /// The referent the contract's status reports.
    pub referent: Option<String>,
}

/// The views of the person on each listed contract, from the live object's last observation:
/// a grant with profiles is enabled access; a grant without profiles is disabled access when the
/// live object disabled the person (with the profiles it declared), else no access; a contract
/// without a grant was never observed for this person (no access assumed: the operator adds it).
pub fn views(live: Option<&PortalUser>, contracts: &[ResolvedContract]) -> Vec<ContractView> {
    let status = live.and_then(|l| l.status.as_ref()).filter(|s| s.state.is_some());
    let account = status.and_then(|s| {
        let state = match s.state? {
            UserState::Pending | UserState::Failed => return None,
            UserState::Invited => AccountState::Invited,
            // Disabled hides whether the person logged in: read as Active (no invitation to send).
            UserState::Active | UserState::Disabled => AccountState::Active,
        };
        Some(Account {
            id: s.account_id.clone().unwrap_or_default(),
            email: live.map(|l| l.spec.email.clone()).unwrap_or_default(),
            login: s.login.clone().unwrap_or_default(),
            first_name: String::new(),
            last_name: String::new(),
            phone: None,
            locale: Language::En,
            state,
            invitation_sent_at: s.invitation_sent_at.as_deref().and_then(time),
        })
    });
    contracts
        .iter()
        .map(|c| {
            let grant = status.and_then(|s| {
                s.grants
                    .iter()
                    .find(|g| g.contract_id.as_deref() == Some(c.contract_id.as_str()))
            });
            let user = match (grant, &account, live) {
                (Some(g), Some(account), Some(live)) => {
                    let referent = c
                        .referent
                        .as_deref()
                        .is_some_and(|r| crate::controllers::key_index::same_email(r, &live.spec.email));
                    match &g.profiles {
                        Some(p) => Some(ContractUser {
                            account: account.clone(),
                            profiles: to_portal(p),
                            enabled: true,
                            referent,
                        }),
                        None if !live.spec.enabled
                            && status.and_then(|s| s.state) == Some(UserState::Disabled) =>
                        {
                            let declared = live
                                .spec
                                .access
                                .iter()
                                .find(|a| a.contract == c.name)
                                .map(|a| to_portal(&a.profiles))
                                .unwrap_or_default();
                            Some(ContractUser {
                                account: account.clone(),
                                profiles: declared,
                                enabled: false,
                                referent,
                            })
                        }
                        None => None,
                    }
                }
                _ => None,
            };
            ContractView {
                contract: c.name.clone(),
                contract_id: c.contract_id.clone(),
                user,
            }
        })
        .collect()
}
