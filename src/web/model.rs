//! What the pages show, built from the operator's caches only: the reflector stores (live, from
//! the watches) and the shared portal caches (as old as their last read). Nothing here calls the
//! API server or the portal.

use crate::api::budget_alert::{BudgetState, ThresholdBasis, ThresholdState};
use crate::api::cloud_contract::{OpenRequests, Weather};
use crate::api::common::Money;
use crate::api::portal_user::SectionProfiles;
use crate::api::service_order::OrderState;
use crate::api::{BudgetAlert, CloudContract, PortalUser, ServiceOrder};
use crate::controllers::context::Context;
use crate::controllers::reference::ready_condition;
use crate::controllers::shared_read::Cached;
use kube::ResourceExt;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::Arc;

/// Every contract the viewer may see, worst first.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    /// When the page was built (RFC 3339).
    pub generated_at: String,
    /// The contracts.
    pub contracts: Vec<ContractRow>,
}

/// One contract at a glance.
#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ContractRow {
    /// Namespace of the CloudContract.
    pub namespace: String,
    /// Name of the CloudContract.
    pub name: String,
    /// Portal contract id.
    pub contract_id: String,
    /// Name in the portal.
    pub contract_name: Option<String>,
    /// Platform weather.
    pub weather: Weather,
    /// The weather's explanation.
    pub weather_summary: Option<String>,
    /// Open incidents.
    pub open_incidents: i32,
    /// Ready condition (`None`: not reconciled yet).
    pub ready: Option<bool>,
    /// Its reason.
    pub ready_reason: Option<String>,
    /// Its message.
    pub ready_message: Option<String>,
    /// Spend to date.
    pub consumption: Option<Money>,
    /// Open requests by state.
    pub requests: Option<OpenRequests>,
    /// The contract's budgets.
    pub budgets: Vec<BudgetBar>,
    /// When the status was last synced with the portal (RFC 3339).
    pub last_sync_time: Option<String>,
}

/// One budget: spend and forecast against the amount, thresholds marked.
#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct BudgetBar {
    /// BudgetAlert name.
    pub name: String,
    /// Budget per period.
    pub amount: String,
    /// Currency.
    pub currency: String,
    /// Period key, such as `2026-11`.
    pub period: Option<String>,
    /// Spend to date in the period.
    pub actual: Option<String>,
    /// Forecast at the end of the period.
    pub forecast: Option<String>,
    /// Spend over budget, in percent (`status.usedPercent`).
    pub used_percent: Option<f64>,
    /// Forecast over budget, in percent.
    pub forecast_percent: Option<f64>,
    /// OK, Warning or Exceeded.
    pub state: Option<BudgetState>,
    /// The thresholds.
    pub thresholds: Vec<ThresholdMark>,
    /// When the portal computed the spend (RFC 3339).
    pub data_as_of: Option<String>,
}

/// A threshold on a budget bar.
#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ThresholdMark {
    /// Threshold name.
    pub name: String,
    /// Where it sits, in percent of the budget.
    pub percent: f64,
    /// Spend or forecast.
    pub basis: ThresholdBasis,
    /// Its state in the period.
    pub state: Option<ThresholdState>,
}

/// A part of the page read from a portal cache, with its age.
#[derive(Debug)]
pub struct Fresh<T> {
    /// What was read.
    pub value: Arc<T>,
    /// Seconds since the read.
    pub age_secs: u64,
}

fn fresh<T>(cached: Option<Cached<T>>) -> Option<Fresh<T>> {
    cached.map(|c| Fresh {
        value: c.value,
        age_secs: c.fetched_at.elapsed().as_secs(),
    })
}

/// Everything about one contract.
#[derive(Debug)]
pub struct ContractDetail {
    /// The overview row.
    pub row: ContractRow,
    /// Offer.
    pub offer: String,
    /// Customer.
    pub customer: Option<String>,
    /// Referent's email (only with the right to see emails).
    pub referent: Option<String>,
    /// Console URL.
    pub console_url: Option<String>,
    /// Invoice reception contact (only with the right to see emails).
    pub invoice_contact: Option<String>,
    /// Latest invoices.
    pub invoices: Vec<crate::api::cloud_contract::InvoiceSummary>,
    /// Incidents, most severe first.
    pub incidents: Vec<IncidentLine>,
    /// Whether incidents come from the cached dashboard (else from the status), and its age.
    pub incidents_age_secs: Option<u64>,
    /// PortalUsers with access to the contract.
    pub users: Vec<UserLine>,
    /// ServiceOrders on the contract.
    pub orders: Vec<OrderLine>,
    /// Every request of the contract, from the portal cache.
    pub requests: Option<Fresh<Vec<RequestLine>>>,
    /// The catalog, from the portal cache.
    pub catalog: Option<Fresh<Vec<crate::portal::CatalogItem>>>,
}

