//! The live one-line summary: readiness per kind, emails written, the simulator's date.

use ccs_api::{BudgetAlert, CloudContract, PortalUser, ServiceOrder};
use kube::api::{Api, ListParams};
use kube::core::object::HasStatus;
use serde::Serialize;
use std::path::Path;

/// Ready and total objects of one kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Count {
    /// Objects with `Ready=True`.
    pub ready: usize,
    /// All objects.
    pub total: usize,
}

/// One snapshot of the demo.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// CloudContracts.
    pub contracts: Count,
    /// PortalUsers.
    pub users: Count,
    /// BudgetAlerts.
    pub budgets: Count,
    /// ServiceOrders.
    pub orders: Count,
    /// Emails written or sent.
    pub emails: usize,
}

impl Progress {
    /// Whether every object is Ready.
    pub fn all_ready(&self) -> bool {
        [self.contracts, self.users, self.budgets, self.orders]
            .iter()
            .all(|c| c.ready == c.total)
    }

    /// The summary line.
    pub fn line(&self, sim_time: &str) -> String {
        let c = |x: Count| format!("{}/{}", x.ready, x.total);
        format!(
            "ready: contracts {} users {} budgets {} orders {} | emails {} | portal time {sim_time}",
            c(self.contracts),
            c(self.users),
            c(self.budgets),
            c(self.orders),
            self.emails
        )
    }
}

async fn count<K>(client: &kube::Client) -> Count
where
    K: kube::Resource<DynamicType = ()> + HasStatus + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    K::Status: Serialize,
{
    let Ok(list) = Api::<K>::all(client.clone()).list(&ListParams::default()).await else {
        return Count::default();
    };
    let ready = list
        .items
        .iter()
        .filter(|o| {
            let status = o
                .status()
                .and_then(|s| serde_json::to_value(s).ok())
                .unwrap_or_default();
            status["conditions"]
                .as_array()
                .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
        })
        .count();
    Count {
        ready,
        total: list.items.len(),
    }
}

/// Reads the cluster and the mail directory.
pub async fn read(client: &kube::Client, mail_dir: Option<&Path>, sent: usize) -> Progress {
    let files = mail_dir
        .and_then(|d| std::fs::read_dir(d).ok())
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .count()
        })
        .unwrap_or(0);
    Progress {
        contracts: count::<CloudContract>(client).await,
        users: count::<PortalUser>(client).await,
        budgets: count::<BudgetAlert>(client).await,
        orders: count::<ServiceOrder>(client).await,
        emails: files.max(sent),
    }
}
