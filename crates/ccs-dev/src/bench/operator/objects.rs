//! The objects of `bench operator`: per simulator contract one Secret and one CloudContract, then
//! PortalUsers, BudgetAlerts and ServiceOrders, all created concurrently.

use super::BenchArgs;
use ccs_api::{BudgetAlert, CloudContract, PortalUser, ServiceOrder};
use ccs_operator::portal::Offer;
use ccs_simulator::Simulator;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::Resource;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

/// Objects created, per kind.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub contracts: usize,
    pub users: usize,
    pub budgets: usize,
    pub orders: usize,
}

impl Counts {
    /// Objects the operator reconciles (Secrets not counted).
    pub fn total(&self) -> usize {
        self.contracts + self.users + self.budgets + self.orders
    }
}

/// One simulator contract the bench uses.
struct Contract {
    id: String,
    offer: Offer,
    /// A region (FE) or site (FCA) the contract subscribes, so orders there complete.
    place: String,
}

/// Creates every object, `args.create_concurrency` requests at a time; contracts first, so the
/// rest find them when the operator starts.
pub(crate) async fn create(
    client: &kube::Client,
    sim: &Simulator,
    args: &BenchArgs,
) -> anyhow::Result<Counts> {
    let contracts: Vec<Contract> = sim.with_world(|w| {
        w.contracts
            .values()
            .take(args.contracts)
            .map(|c| Contract {
                id: c.id.clone(),
                offer: c.offer,
                place: c.regions.first().cloned().unwrap_or_default(),
            })
            .collect()
    });
    anyhow::ensure!(
        contracts.len() == args.contracts,
        "the simulator has {} contracts, {} asked",
        contracts.len(),
        args.contracts
    );
    let credentials = sim.seeded_credentials();
    let mut first = Vec::new();
    for (i, c) in contracts.iter().enumerate() {
        let cred = credentials
            .iter()
            .find(|cred| cred.label == "operator" && cred.contracts.contains(&c.id))
            .ok_or_else(|| anyhow::anyhow!("no operator credential for {}", c.id))?;
        first.push(post::<Secret>(
            client,
            json!({"metadata": {"name": format!("creds-{i}"),
                "labels": {ccs_api::common::LABEL_CREDENTIALS: "true"}},
                "stringData": {"clientId": cred.client_id, "clientSecret": cred.client_secret, "apiKey": cred.api_key}}),
        ));
        let offer = match c.offer {
            Offer::FE => "FlexibleEngine",
            Offer::FCA => "FlexibleComputingAdvanced",
        };
        first.push(post::<CloudContract>(
            client,
            json!({"metadata": {"name": contract_name(i)},
                "spec": {"contractId": c.id, "offer": offer, "credentialsSecretRef": {"name": format!("creds-{i}")}}}),
        ));
    }
    run(first, args.create_concurrency).await?;

    let (users, budgets, orders) = (
        args.users_per_contract,
        args.budgets_per_contract,
        args.orders_per_contract,
    );
    let rest = contracts.iter().enumerate().flat_map(|(i, c)| {
        let contract = contract_name(i);
        let users = (0..users).map({
            let contract = contract.clone();
            move |u| user(client, &contract, u)
        });
        let budgets = (0..budgets).map({
            let contract = contract.clone();
            move |b| budget(client, &contract, b)
        });
        let orders = (0..orders).map(move |o| order(client, &contract, c, o));
        users.chain(budgets).chain(orders)
    });
    run(rest, args.create_concurrency).await?;
    Ok(Counts {
        contracts: contracts.len(),
        users: contracts.len() * users,
        budgets: contracts.len() * budgets,
        orders: contracts.len() * orders,
    })
}

fn contract_name(i: usize) -> String {
    format!("contract-{i}")
}

/// Invited without the portal's email, Visitor on the dashboard.
fn user<'a>(client: &'a kube::Client, contract: &str, u: usize) -> BoxFuture<'a, anyhow::Result<()>> {
    post::<PortalUser>(
        client,
        json!({"metadata": {"name": format!("{contract}-user-{u}")}, "spec": {
            "email": format!("{contract}.user.{u}@bench.example"), "firstName": "Bench", "lastName": format!("User{u}"),
            "invitation": {"send": false},
            "access": [{"contract": contract, "profiles": {"dashboard": "Visitor", "requests": "Manager"}}]}}),
    )
}

/// A large budget: no threshold is crossed, so no email is due.
fn budget<'a>(client: &'a kube::Client, contract: &str, b: usize) -> BoxFuture<'a, anyhow::Result<()>> {
    post::<BudgetAlert>(
        client,
        json!({"metadata": {"name": format!("{contract}-budget-{b}")},
            "spec": {"contract": contract, "amount": "100000000", "recipients": ["finops@bench.example"],
                     "thresholds": [{"name": "half", "percent": 50}, {"name": "full", "percent": 100}]}}),
    )
}

/// One public IP in a subscribed region (site): an order the simulator completes.
fn order<'a>(
    client: &'a kube::Client,
    contract: &str,
    c: &Contract,
    o: usize,
) -> BoxFuture<'a, anyhow::Result<()>> {
    let (item, place) = match c.offer {
        Offer::FE => ("FE-EIP", "region"),
        Offer::FCA => ("FCA-PUBLIC-IP", "site"),
    };
    post::<ServiceOrder>(
        client,
        json!({"metadata": {"name": format!("{contract}-order-{o}")},
            "spec": {"contract": contract, "catalogItem": item, "quantity": 1, "parameters": {place: c.place}}}),
    )
}

fn post<'a, K>(client: &'a kube::Client, manifest: Value) -> BoxFuture<'a, anyhow::Result<()>>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'a,
{
    async move {
        let obj: K = serde_json::from_value(manifest)?;
        Api::<K>::namespaced(client.clone(), "default")
            .create(&PostParams::default(), &obj)
            .await?;
        anyhow::Ok(())
    }
    .boxed()
}

async fn run<'a>(
    creations: impl IntoIterator<Item = BoxFuture<'a, anyhow::Result<()>>>,
    concurrency: usize,
) -> anyhow::Result<()> {
    futures::stream::iter(creations)
        .buffer_unordered(concurrency.max(1))
        .try_for_each(|()| async { Ok(()) })
        .await
}