/// One incident.
#[derive(Debug)]
pub struct IncidentLine {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// 1 (critical) to 4 (low).
    pub severity: i32,
    /// Progress state.
    pub state: String,
    /// Opened (RFC 3339).
    pub opened: String,
    /// Last update (RFC 3339).
    pub updated: String,
}

/// One portal user.
#[derive(Debug)]
pub struct UserLine {
    /// PortalUser name.
    pub name: String,
    /// Email (only with the right to see emails).
    pub email: Option<String>,
    /// Account state.
    pub state: Option<String>,
    /// Observed profiles on this contract, section by section.
    pub profiles: Vec<(&'static str, String)>,
}

/// One ServiceOrder.
#[derive(Debug)]
pub struct OrderLine {
    /// ServiceOrder name.
    pub name: String,
    /// Catalog item.
    pub catalog_item: String,
    /// Quantity.
    pub quantity: i32,
    /// State.
    pub state: Option<OrderState>,
    /// Portal request id.
    pub request_id: Option<String>,
}

/// One portal request.
#[derive(Debug)]
pub struct RequestLine {
    /// Request id.
    pub id: String,
    /// Catalog item.
    pub catalog_item: String,
    /// Quantity.
    pub quantity: u32,
    /// State.
    pub state: String,
    /// Whether it is still open.
    pub open: bool,
    /// Submitted (RFC 3339).
    pub submitted_at: String,
    /// The ServiceOrder that made it; `None`: made in the portal by a person.
    pub order: Option<String>,
}

fn number(text: Option<&str>) -> Option<f64> {
    text.and_then(|t| f64::from_str(t).ok())
}

/// The viewer-independent row of a contract.
pub fn row(contract: &CloudContract, budgets: &[Arc<BudgetAlert>]) -> ContractRow {
    let status = contract.status.clone().unwrap_or_default();
    let ready = ready_condition(contract);
    let name = contract.name_any();
    ContractRow {
        namespace: contract.namespace().unwrap_or_default(),
        contract_id: contract.spec.contract_id.clone(),
        contract_name: status.contract_name,
        weather: status.weather.unwrap_or(Weather::Unknown),
        weather_summary: status.weather_summary,
        open_incidents: status.incidents.as_ref().map_or(0, |i| i.open),
        ready: ready.map(|c| c.status == "True"),
        ready_reason: ready.map(|c| c.reason.clone()),
        ready_message: ready.map(|c| c.message.clone()),
        consumption: status.consumption.map(|c| Money {
            amount: c.amount,
            currency: c.currency,
        }),
        requests: status.requests,
        budgets: budgets
            .iter()
            .filter(|b| b.spec.contract == name)
            .map(|b| budget_bar(b))
            .collect(),
        last_sync_time: status.last_sync_time,
        name,
    }
}

fn budget_bar(budget: &BudgetAlert) -> BudgetBar {
    let status = budget.status.clone().unwrap_or_default();
    let amount = number(Some(&budget.spec.amount)).filter(|a| *a > 0.0);
    let percent_of = |v: Option<f64>| Some(v? * 100.0 / amount?);
    let thresholds = budget
        .spec
        .thresholds
        .iter()
        .filter_map(|t| {
            let percent = match (t.percent, &t.amount) {
                (Some(p), _) => f64::from(p),
                (None, Some(a)) => percent_of(number(Some(a)))?,
                (None, None) => return None,
            };
            Some(ThresholdMark {
                name: t.name.clone(),
                percent,
                basis: t.basis,
                state: status
                    .thresholds
                    .iter()
                    .find(|s| s.name == t.name)
                    .map(|s| s.state),
            })
        })
        .collect();
    BudgetBar {
        name: budget.name_any(),
        amount: budget.spec.amount.clone(),
        currency: budget.spec.currency.clone(),
        period: status.period.map(|p| p.key),
        used_percent: number(status.used_percent.as_deref())
            .or_else(|| percent_of(number(status.actual.as_deref()))),
        forecast_percent: percent_of(number(status.forecast.as_deref())),
        actual: status.actual,
        forecast: status.forecast,
        state: status.state,
        thresholds,
        data_as_of: status.data_as_of,
    }
}

/// How bad a contract looks: not Ready, then weather, incidents, budget use.
fn badness(row: &ContractRow) -> (bool, u8, i32, i64) {
    let weather = match row.weather {
        Weather::Stormy => 4,
        Weather::Rainy => 3,
        Weather::Cloudy => 2,
        Weather::Unknown => 1,
        Weather::Sunny => 0,
    };
    let used = row
        .budgets
        .iter()
        .flat_map(|b| [b.used_percent, b.forecast_percent])
        .flatten()
        .fold(0.0_f64, f64::max);
    (row.ready != Some(true), weather, row.open_incidents, used as i64)
}

/// Sorts the worst contracts first (see [`badness`]), then by namespace and name.
fn worst_first(rows: &mut [ContractRow]) {
    rows.sort_by(|a, b| {
        badness(b)
            .cmp(&badness(a))
            .then_with(|| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)))
    });
}

