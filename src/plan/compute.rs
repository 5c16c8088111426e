//! From manifests and live objects to the plan: admission first (schema and CEL, with the live
//! object for transition rules), then each kind's plan with the controllers' pure functions.

use super::input::Manifest;
use super::live::Live;
use super::refresh::Fresh;
use super::report::{Action, Change, ObjectPlan};
use super::{budget, contract, order, user};
use crate::api::cloud_contract::CloudContractStatus;
use crate::api::{BudgetAlert, CloudContract, PortalUser, ServiceOrder};
use chrono::{DateTime, Utc};
use kube::ResourceExt;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

/// A manifest after admission: defaulted, typed.
pub enum Admitted {
    /// A CloudContract.
    Contract(Box<CloudContract>),
    /// A PortalUser.
    User(Box<PortalUser>),
    /// A BudgetAlert.
    Budget(Box<BudgetAlert>),
    /// A ServiceOrder.
    Order(Box<ServiceOrder>),
}

/// Everything a kind's plan may look at.
pub struct World<'a> {
    /// The live objects (empty offline).
    pub live: &'a Live,
    /// No cluster: the plan is against empty status and unknown contracts are not refused.
    pub offline: bool,
    /// The time the plan is made.
    pub now: DateTime<Utc>,
    /// Age beyond which spend data triggers no threshold (the operator's: twice its poll).
    pub freshness: Duration,
    /// The admitted CloudContract manifests by (namespace, name).
    pub contracts: HashMap<(String, String), CloudContract>,
    /// The admitted PortalUser manifests.
    pub users: Vec<PortalUser>,
}

/// A contract a dependent names, as it will be once the manifests are applied.
pub enum Referenced<'a> {
    /// Known: its id and the status last observed (if the live object has the same id).
    Known {
        /// Contract id.
        contract_id: String,
        /// Status, when observed.
        status: Option<&'a CloudContractStatus>,
    },
    /// Neither in the manifests nor in the cluster.
    Missing,
}

impl<'a> World<'a> {
    /// Resolves CloudContract `name` in `namespace`: the manifest first, then the cluster.
    pub fn contract(&self, namespace: &str, name: &str) -> Referenced<'a> {
        let live = self.live.contract(namespace, name);
        let observed = |id: &str| {
            live.filter(|l| l.spec.contract_id == id)
                .and_then(|l| l.status.as_ref())
        };
        if let Some(desired) = self.contracts.get(&(namespace.to_string(), name.to_string())) {
            let id = desired.spec.contract_id.clone();
            return Referenced::Known {
                status: observed(&id),
                contract_id: id,
            };
        }
        match live {
            Some(l) => Referenced::Known {
                contract_id: l.spec.contract_id.clone(),
                status: l.status.as_ref(),
            },
            None => Referenced::Missing,
        }
    }

    /// With `--refresh`: the portal's answer for CloudContract `name` in `namespace`, when it was
    /// read for `contract_id` (the id the plan resolved), or why it could not be read.
    pub fn fresh(
        &self,
        namespace: &str,
        name: &str,
        contract_id: &str,
    ) -> Option<Result<&'a Fresh, &'a str>> {
        let live: &'a Live = self.live;
        match live
            .portal
            .as_ref()?
            .get(&(namespace.to_string(), name.to_string()))?
        {
            Ok(f) if f.contract_id == contract_id => Some(Ok(f)),
            Ok(_) => None,
            Err(e) => Some(Err(e.as_str())),
        }
    }

    /// The `[?]` line of a contract the portal could not be read for with `--refresh`.
    pub fn unread(name: &str, contract_id: &str, why: &str) -> Change {
        Change::new(
            Action::Unknown,
            false,
            format!(
                "--refresh: the portal could not be read for {name} ({contract_id}): {why}; planned against the last observed status"
            ),
        )
    }

    /// The change that says a contract cannot be resolved: refused in the cluster, unknown offline.
    pub fn missing_contract(&self, field: &str, name: &str) -> Change {
        if self.offline {
            Change::new(
                Action::Unknown,
                false,
                format!(
                    "{field}: CloudContract {name} is not in the manifests (offline: the cluster is not read)"
                ),
            )
        } else {
            Change::new(
                Action::Refused,
                false,
                format!(
                    "{field}: CloudContract {name} does not exist in this namespace nor in the manifests"
                ),
            )
        }
    }
}

