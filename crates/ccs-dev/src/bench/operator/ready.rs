//! Waits until every object of every kind is Ready, through one watch per kind: the API server
//! serves a paginated list and then only the changes, instead of full lists over and over.

use super::objects::Counts;
use ccs_api::{BudgetAlert, CloudContract, PortalUser, ServiceOrder};
use ccs_operator::controllers::common::conditions::is_true;
use futures::TryStreamExt;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// When each kind was all Ready, from `started`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadyTimes {
    pub contracts: Duration,
    pub users: Duration,
    pub budgets: Duration,
    pub orders: Duration,
}

/// Watches the four kinds until `expected` of each are Ready at once; past `deadline` the error
/// says how many of each were.
pub async fn wait_all(
    client: &kube::Client,
    expected: Counts,
    started: Instant,
    deadline: Duration,
) -> anyhow::Result<ReadyTimes> {
    let progress: [Arc<AtomicUsize>; 4] = Default::default();
    let all = futures::future::try_join4(
        watch_kind::<CloudContract>(client, expected.contracts, started, &progress[0], |o| {
            o.status.as_ref().is_some_and(|s| is_true(&s.conditions, "Ready"))
        }),
        watch_kind::<PortalUser>(client, expected.users, started, &progress[1], |o| {
            o.status.as_ref().is_some_and(|s| is_true(&s.conditions, "Ready"))
        }),
        watch_kind::<BudgetAlert>(client, expected.budgets, started, &progress[2], |o| {
            o.status.as_ref().is_some_and(|s| is_true(&s.conditions, "Ready"))
        }),
        watch_kind::<ServiceOrder>(client, expected.orders, started, &progress[3], |o| {
            o.status.as_ref().is_some_and(|s| is_true(&s.conditions, "Ready"))
        }),
    );
    let summary = || {
        let n = |i: usize| progress[i].load(Ordering::Relaxed);
        format!(
            "CloudContracts {}/{}, PortalUsers {}/{}, BudgetAlerts {}/{}, ServiceOrders {}/{}",
            n(0),
            expected.contracts,
            n(1),
            expected.users,
            n(2),
            expected.budgets,
            n(3),
            expected.orders
        )
    };
    // Progress on stderr every 30 s, for long runs.
    let progress_lines = async {
        loop {
            tokio::time::sleep(Duration::from_secs(30)).await;
            eprintln!("{:.0} s: Ready {}", started.elapsed().as_secs_f64(), summary());
        }
    };
    let (contracts, users, budgets, orders) = tokio::select! {
        done = tokio::time::timeout(deadline, all) => match done {
            Ok(times) => times?,
            Err(_) => anyhow::bail!("not every object Ready after {deadline:?}: {}", summary()),
        },
        () = progress_lines => unreachable!("the progress loop never ends"),
    };
    Ok(ReadyTimes {
        contracts,
        users,
        budgets,
        orders,
    })
}

/// Time until `expected` objects of kind `K` are Ready at once (an object that turns not Ready
/// again counts no more); `ready` holds the current count.
async fn watch_kind<K>(
    client: &kube::Client,
    expected: usize,
    started: Instant,
    ready: &AtomicUsize,
    is_ready: fn(&K) -> bool,
) -> anyhow::Result<Duration>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + 'static,
{
    if expected == 0 {
        return Ok(Duration::ZERO);
    }
    let api: Api<K> = Api::namespaced(client.clone(), "default");
    let mut names = HashSet::with_capacity(expected);
    let mut objects = std::pin::pin!(watcher(api, watcher::Config::default()).applied_objects());
    while let Some(obj) = objects.try_next().await? {
        if is_ready(&obj) {
            names.insert(obj.name_any());
        } else {
            names.remove(&obj.name_any());
        }
        ready.store(names.len(), Ordering::Relaxed);
        if names.len() >= expected {
            return Ok(started.elapsed());
        }
    }
    anyhow::bail!("the {} watch ended", K::kind(&()))
}