/// The overview of the contracts in `visible` namespaces, worst first.
pub fn overview(ctx: &Context, visible: impl Fn(&str) -> bool) -> Overview {
    let budgets = ctx.stores.budgets.all();
    let mut contracts: Vec<ContractRow> = ctx
        .stores
        .contracts
        .all()
        .iter()
        .filter(|c| visible(&c.namespace().unwrap_or_default()))
        .map(|c| {
            let ns = c.namespace();
            let mine: Vec<_> = budgets.iter().filter(|b| b.namespace() == ns).cloned().collect();
            row(c, &mine)
        })
        .collect();
    worst_first(&mut contracts);
    Overview {
        generated_at: crate::controllers::common::timestamp(chrono::Utc::now()),
        contracts,
    }
}

/// The namespaces holding CloudContracts.
pub fn namespaces(ctx: &Context) -> Vec<String> {
    let mut all: Vec<String> = ctx
        .stores
        .contracts
        .all()
        .iter()
        .filter_map(|c| c.namespace())
        .collect();
    all.sort();
    all.dedup();
    all
}

fn profiles(p: &SectionProfiles) -> Vec<(&'static str, String)> {
    [
        ("dashboard", p.dashboard),
        ("contracts", p.contracts),
        ("users", p.users),
        ("requests", p.requests),
        ("catalog", p.catalog),
        ("invoices", p.invoices),
        ("documents", p.documents),
        ("support", p.support),
        ("console", p.console),
    ]
    .into_iter()
    .filter_map(|(section, p)| p.map(|p| (section, format!("{p:?}"))))
    .collect()
}

fn user_line(user: &PortalUser, contract: &str, emails: bool) -> UserLine {
    let status = user.status.as_ref();
    let observed = status.and_then(|s| s.grants.iter().find(|g| g.contract == contract));
    UserLine {
        name: user.name_any(),
        email: emails.then(|| user.spec.email.clone()),
        state: status.and_then(|s| s.state).map(|s| format!("{s:?}")),
        profiles: observed
            .and_then(|g| g.profiles.as_ref())
            .map(profiles)
            .unwrap_or_default(),
    }
}

fn order_line(order: &ServiceOrder) -> OrderLine {
    let status = order.status.as_ref();
    OrderLine {
        name: order.name_any(),
        catalog_item: order.spec.catalog_item.clone(),
        quantity: order.spec.quantity,
        state: status.and_then(|s| s.state),
        request_id: status.and_then(|s| s.request_id.clone()),
    }
}

