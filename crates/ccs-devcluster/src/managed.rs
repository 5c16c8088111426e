//! `metadata.managedFields` bookkeeping and the server-side apply merge.
//!
//! Ownership follows server-side apply: a write takes the fields it changes away from other
//! managers; an apply that would change a field another manager owns is a 409 conflict unless
//! `force=true`; a manager's applied fields that it drops from its next apply are removed unless
//! another manager also owns them. Simplification (documented in the README): lists are owned
//! atomically (no per-key ownership of `x-kubernetes-list-type: map` items).

use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// Operation recorded in a managedFields entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Server-side apply.
    Apply,
    /// Create, update or non-apply patch.
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Self::Apply => "Apply",
            Self::Update => "Update",
        }
    }
}

/// FieldsV1 of a JSON value: `{"f:spec":{".":{},"f:replicas":{}}}`; lists are leaves.
pub fn field_set(v: &Value) -> Value {
    let Some(map) = v.as_object() else {
        return json!({});
    };
    let mut out = Map::new();
    for (k, child) in map {
        let mut sub = field_set(child);
        if child.as_object().is_some_and(|m| !m.is_empty())
            && let Some(m) = sub.as_object_mut()
        {
            m.insert(".".into(), json!({}));
        }
        out.insert(format!("f:{k}"), sub);
    }
    Value::Object(out)
}

/// FieldsV1 of what changed from `old` to `new` (added or modified fields).
fn changed_set(old: &Value, new: &Value) -> Value {
    let Some(map) = new.as_object() else {
        return json!({});
    };
    let mut out = Map::new();
    for (k, child) in map {
        let before = &old[k.as_str()];
        if before == child {
            continue;
        }
        let sub = if child.is_object() && before.is_object() {
            let sub = changed_set(before, child);
            // Only removals below: nothing is newly owned here.
            if sub.as_object().is_some_and(|m| m.is_empty()) {
                continue;
            }
            sub
        } else {
            field_set(child)
        };
        out.insert(format!("f:{k}"), sub);
    }
    Value::Object(out)
}

/// Leaf paths of a FieldsV1 set, as lists of field names.
pub fn leaf_paths(set: &Value, prefix: &mut Vec<String>, out: &mut BTreeSet<Vec<String>>) {
    let Some(map) = set.as_object() else { return };
    let children: Vec<_> = map.iter().filter(|(k, _)| k.starts_with("f:")).collect();
    if children.is_empty() && !prefix.is_empty() {
        out.insert(prefix.clone());
    }
    for (k, child) in children {
        prefix.push(k[2..].to_string());
        leaf_paths(child, prefix, out);
        prefix.pop();
    }
}

/// Content of the object that apply ownership tracks (identity fields excluded).
fn owned_content(config: &Value) -> Value {
    let mut c = config.clone();
    if let Some(m) = c.as_object_mut() {
        m.remove("apiVersion");
        m.remove("kind");
    }
    if let Some(meta) = c.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "name",
            "namespace",
            "resourceVersion",
            "managedFields",
            "uid",
            "creationTimestamp",
        ] {
            meta.remove(k);
        }
        if meta.is_empty() {
            c.as_object_mut().map(|m| m.remove("metadata"));
        }
    }
    c
}

fn entries(object: &Value) -> Vec<Value> {
    object["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn same_entry(e: &Value, manager: &str, op: Operation, subresource: Option<&str>) -> bool {
    e["manager"] == manager && e["operation"] == op.as_str() && e["subresource"].as_str() == subresource
}

/// Records a write by `manager` in `new`'s managedFields.
pub fn record(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    op: Operation,
    subresource: Option<&str>,
    applied: Option<&Value>,
) {
    let api_version = new["apiVersion"].clone();
    let mut list = old.map(entries).unwrap_or_default();
    let changed = changed_set(&owned_content(old.unwrap_or(&Value::Null)), &owned_content(new));
    let mut taken = BTreeSet::new();
    leaf_paths(&changed, &mut vec![], &mut taken);
    for e in list
        .iter_mut()
        .filter(|e| !same_entry(e, manager, op, subresource) && e["subresource"].as_str() == subresource)
    {
        for path in &taken {
            strip(&mut e["fieldsV1"], path);
        }
    }
    // Fields that no longer exist are nobody's any more.
    let content = owned_content(new);
    for e in list
        .iter_mut()
        .filter(|e| e["subresource"].as_str() == subresource)
    {
        let mut owned = BTreeSet::new();
        leaf_paths(&e["fieldsV1"], &mut vec![], &mut owned);
        for path in owned.iter().filter(|p| !has_path(&content, p)) {
            strip(&mut e["fieldsV1"], path);
        }
    }
    list.retain(|e| {
        e["fieldsV1"].as_object().is_some_and(|m| !m.is_empty()) || same_entry(e, manager, op, subresource)
    });
    let position = list.iter().position(|e| same_entry(e, manager, op, subresource));
    let fields = match (op, applied) {
        (Operation::Apply, Some(config)) => field_set(&owned_content(config)),
        _ => match position.map(|i| list[i]["fieldsV1"].clone()) {
            Some(mut merged) => {
                json_patch::merge(&mut merged, &changed);
                merged
            }
            None => changed,
        },
    };
    let mut entry = json!({
        "manager": manager, "operation": op.as_str(), "apiVersion": api_version,
        "time": super::meta::now(), "fieldsType": "FieldsV1", "fieldsV1": fields,
    });
    if let Some(s) = subresource {
        entry["subresource"] = json!(s);
    }
    match position {
        Some(i) => list[i] = entry,
        None => list.push(entry),
    }
    super::meta::meta_mut(new).insert("managedFields".into(), Value::Array(list));
}

/// Removes a leaf path from a FieldsV1 set, and containers left without fields.
fn strip(set: &mut Value, path: &[String]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let Some(map) = set.as_object_mut() else { return };
    let key = format!("f:{first}");
    if rest.is_empty() {
        map.remove(&key);
        return;
    }
    if let Some(child) = map.get_mut(&key) {
        strip(child, rest);
        if child
            .as_object()
            .is_some_and(|c| c.contains_key(".") && !c.keys().any(|k| k.starts_with("f:")))
        {
            map.remove(&key);
        }
    }
}

/// A field another manager owns that an apply would change.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// The other manager.
    pub manager: String,
    /// The apiVersion of its entry.
    pub api_version: String,
    /// `.spec.replicas`.
    pub path: String,
}

