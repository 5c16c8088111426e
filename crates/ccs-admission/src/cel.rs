//! CEL `x-kubernetes-validations`, evaluated by `kube-cel` and reported in the apiserver's wording.

use super::error::{FieldError, type_name};
use kube_cel::{CompiledSchema, ErrorKind, compile_schema};
use serde_json::Value;

/// The compiled CEL rules of one schema: per top-level property when the root itself has no rule
/// (so an update can skip the properties it leaves unchanged), else for the whole object.
pub(crate) enum CelRules {
    /// Rules of each top-level property that has any, by property name.
    PerProperty(Vec<(String, CompiledSchema)>),
    /// Rules at the root: evaluated on the whole object.
    Whole(Box<CompiledSchema>),
}

/// Whether a schema holds a CEL rule anywhere.
fn has_rules(schema: &Value) -> bool {
    match schema {
        Value::Object(map) => map.contains_key("x-kubernetes-validations") || map.values().any(has_rules),
        Value::Array(items) => items.iter().any(has_rules),
        _ => false,
    }
}

impl CelRules {
    /// Compiles every rule once; rules that fail to compile are reported at validation time.
    pub(crate) fn compile(schema: &Value) -> Self {
        let properties = schema.get("properties").and_then(Value::as_object);
        match properties {
            Some(properties) if schema.get("x-kubernetes-validations").is_none() => Self::PerProperty(
                properties
                    .iter()
                    .filter(|(_, sub)| has_rules(sub))
                    .map(|(name, sub)| (name.clone(), compile_schema(sub)))
                    .collect(),
            ),
            _ => Self::Whole(Box::new(compile_schema(schema))),
        }
    }

    /// Evaluates the rules; `old` enables the transition rules (`oldSelf`).
    pub(crate) fn validate(&self, object: &Value, old: Option<&Value>) -> Vec<FieldError> {
        self.evaluate(object, old, false)
    }

    /// Like [`Self::validate`], but skips the top-level properties equal in `old`: their errors, if
    /// any, are the stored object's and an update does not have to fix them (ratcheting).
    pub(crate) fn validate_changed(&self, object: &Value, old: Option<&Value>) -> Vec<FieldError> {
        self.evaluate(object, old, true)
    }

    fn evaluate(&self, object: &Value, old: Option<&Value>, skip_unchanged: bool) -> Vec<FieldError> {
        match self {
            Self::Whole(compiled) => report(compiled, object, old, object, ""),
            Self::PerProperty(parts) => parts
                .iter()
                .filter_map(|(name, compiled)| {
                    let value = object.get(name)?;
                    let before = old.and_then(|o| o.get(name));
                    if skip_unchanged && before == Some(value) {
                        return None;
                    }
                    Some(report(compiled, value, before, object, name))
                })
                .flatten()
                .collect(),
        }
    }
}

/// Runs compiled rules on `value` (found at `prefix` in `root`) and words the errors.
fn report(
    compiled: &CompiledSchema,
    value: &Value,
    old: Option<&Value>,
    root: &Value,
    prefix: &str,
) -> Vec<FieldError> {
    let Err(errors) = kube_cel::validate_compiled(compiled, value, old) else {
        return Vec::new();
    };
    errors
        .into_iter()
        .map(|e| {
            let field = match (prefix, e.field_path.as_str()) {
                ("", path) => path.to_string(),
                (prefix, "") => prefix.to_string(),
                (prefix, path) if path.starts_with('[') => format!("{prefix}{path}"),
                (prefix, path) => format!("{prefix}.{path}"),
            };
            let shown = format!("\"{}\"", lookup(root, &field).map_or("object", type_name));
            let message = match e.kind {
                ErrorKind::ValidationFailure => e.message,
                _ => format!("internal error: {}", e.message),
            };
            match e.reason.as_deref() {
                Some("FieldValueForbidden") => FieldError {
                    field,
                    reason: "FieldValueForbidden",
                    detail: format!("Forbidden: {message}"),
                },
                Some("FieldValueRequired") => FieldError {
                    field,
                    reason: "FieldValueRequired",
                    detail: format!("Required value: {message}"),
                },
                Some("FieldValueDuplicate") => FieldError::duplicate(field, format!("{shown}: {message}")),
                _ => FieldError::invalid_shown(field, &shown, &message),
            }
        })
        .collect()
}

/// Finds the value at an apiserver-style path such as `spec.thresholds[1]`.
fn lookup<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    let mut current = root;
    for segment in path.split('.').filter(|s| !s.is_empty()) {
        let (name, rest) = segment.split_once('[').unwrap_or((segment, ""));
        if !name.is_empty() {
            current = current.get(name)?;
        }
        for index in rest
            .split('[')
            .map(|i| i.trim_end_matches(']'))
            .filter(|i| !i.is_empty())
        {
            current = match index.parse::<usize>() {
                Ok(i) if current.is_array() => current.get(i)?,
                _ => current.get(index)?,
            };
        }
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use super::lookup;
    use serde_json::json;

    #[test]
    fn lookup_follows_properties_indexes_and_keys() {
        let v = json!({"spec": {"list": [{"a": 1}, {"a": "x"}], "map": {"k": true}}});
        assert_eq!(lookup(&v, "spec.list[1].a"), Some(&json!("x")));
        assert_eq!(lookup(&v, "spec.map[k]"), Some(&json!(true)));
        assert_eq!(lookup(&v, "spec.missing"), None);
        assert_eq!(lookup(&v, ""), Some(&v));
    }
}