/// Everything about the contract `namespace/name`, if it exists; email addresses only when
/// `emails`.
pub fn detail(ctx: &Context, namespace: &str, name: &str, emails: bool) -> Option<ContractDetail> {
    let contract = ctx
        .stores
        .contracts
        .all()
        .into_iter()
        .find(|c| c.namespace().as_deref() == Some(namespace) && c.name_any() == name)?;
    let in_ns = |ns: Option<String>| ns.as_deref() == Some(namespace);
    let budgets: Vec<_> = ctx
        .stores
        .budgets
        .all()
        .into_iter()
        .filter(|b| in_ns(b.namespace()))
        .collect();
    let row = row(&contract, &budgets);
    let status = contract.status.clone().unwrap_or_default();
    let cached = ctx.portal.cached(&contract);
    let mut users: Vec<UserLine> = ctx
        .stores
        .users
        .all()
        .iter()
        .filter(|u| in_ns(u.namespace()) && u.spec.access.iter().any(|a| a.contract == name))
        .map(|u| user_line(u, name, emails))
        .collect();
    users.sort_by(|a, b| a.name.cmp(&b.name));
    let mut orders: Vec<OrderLine> = ctx
        .stores
        .orders
        .all()
        .iter()
        .filter(|o| in_ns(o.namespace()) && o.spec.contract == name)
        .map(|o| order_line(o))
        .collect();
    orders.sort_by(|a, b| a.name.cmp(&b.name));
    let by_request: HashMap<&str, &str> = orders
        .iter()
        .filter_map(|o| Some((o.request_id.as_deref()?, o.name.as_str())))
        .collect();
    let requests = fresh(cached.requests).map(|f| {
        let mut lines: Vec<RequestLine> = f
            .value
            .iter()
            .map(|r| RequestLine {
                id: r.id.clone(),
                catalog_item: r.catalog_item.clone(),
                quantity: r.quantity,
                state: format!("{:?}", r.state),
                open: !r.state.is_final(),
                submitted_at: crate::controllers::common::timestamp(r.submitted_at),
                order: by_request.get(r.id.as_str()).map(|s| s.to_string()),
            })
            .collect();
        lines.sort_by(|a, b| (!a.open, &b.submitted_at).cmp(&(!b.open, &a.submitted_at)));
        Fresh {
            value: Arc::new(lines),
            age_secs: f.age_secs,
        }
    });
    let dashboard = fresh(cached.dashboard);
    let (mut incidents, incidents_age_secs) = match &dashboard {
        Some(d) => (
            d.value
                .platform_status
                .incidents
                .iter()
                .filter(|i| i.state != crate::portal::IncidentState::Resolved)
                .map(|i| IncidentLine {
                    id: i.id.clone(),
                    title: i.title.clone(),
                    severity: i32::from(i.severity),
                    state: format!("{:?}", i.state),
                    opened: crate::controllers::common::timestamp(i.opened_at),
                    updated: crate::controllers::common::timestamp(i.updated_at),
                })
                .collect(),
            Some(d.age_secs),
        ),
        None => (
            status
                .incidents
                .iter()
                .flat_map(|i| &i.most_severe)
                .map(|i| IncidentLine {
                    id: i.id.clone(),
                    title: i.title.clone(),
                    severity: i.severity,
                    state: i.state.clone(),
                    opened: i.opened.clone(),
                    updated: i.updated.clone(),
                })
                .collect::<Vec<_>>(),
            None,
        ),
    };
    incidents.sort_by(|a, b| (a.severity, &b.updated).cmp(&(b.severity, &a.updated)));
    Some(ContractDetail {
        offer: format!("{:?}", contract.spec.offer),
        customer: status.customer,
        referent: status.referent.filter(|_| emails),
        console_url: status.console_url,
        invoice_contact: status.invoice_contact.filter(|_| emails),
        invoices: status.invoices,
        incidents,
        incidents_age_secs,
        users,
        orders,
        requests,
        catalog: fresh(cached.catalog),
        row,
    })
}