/// Fields of the applied `config` whose value the apply changes (from `current` to `result`)
/// and that another manager owns (entries of the same subresource only).
pub fn conflicts(
    current: &Value,
    result: &Value,
    config: &Value,
    manager: &str,
    subresource: Option<&str>,
) -> Vec<Conflict> {
    let mut wanted = BTreeSet::new();
    leaf_paths(&field_set(&owned_content(config)), &mut vec![], &mut wanted);
    let value_at = |v: &Value, p: &[String]| p.iter().try_fold(v, |cur, k| cur.get(k.as_str())).cloned();
    let mut found = vec![];
    for e in entries(current)
        .iter()
        .filter(|e| e["manager"] != manager && e["subresource"].as_str() == subresource)
    {
        let mut owned = BTreeSet::new();
        leaf_paths(&e["fieldsV1"], &mut vec![], &mut owned);
        for p in &wanted {
            let differs = value_at(result, p) != value_at(current, p);
            if differs && owned.iter().any(|o| p.starts_with(o)) {
                found.push(Conflict {
                    manager: e["manager"].as_str().unwrap_or_default().into(),
                    api_version: e["apiVersion"].as_str().unwrap_or_default().into(),
                    path: format!(".{}", p.join(".")),
                });
            }
        }
    }
    found
}

fn remove_path(v: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = v;
    for p in parents {
        match cur.get_mut(p.as_str()) {
            Some(next) => cur = next,
            None => return,
        }
    }
    if let Some(m) = cur.as_object_mut() {
        m.remove(last.as_str());
    }
}

fn has_path(v: &Value, path: &[String]) -> bool {
    path.iter().try_fold(v, |cur, p| cur.get(p.as_str())).is_some()
}

/// Server-side apply of `config` by `manager` onto the current object (or nothing).
pub fn apply_merge(
    current: Option<&Value>,
    config: &Value,
    manager: &str,
    subresource: Option<&str>,
) -> Value {
    let mut object = current.cloned().unwrap_or_else(|| json!({}));
    let list = current.map(entries).unwrap_or_default();
    let mut mine = BTreeSet::new();
    let mut others = BTreeSet::new();
    for e in &list {
        let target = if same_entry(e, manager, Operation::Apply, subresource) {
            &mut mine
        } else {
            &mut others
        };
        leaf_paths(&e["fieldsV1"], &mut vec![], target);
    }
    for path in mine.difference(&others) {
        if !has_path(config, path) {
            remove_path(&mut object, path);
        }
    }
    json_patch::merge(&mut object, config);
    object
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_conflicts_with_another_managers_changed_field() {
        let cm = |v: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"x": v}});
        let mut obj = apply_merge(None, &cm("1"), "one", None);
        record(None, &mut obj, "one", Operation::Apply, None, Some(&cm("1")));
        let by = |current: &Value, v: &str, who: &str| {
            let result = apply_merge(Some(current), &cm(v), who, None);
            conflicts(current, &result, &cm(v), who, None)
        };
        assert!(by(&obj, "1", "two").is_empty(), "same value: shared ownership");
        let found = by(&obj, "2", "two");
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].manager.as_str(), found[0].path.as_str()),
            ("one", ".data.x")
        );
        // A forced apply takes the field over.
        let mut forced = apply_merge(Some(&obj), &cm("2"), "two", None);
        record(
            Some(&obj),
            &mut forced,
            "two",
            Operation::Apply,
            None,
            Some(&cm("2")),
        );
        assert!(by(&forced, "3", "one").iter().all(|c| c.manager == "two"));
        assert_eq!(
            entries(&forced).len(),
            1,
            "the emptied entry of \"one\" is dropped"
        );
        // Removing a field (e.g. a Lease release) frees it: another manager may then set it.
        let mut released = forced.clone();
        released["data"] = json!({});
        record(Some(&forced), &mut released, "two", Operation::Update, None, None);
        assert!(by(&released, "4", "three").is_empty(), "{:?}", entries(&released));
    }

    #[test]
    fn apply_removes_fields_the_manager_dropped() {
        let first = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"x": "1", "y": "2"}});
        let mut obj = apply_merge(None, &first, "m", None);
        record(None, &mut obj, "m", Operation::Apply, None, Some(&first));
        let second =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"x": "1"}});
        let obj = apply_merge(Some(&obj), &second, "m", None);
        assert_eq!(obj["data"], json!({"x": "1"}));
    }
}