fn namespaced(manifest: &Manifest, default_namespace: &str) -> (Value, String) {
    let mut object = manifest.object.clone();
    // `kubectl apply` ignores status (a subresource); a manifest exported with it plans the same.
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
    }
    let namespace = object["metadata"]["namespace"]
        .as_str()
        .filter(|n| !n.is_empty())
        .unwrap_or(default_namespace)
        .to_string();
    object["metadata"]["namespace"] = Value::String(namespace.clone());
    (object, namespace)
}

fn refused_by_admission(errors: Vec<ccs_admission::FieldError>) -> Vec<Change> {
    errors
        .into_iter()
        .map(|e| {
            let immutable = e.detail.contains("immutable");
            let mut c = Change::new(
                Action::Refused,
                false,
                if immutable {
                    format!("{e} (immutable field changed: delete the object and create it again)")
                } else {
                    format!("{e} (rejected by the API server)")
                },
            );
            c.field = Some(e.field.clone());
            c
        })
        .collect()
}

fn typed(object: Value) -> Result<Admitted, String> {
    let kind = object["kind"].as_str().unwrap_or_default().to_string();
    let err = |e: serde_json::Error| format!("{kind}: {e}");
    Ok(match kind.as_str() {
        "CloudContract" => Admitted::Contract(Box::new(serde_json::from_value(object).map_err(err)?)),
        "PortalUser" => Admitted::User(Box::new(serde_json::from_value(object).map_err(err)?)),
        "BudgetAlert" => Admitted::Budget(Box::new(serde_json::from_value(object).map_err(err)?)),
        _ => Admitted::Order(Box::new(serde_json::from_value(object).map_err(err)?)),
    })
}

/// A manifest on its way: the head of its plan, the live object, and admission's verdict.
type Pending = (ObjectPlan, Option<Value>, Result<Admitted, Vec<Change>>);

