//! The plan of a ServiceOrder: a new one submits a billed order; the spec is immutable (admission
//! refuses a change); an existing one reports its state.

use super::compute::{Referenced, World};
use super::report::{Action, Change};
use crate::api::ServiceOrder;
use crate::controllers::common::conditions;
use crate::controllers::service_order::plan::validate;
use kube::ResourceExt;

/// Plans one ServiceOrder manifest.
pub fn plan(world: &World<'_>, desired: &ServiceOrder) -> Vec<Change> {
    let namespace = desired.namespace().unwrap_or_default();
    let spec = &desired.spec;
    let contract_id = match world.contract(&namespace, &spec.contract) {
        Referenced::Known { contract_id, .. } => contract_id,
        Referenced::Missing => return vec![world.missing_contract("spec.contract", &spec.contract)],
    };
    let live = world.live.order(&namespace, &desired.name_any());
    let unsubmitted = live
        .and_then(|l| l.status.as_ref())
        .is_none_or(|s| s.request_id.is_none());
    // With --refresh, an order still to submit is checked against the catalog the portal lists now.
    if unsubmitted {
        match world.fresh(&namespace, &spec.contract, &contract_id) {
            Some(Ok(f)) => {
                if let Err(e) = validate(spec, &f.catalog) {
                    return vec![Change::new(Action::Refused, false, e.to_string())];
                }
            }
            Some(Err(why)) => {
                let mut changes = vec![World::unread(&spec.contract, &contract_id, why)];
                changes.extend(plan_against_status(desired, &contract_id, live));
                return changes;
            }
            None => {}
        }
    }
    plan_against_status(desired, &contract_id, live)
}

fn plan_against_status(
    desired: &ServiceOrder,
    contract_id: &str,
    live: Option<&ServiceOrder>,
) -> Vec<Change> {
    let spec = &desired.spec;
    match live {
        None => {
            let parameters: Vec<String> = spec.parameters.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let parameters = if parameters.is_empty() {
                String::new()
            } else {
                format!(" ({})", parameters.join(", "))
            };
            vec![
                Change::new(
                    Action::Irreversible,
                    true,
                    format!(
                        "submit a billed order on {} ({contract_id}): {} x{}{parameters}; checked against the contract's catalog at submission",
                        spec.contract, spec.catalog_item, spec.quantity
                    ),
                )
                .call("submitOrder", contract_id),
            ]
        }
        Some(live) => {
            let status = live.status.as_ref();
            let ready = status.and_then(|s| conditions::find(&s.conditions, "Ready"));
            match status.and_then(|s| s.state.map(|st| (st, s))) {
                None => vec![Change::new(
                    Action::Unknown,
                    false,
                    "never observed: whether the order was submitted is unknown (the operator submits it at most once)",
                )],
                Some((_, s)) if s.request_id.is_none() => match ready {
                    Some(c) if matches!(c.reason.as_str(), "UnknownCatalogItem" | "InvalidParameters") => {
                        vec![Change::new(Action::Refused, false, format!("{}: {}", c.reason, c.message))]
                    }
                    _ => vec![
                        Change::new(
                            Action::Irreversible,
                            true,
                            format!(
                                "not submitted yet: the operator submits a billed order on {} ({contract_id}): {} x{}",
                                spec.contract, spec.catalog_item, spec.quantity
                            ),
                        )
                        .call("submitOrder", contract_id),
                    ],
                },
                Some((state, s)) => vec![Change::new(
                    Action::Unchanged,
                    false,
                    format!(
                        "order {state:?}{}; an order is submitted once",
                        s.request_id
                            .as_deref()
                            .map(|r| format!(" (request {r})"))
                            .unwrap_or_default()
                    ),
                )],
            }
        }
    }
}