/// A ready-to-apply ServiceOrder for a catalog item: required parameters filled with their
/// first allowed value (or a placeholder to replace), optional ones as comments.
pub fn order_manifest(namespace: &str, contract: &str, item: &crate::portal::CatalogItem) -> String {
    let mut name: String = item
        .code
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    name.truncate(50);
    let mut out = format!(
        "apiVersion: customerspace.io/v1alpha1\nkind: ServiceOrder\nmetadata:\n  name: {}\n  namespace: {namespace}\nspec:\n  contract: {contract}\n  catalogItem: {}\n  quantity: 1\n",
        name.trim_matches('-'),
        item.code
    );
    let params: BTreeMap<_, _> = item.parameters.iter().map(|p| (&p.key, p)).collect();
    if !params.is_empty() {
        out.push_str("  parameters:\n");
    }
    for (key, p) in params {
        let value = p
            .allowed_values
            .first()
            .cloned()
            .unwrap_or_else(|| "CHANGE-ME".into());
        let comment = if p.allowed_values.is_empty() {
            String::new()
        } else {
            format!("  # one of: {}", p.allowed_values.join(", "))
        };
        let prefix = if p.required { "" } else { "# " };
        let value = serde_json::to_string(&value).unwrap_or_default();
        out.push_str(&format!("    {prefix}{key}: {value}{comment}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(
        name: &str,
        ready: Option<bool>,
        weather: Weather,
        incidents: i32,
        used: Option<f64>,
    ) -> ContractRow {
        ContractRow {
            namespace: "ns".into(),
            name: name.into(),
            contract_id: "C".into(),
            contract_name: None,
            weather,
            weather_summary: None,
            open_incidents: incidents,
            ready,
            ready_reason: None,
            ready_message: None,
            consumption: None,
            requests: None,
            budgets: vec![BudgetBar {
                name: "b".into(),
                amount: "100".into(),
                currency: "EUR".into(),
                period: None,
                actual: None,
                forecast: None,
                used_percent: used,
                forecast_percent: None,
                state: None,
                thresholds: vec![],
                data_as_of: None,
            }],
            last_sync_time: None,
        }
    }

    #[test]
    fn worst_first_not_ready_then_weather_then_incidents_then_budget_use() {
        let mut rows = [
            row("fine", Some(true), Weather::Sunny, 0, Some(10.0)),
            row("spent", Some(true), Weather::Sunny, 0, Some(95.0)),
            row("stormy", Some(true), Weather::Stormy, 0, None),
            row("broken", Some(false), Weather::Sunny, 0, None),
            row("incidents", Some(true), Weather::Sunny, 3, None),
            row("cloudy", Some(true), Weather::Cloudy, 5, None),
        ];
        worst_first(&mut rows);
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["broken", "stormy", "cloudy", "incidents", "spent", "fine"]
        );
    }

    #[test]
    fn thresholds_by_amount_sit_at_their_percentage_of_the_budget() {
        let budget: BudgetAlert = serde_json::from_value(json!({
            "apiVersion": "customerspace.io/v1alpha1", "kind": "BudgetAlert", "metadata": {"name": "b"},
            "spec": {"contract": "c", "amount": "2000", "recipients": ["a@b.example"],
                "thresholds": [{"name": "half", "percent": 50}, {"name": "abs", "amount": "1500", "basis": "Forecasted"}]},
            "status": {"actual": "500", "forecast": "2500", "thresholds": [
                {"name": "abs", "state": "Notified", "periodKey": "2026-11"}]}
        }))
        .expect("budget");
        let bar = budget_bar(&budget);
        assert_eq!(bar.used_percent, Some(25.0));
        assert_eq!(bar.forecast_percent, Some(125.0));
        let marks: Vec<(String, f64, Option<ThresholdState>)> = bar
            .thresholds
            .iter()
            .map(|m| (m.name.clone(), m.percent, m.state))
            .collect();
        assert_eq!(
            marks,
            [
                ("half".to_string(), 50.0, None),
                ("abs".to_string(), 75.0, Some(ThresholdState::Notified))
            ]
        );
    }

    #[test]
    fn an_order_manifest_fills_required_parameters_and_quotes_values() {
        let item: crate::portal::CatalogItem = serde_json::from_value(json!({
            "code": "FE-ECS", "name": "Server", "offer": "FE", "maxQuantity": 5, "parameters": [
                {"key": "region", "description": "Region", "required": true, "allowedValues": ["eu-west-0", "eu-west-1"]},
                {"key": "name", "description": "Name", "required": true},
                {"key": "note", "description": "Note", "required": false, "allowedValues": ["a: b"]}]
        }))
        .expect("item");
        let manifest = order_manifest("team", "acme", &item);
        assert!(
            manifest.contains("name: fe-ecs\n  namespace: team\n"),
            "{manifest}"
        );
        assert!(manifest.contains("contract: acme\n  catalogItem: FE-ECS\n"));
        assert!(manifest.contains("    region: \"eu-west-0\"  # one of: eu-west-0, eu-west-1\n"));
        assert!(manifest.contains("    name: \"CHANGE-ME\"\n"));
        assert!(
            manifest.contains("    # note: \"a: b\""),
            "optional ones commented: {manifest}"
        );
    }
}
