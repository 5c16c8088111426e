//! Field-by-field differences of two specs, as `spec.path: from -> to` lines.

use super::report::{Action, Change};
use serde_json::Value;

fn leaf(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn walk(
    path: &str,
    old: Option<&Value>,
    new: Option<&Value>,
    out: &mut Vec<(String, Option<String>, Option<String>)>,
) {
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                walk(&format!("{path}.{k}"), a.get(k), b.get(k), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                walk(&format!("{path}[{i}]"), Some(x), Some(y), out);
            }
        }
        (Some(Value::Null) | None, Some(Value::Null) | None) => {}
        (a, b) if a == b => {}
        (a, b) => out.push((path.to_string(), a.map(leaf), b.map(leaf))),
    }
}

/// The spec fields that differ between the live object and the manifest (both defaulted).
pub fn spec_changes(old: &Value, new: &Value) -> Vec<(String, Option<String>, Option<String>)> {
    let mut out = Vec::new();
    walk("spec", old.get("spec"), new.get("spec"), &mut out);
    out
}

/// The same as changes of the object only (no portal write): `[~]` each.
pub fn object_changes(old: &Value, new: &Value, note: &str) -> Vec<Change> {
    spec_changes(old, new)
        .into_iter()
        .map(|(field, from, to)| {
            let mut c = Change::field(Action::Update, false, "", &field, from, to);
            if !note.is_empty() {
                c.message = format!("{} ({note})", c.message);
            }
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_fields_lists_and_unset_values() {
        let old =
            json!({"spec": {"amount": "1000", "thresholds": [{"name": "a", "percent": 50}], "x": {"y": 1}}});
        let new =
            json!({"spec": {"amount": "2000", "thresholds": [{"name": "a", "percent": 80}], "z": true}});
        assert_eq!(
            spec_changes(&old, &new),
            vec![
                ("spec.amount".into(), Some("1000".into()), Some("2000".into())),
                (
                    "spec.thresholds[0].percent".into(),
                    Some("50".into()),
                    Some("80".into())
                ),
                ("spec.x".into(), Some("{\"y\":1}".into()), None),
                ("spec.z".into(), None, Some("true".into())),
            ]
        );
        assert_eq!(object_changes(&old, &old, "").len(), 0);
        let longer = json!({"spec": {"l": [1, 2]}});
        let shorter = json!({"spec": {"l": [1]}});
        assert_eq!(spec_changes(&longer, &shorter)[0].0, "spec.l");
    }
}
