//! CEL `x-kubernetes-validations`, evaluated by `kube-cel` and reported in the apiserver's wording.

use super::error::{FieldError, type_name};
use kube_cel::{CompiledSchema, ErrorKind, compile_schema};
use serde_json::Value;

/// The compiled CEL rules of one schema.
pub(crate) struct CelRules {
    compiled: CompiledSchema,
}

impl CelRules {
    /// Compiles every rule once; rules that fail to compile are reported at validation time.
    pub(crate) fn compile(schema: &Value) -> Self {
        Self {
            compiled: compile_schema(schema),
        }
    }

    /// Evaluates the rules; `old` enables the transition rules (`oldSelf`).
    pub(crate) fn validate(&self, object: &Value, old: Option<&Value>) -> Vec<FieldError> {
        let Err(errors) = kube_cel::validate_compiled(&self.compiled, object, old) else {
            return Vec::new();
        };
        errors
            .into_iter()
            .map(|e| {
                let shown = format!(
                    "\"{}\"",
                    lookup(object, &e.field_path).map_or("object", type_name)
                );
                let message = match e.kind {
                    ErrorKind::ValidationFailure => e.message,
                    _ => format!("internal error: {}", e.message),
                };
                let field = e.field_path;
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
                    Some("FieldValueDuplicate") => {
                        FieldError::duplicate(field, format!("{shown}: {message}"))
                    }
                    _ => FieldError::invalid_shown(field, &shown, &message),
                }
            })
            .collect()
    }
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
