//! The plan of a BudgetAlert: the object's changes, and the thresholds that would email at once
//! given the spend its CloudContract last observed ([`crate::controllers::budget_alert::plan::evaluate`]).

use super::compute::{Referenced, World};
use super::current;
use super::diff::object_changes;
use super::report::{Action, Change};
use crate::api::BudgetAlert;
use crate::api::budget_alert::ThresholdBasis;
use crate::controllers::budget_alert::observe::spend_observation;
use crate::controllers::budget_alert::plan::{PlanError, evaluate};
use kube::ResourceExt;
use serde_json::Value;

/// Plans one BudgetAlert manifest; `old` is the live object as JSON.
pub fn plan(world: &World<'_>, desired: &BudgetAlert, old: Option<&Value>) -> Vec<Change> {
    let namespace = desired.namespace().unwrap_or_default();
    let live = world.live.budget(&namespace, &desired.name_any());
    let mut changes = Vec::new();
    let (contract_id, status) = match world.contract(&namespace, &desired.spec.contract) {
        Referenced::Known { contract_id, status } => (contract_id, status),
        Referenced::Missing => return vec![world.missing_contract("spec.contract", &desired.spec.contract)],
    };
    match (live, old) {
        (Some(_), Some(old)) => {
            let mine = serde_json::to_value(desired).unwrap_or_default();
            changes.extend(object_changes(old, &mine, ""));
        }
        _ => changes.push(Change::new(
            Action::Create,
            false,
            format!(
                "watch the spend of {} ({contract_id}): {} {} per {:?}",
                desired.spec.contract, desired.spec.amount, desired.spec.currency, desired.spec.period
            ),
        )),
    }
    let fresh = match world.fresh(&namespace, &desired.spec.contract, &contract_id) {
        Some(Ok(f)) => Some(f.dashboard.clone()),
        Some(Err(why)) => {
            changes.push(World::unread(&desired.spec.contract, &contract_id, why));
            None
        }
        None => None,
    };
    let observation = fresh
        .or_else(|| status.and_then(|s| current::dashboard(&contract_id, s)))
        .as_ref()
        .and_then(spend_observation);
    let Some(observation) = observation else {
        changes.push(Change::new(
            Action::Unknown,
            false,
            format!("the spend of {contract_id} was never observed: which thresholds would email is unknown"),
        ));
        return changes;
    };
    let previous = live
        .and_then(|l| l.status.as_ref())
        .map(|s| s.thresholds.clone())
        .unwrap_or_default();
    match evaluate(&desired.spec, &previous, &observation, world.now, world.freshness) {
        Ok(evaluation) => {
            for notice in evaluation.notices {
                let compared = match notice.basis {
                    ThresholdBasis::Actual => format!("actual spend {}", evaluation.actual),
                    ThresholdBasis::Forecasted => format!("forecast {}", evaluation.forecast),
                };
                changes.push(
                    Change::new(
                        Action::Irreversible,
                        true,
                        format!(
                            "threshold {} emails {} at once: {compared} >= {} {}",
                            notice.threshold,
                            notice.recipients.join(", "),
                            notice.value,
                            desired.spec.currency
                        ),
                    )
                    .call("email", &contract_id),
                );
            }
            if !evaluation.data_fresh {
                changes.push(Change::new(
                    Action::Unchanged,
                    false,
                    format!(
                        "the spend data of {contract_id} is stale: no threshold triggers until it is fresh"
                    ),
                ));
            }
        }
        Err(e @ PlanError::OutOfRange(_)) => changes.push(Change::new(Action::Unknown, false, e.to_string())),
        Err(e) => changes.push(Change::new(Action::Refused, false, format!("InvalidSpec: {e}"))),
    }
    changes
}
