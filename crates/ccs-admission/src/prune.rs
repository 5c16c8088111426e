//! Pruning of undeclared fields and defaulting, in the apiserver's order (prune, then default).

use super::{ROOT_FIELDS, path};
use serde_json::{Map, Value};

fn flag(schema: &Value, name: &str) -> bool {
    schema.get(name).and_then(Value::as_bool).unwrap_or(false)
}

fn properties(schema: &Value) -> Option<&Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object)
}

/// Prunes the whole object; `apiVersion`, `kind` and `metadata` are never pruned.
pub(crate) fn prune_root(schema: &Value, object: &mut Value, pruned: &mut Vec<String>) {
    prune_object(schema, object, "", true, pruned);
}

fn prune_object(schema: &Value, value: &mut Value, at: &str, keep_meta: bool, pruned: &mut Vec<String>) {
    let Some(map) = value.as_object_mut() else { return };
    let props = properties(schema);
    let additional = schema.get("additionalProperties").filter(|a| a.is_object());
    let preserve = flag(schema, "x-kubernetes-preserve-unknown-fields");
    let mut removed = Vec::new();
    for (name, child) in map.iter_mut() {
        if keep_meta && ROOT_FIELDS.contains(&name.as_str()) {
            continue;
        }
        let child_at = if additional.is_some() {
            path::key(at, name)
        } else {
            path::child(at, name)
        };
        let child_schema = props.and_then(|p| p.get(name)).or(additional);
        match child_schema {
            Some(s) if child.is_null() && !flag(s, "nullable") => removed.push((name.clone(), None)),
            Some(s) => prune_value(s, child, &child_at, pruned),
            None if preserve => {}
            None => removed.push((name.clone(), Some(child_at))),
        }
    }
    for (name, reported) in removed {
        map.remove(&name);
        pruned.extend(reported);
    }
}

fn prune_value(schema: &Value, value: &mut Value, at: &str, pruned: &mut Vec<String>) {
    match value {
        Value::Object(_) => prune_object(
            schema,
            value,
            at,
            flag(schema, "x-kubernetes-embedded-resource"),
            pruned,
        ),
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    prune_value(item_schema, item, &path::index(at, i), pruned);
                }
            }
        }
        _ => {}
    }
}

/// Applies `default` values to missing properties, wherever the parent object exists.
pub(crate) fn default_root(schema: &Value, object: &mut Value) {
    default_value(schema, object);
}

fn default_value(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(props) = properties(schema) {
                for (name, prop) in props {
                    if let (false, Some(default)) = (map.contains_key(name), prop.get("default")) {
                        map.insert(name.clone(), default.clone());
                    }
                }
                for (name, child) in map.iter_mut() {
                    if let Some(prop) = props.get(name) {
                        default_value(prop, child);
                    }
                }
            } else if let Some(additional) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                for child in map.values_mut() {
                    default_value(additional, child);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    default_value(item_schema, item);
                }
            }
        }
        _ => {}
    }
}