/// Plans every manifest, in order.
pub fn plan_all(
    manifests: &[Manifest],
    live: &Live,
    offline: bool,
    default_namespace: &str,
    now: DateTime<Utc>,
    freshness: Duration,
) -> Vec<ObjectPlan> {
    // One validator per kind, built once: building one compiles the schema's patterns and CEL rules.
    let validators: HashMap<String, ccs_admission::SchemaValidator> = crate::api::all_crds()
        .iter()
        .filter_map(|crd| {
            Some((
                crd.spec.names.kind.clone(),
                ccs_admission::SchemaValidator::for_crd(crd)?,
            ))
        })
        .collect();
    let mut admitted: Vec<Pending> = Vec::new();
    let mut seen: HashMap<(String, String, String), String> = HashMap::new();
    for manifest in manifests {
        let (object, namespace) = namespaced(manifest, default_namespace);
        let head = ObjectPlan {
            kind: manifest.kind().to_string(),
            namespace: namespace.clone(),
            name: manifest.name().to_string(),
            source: manifest.source.clone(),
            action: Action::Unchanged,
            marker: Action::Unchanged.marker(),
            changes: Vec::new(),
        };
        let key = (head.kind.clone(), namespace.clone(), head.name.clone());
        if let Some(first) = seen.insert(key, manifest.source.clone()) {
            let c = Change::new(
                Action::Refused,
                false,
                format!(
                    "{} {}/{} is also declared in {first}; each object once",
                    head.kind, namespace, head.name
                ),
            );
            admitted.push((head, None, Err(vec![c])));
            continue;
        }
        let old = live.value(&head.kind, &namespace, &head.name);
        let result = match validators.get(&head.kind).map(|v| v.admit(&object, old.as_ref())) {
            Some(Ok(value)) => typed(value).map_err(|e| vec![Change::new(Action::Refused, false, e)]),
            Some(Err(errors)) => Err(refused_by_admission(errors)),
            None => Err(vec![Change::new(
                Action::Refused,
                false,
                "not a customerspace.io kind",
            )]),
        };
        admitted.push((head, old, result));
    }
    let mut world = World {
        live,
        offline,
        now,
        freshness,
        contracts: HashMap::new(),
        users: Vec::new(),
    };
    for (_, _, a) in &admitted {
        match a {
            Ok(Admitted::Contract(c)) => {
                world.contracts.insert(
                    (c.namespace().unwrap_or_default(), c.name_any()),
                    c.as_ref().clone(),
                );
            }
            Ok(Admitted::User(u)) => world.users.push(u.as_ref().clone()),
            _ => {}
        }
    }
    let claims = user::Claims::new(&world);
    admitted
        .into_iter()
        .map(|(mut head, old, result)| {
            head.changes = match result {
                Err(changes) => changes,
                Ok(Admitted::Contract(c)) => contract::plan(&world, &c, old.as_ref()),
                Ok(Admitted::User(u)) => user::plan(&world, &claims, &u, old.as_ref()),
                Ok(Admitted::Budget(b)) => budget::plan(&world, &b, old.as_ref()),
                Ok(Admitted::Order(o)) => order::plan(&world, &o),
            };
            head.finish()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::input::parse;

    fn plans(text: &str, offline: bool) -> Vec<ObjectPlan> {
        let mut manifests = Vec::new();
        parse(text, "t.yaml", &mut manifests).expect("parsed");
        plan_all(
            &manifests,
            &Live::default(),
            offline,
            "default",
            Utc::now(),
            Duration::from_secs(600),
        )
    }

    const USER: &str = "apiVersion: customerspace.io/v1alpha1\nkind: PortalUser\nmetadata: {name: jane}\nspec: {email: jane@acme.example, access: [{contract: acme, profiles: {invoices: Manager}}]}\n";

    #[test]
    fn an_unknown_contract_is_refused_in_the_cluster_and_unknown_offline() {
        assert_eq!(plans(USER, false)[0].action, Action::Refused);
        let offline = &plans(USER, true)[0];
        assert_eq!(offline.action, Action::Unknown);
        assert!(offline.changes[0].message.contains("spec.access[0].contract"));
    }

    #[test]
    fn a_contract_the_portal_could_not_be_read_for_is_a_reasoned_unknown_line() {
        let contract = "apiVersion: customerspace.io/v1alpha1\nkind: CloudContract\nmetadata: {name: acme}\nspec: {contractId: OCB1234, offer: FlexibleEngine, credentialsSecretRef: {name: c}}\n";
        let mut manifests = Vec::new();
        parse(&format!("{contract}---\n{USER}"), "t.yaml", &mut manifests).expect("parsed");
        let mut live = Live::default();
        live.portal = Some(
            [(
                ("default".to_string(), "acme".to_string()),
                Err("SecretNotMarked: Secret default/c is not marked".to_string()),
            )]
            .into(),
        );
        let p = plan_all(
            &manifests,
            &live,
            false,
            "default",
            Utc::now(),
            Duration::from_secs(600),
        );
        for o in &p {
            assert!(
                o.changes.iter().any(|c| c.action == Action::Unknown
                    && c.message
                        .contains("could not be read for acme (OCB1234): SecretNotMarked")),
                "{:?}",
                o.changes
            );
        }
        // Planned against the last observed status all the same: the user is still added.
        assert!(p[1].changes.iter().any(|c| c.operation == Some("addUser")));
    }

    #[test]
    fn an_object_declared_twice_is_refused_the_second_time() {
        let p = plans(&format!("{USER}---\n{USER}"), true);
        assert_eq!(p[1].action, Action::Refused);
        assert!(p[1].changes[0].message.contains("also declared in t.yaml#1"));
    }

    #[test]
    fn a_new_user_on_a_new_contract_is_added_with_its_invitation() {
        let contract = "apiVersion: customerspace.io/v1alpha1\nkind: CloudContract\nmetadata: {name: acme}\nspec: {contractId: OCB1234, offer: FlexibleEngine, credentialsSecretRef: {name: c}}\n";
        let p = plans(&format!("{contract}---\n{USER}"), true);
        assert_eq!(p[0].action, Action::Create);
        let add = &p[1].changes[0];
        assert_eq!(
            (add.action, add.portal, add.operation),
            (Action::Create, true, Some("addUser"))
        );
        assert!(
            add.message
                .contains("invoices=Manager; sends the invitation email"),
            "{}",
            add.message
        );
    }
}
