//! OpenAPI v3 structural validation with the apiserver's messages (kube-openapi wording).

use super::error::{FieldError, show_value, type_name};
use super::{ROOT_FIELDS, path};
use regex::Regex;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// The compiled `pattern`s of a schema, by source.
pub(crate) type Patterns = HashMap<String, Regex>;

/// Compiles every `pattern` of `schema` once (invalid ones are left out: the apiserver rejects such
/// CRDs, so they are skipped here).
pub(crate) fn compile_patterns(schema: &Value, into: &mut Patterns) {
    match schema {
        Value::Object(map) => {
            if let Some(pattern) = map.get("pattern").and_then(Value::as_str)
                && !into.contains_key(pattern)
                && let Ok(re) = Regex::new(pattern)
            {
                into.insert(pattern.to_string(), re);
            }
            map.values().for_each(|v| compile_patterns(v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| compile_patterns(v, into)),
        _ => {}
    }
}

/// The root schema as validated: `apiVersion`, `kind` and `metadata` are not its to require.
pub(crate) fn root_schema(schema: &Value) -> Value {
    let mut root = schema.clone();
    if let Some(required) = root.get_mut("required").and_then(Value::as_array_mut) {
        required.retain(|r| !r.as_str().is_some_and(|r| ROOT_FIELDS.contains(&r)));
    }
    root
}

/// Validates everything but `apiVersion`, `kind` and `metadata` against the [`root_schema`].
/// Top-level fields equal in `unchanged_from` (the stored object of an update) are not walked:
/// their errors, if any, are ratcheted away anyway.
pub(crate) fn validate_root(
    root: &Value,
    patterns: &Patterns,
    object: &Value,
    unchanged_from: Option<&Value>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(map) = object.as_object() {
        let body: Map<String, Value> = map
            .iter()
            .filter(|(k, _)| !ROOT_FIELDS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let skip_at_root = body
            .iter()
            .filter(|(k, v)| unchanged_from.and_then(|old| old.get(k.as_str())) == Some(*v))
            .map(|(k, _)| k.clone())
            .collect();
        Walker {
            errors: &mut errors,
            patterns,
            skip_at_root,
        }
        .value(root, &Value::Object(body), "");
    }
    errors
}

struct Walker<'a> {
    errors: &'a mut Vec<FieldError>,
    patterns: &'a Patterns,
    /// Top-level fields not to descend into.
    skip_at_root: HashSet<String>,
}

fn num(schema: &Value, key: &str) -> Option<f64> {
    schema.get(key).and_then(Value::as_f64)
}

fn count(schema: &Value, key: &str) -> Option<u64> {
    schema
        .get(key)
        .and_then(|v| v.as_u64().or_else(|| v.as_f64().map(|f| f as u64)))
}

impl Walker<'_> {
    fn value(&mut self, schema: &Value, value: &Value, at: &str) {
        if value.is_null() {
            if !schema.get("nullable").and_then(Value::as_bool).unwrap_or(false)
                && schema.get("type").is_some()
            {
                self.type_error(schema, value, at);
            }
            return;
        }
        if !self.type_matches(schema, value) {
            self.type_error(schema, value, at);
            return;
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            self.errors
                .push(FieldError::not_supported(at.into(), value, allowed));
        }
        match value {
            Value::String(s) => self.string(schema, value, s, at),
            Value::Number(_) => self.number(schema, value, at),
            Value::Object(map) => self.object(schema, map, at),
            Value::Array(items) => self.array(schema, items, at),
            _ => {}
        }
    }

    fn type_matches(&self, schema: &Value, value: &Value) -> bool {
        if schema
            .get("x-kubernetes-int-or-string")
            .and_then(Value::as_bool)
            .unwrap_or(false)
        {
            return matches!(type_name(value), "integer" | "string");
        }
        match schema.get("type").and_then(Value::as_str) {
            None => true,
            Some("number") => value.is_number(),
            Some("integer") => {
                type_name(value) == "integer" || value.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            Some(expected) => type_name(value) == expected,
        }
    }

    fn type_error(&mut self, schema: &Value, value: &Value, at: &str) {
        let expected = schema
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("integer or string");
        let actual = type_name(value);
        let shown = format!("\"{actual}\"");
        let mut error = FieldError::invalid_shown(
            at.into(),
            &shown,
            &format!("{at} in body must be of type {expected}: {shown}"),
        );
        error.reason = "FieldValueTypeInvalid";
        self.errors.push(error);
    }

    fn string(&mut self, schema: &Value, value: &Value, s: &str, at: &str) {
        let chars = s.chars().count() as u64;
        if let Some(max) = count(schema, "maxLength").filter(|max| chars > *max) {
            self.errors.push(FieldError::too_long(at.into(), max));
        }
        if let Some(min) = count(schema, "minLength").filter(|min| chars < *min) {
            self.errors.push(FieldError::invalid(
                at.into(),
                value,
                &format!("{at} in body should be at least {min} chars long"),
            ));
        }
        if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
            // An invalid pattern is a CRD authoring error; the apiserver rejects such CRDs, so skip it here.
            if self.patterns.get(pattern).is_some_and(|re| !re.is_match(s)) {
                self.errors.push(FieldError::invalid(
                    at.into(),
                    value,
                    &format!("{at} in body should match '{pattern}'"),
                ));
            }
        }
        if let Some(format) = schema.get("format").and_then(Value::as_str)
            && !format_matches(format, s)
        {
            self.errors.push(FieldError::invalid(
                at.into(),
                value,
                &format!("{at} in body must be of type {format}: {}", show_value(value)),
            ));
        }
    }

    fn number(&mut self, schema: &Value, value: &Value, at: &str) {
        let Some(n) = value.as_f64() else { return };
        let exclusive = |key: &str| schema.get(key).and_then(Value::as_bool).unwrap_or(false);
        if let Some(min) = num(schema, "minimum") {
            let (bad, words) = if exclusive("exclusiveMinimum") {
                (n <= min, "greater than")
            } else {
                (n < min, "greater than or equal to")
            };
            if bad {
                self.errors.push(FieldError::invalid(
                    at.into(),
                    value,
                    &format!("{at} in body should be {words} {}", fmt_num(min)),
                ));
            }
        }
        if let Some(max) = num(schema, "maximum") {
            let (bad, words) = if exclusive("exclusiveMaximum") {
                (n >= max, "less than")
            } else {
                (n > max, "less than or equal to")
            };
            if bad {
                self.errors.push(FieldError::invalid(
                    at.into(),
                    value,
                    &format!("{at} in body should be {words} {}", fmt_num(max)),
                ));
            }
        }
        if let Some(m) = num(schema, "multipleOf").filter(|m| *m > 0.0 && (n / m).fract() != 0.0) {
            self.errors.push(FieldError::invalid(
                at.into(),
                value,
                &format!("{at} in body should be a multiple of {}", fmt_num(m)),
            ));
        }
        let out_of_int32 = schema.get("format").and_then(Value::as_str) == Some("int32")
            && (n < f64::from(i32::MIN) || n > f64::from(i32::MAX));
        if out_of_int32 {
            self.errors.push(FieldError::invalid(
                at.into(),
                value,
                &format!("{at} in body must be of type int32: {}", fmt_num(n)),
            ));
        }
    }

    fn object(&mut self, schema: &Value, map: &Map<String, Value>, at: &str) {
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                if map.get(name).is_none_or(Value::is_null) {
                    self.errors.push(FieldError::required(path::child(at, name)));
                }
            }
        }
        let len = map.len();
        if let Some(max) = count(schema, "maxProperties").filter(|max| len as u64 > *max) {
            self.errors.push(FieldError::too_many(at.into(), len, max));
        }
        if let Some(min) = count(schema, "minProperties").filter(|min| (len as u64) < *min) {
            self.errors.push(FieldError::invalid(
                at.into(),
                &Value::Object(map.clone()),
                &format!("{at} in body should have at least {min} properties"),
            ));
        }
        let props = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties").filter(|a| a.is_object());
        for (name, child) in map {
            if at.is_empty() && self.skip_at_root.contains(name) {
                continue;
            }
            if let Some(prop) = props.and_then(|p| p.get(name)) {
                self.value(prop, child, &path::child(at, name));
            } else if let Some(additional) = additional {
                self.value(additional, child, &path::key(at, name));
            }
        }
    }

    fn array(&mut self, schema: &Value, items: &[Value], at: &str) {
        if let Some(max) = count(schema, "maxItems").filter(|max| items.len() as u64 > *max) {
            self.errors
                .push(FieldError::too_many(at.into(), items.len(), max));
        }
        if let Some(min) = count(schema, "minItems").filter(|min| (items.len() as u64) < *min) {
            self.errors.push(FieldError::invalid(
                at.into(),
                &Value::Array(items.to_vec()),
                &format!("{at} in body should have at least {min} items"),
            ));
        }
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                self.value(item_schema, item, &path::index(at, i));
            }
        }
        match schema.get("x-kubernetes-list-type").and_then(Value::as_str) {
            Some("map") => self.unique_map_keys(schema, items, at),
            Some("set") => self.unique_set(items, at),
            _ => {}
        }
    }

    fn unique_map_keys(&mut self, schema: &Value, items: &[Value], at: &str) {
        let keys: Vec<&str> = schema
            .get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
            .map(|k| k.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut seen = HashSet::new();
        for (i, item) in items.iter().enumerate() {
            let key: Vec<(&str, String)> = keys
                .iter()
                .map(|k| (*k, item.get(*k).map(Value::to_string).unwrap_or_default()))
                .collect();
            if !seen.insert(key.clone()) {
                let shown: Vec<String> = key.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                self.errors.push(FieldError::duplicate(
                    path::index(at, i),
                    format!("map[string]interface {{}}{{{}}}", shown.join(", ")),
                ));
            }
        }
    }

    fn unique_set(&mut self, items: &[Value], at: &str) {
        let mut seen = HashSet::new();
        for (i, item) in items.iter().enumerate() {
            if !seen.insert(item.to_string()) {
                self.errors
                    .push(FieldError::duplicate(path::index(at, i), show_value(item)));
            }
        }
    }
}

/// Formats a number as Go's `%v` would for the bounds of a schema.
fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// The string formats the apiserver checks; unknown formats pass, as in kube-openapi.
fn format_matches(format: &str, s: &str) -> bool {
    match format {
        "date-time" => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        "date" => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
        "byte" => {
            s.len().is_multiple_of(4)
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        }
        "uuid" => {
            s.len() == 36
                && s.char_indices().all(|(i, c)| {
                    if [8, 13, 18, 23].contains(&i) {
                        c == '-'
                    } else {
                        c.is_ascii_hexdigit()
                    }
                })
        }
        _ => true,
    }
}
