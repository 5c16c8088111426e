//! Schema processing of custom resources at admission: pruning, defaulting, validation.
//!
//! The schema logic itself lives in `ccs_admission` (shared with the manifest checks);
//! this module is the thin seam that applies it with the API server's `fieldValidation` rules
//! and error wording.

use super::error::{ApiError, ApiResult, Cause};
use super::resource::ResourceInfo;
use serde_json::Value;

/// How to treat unknown fields (`fieldValidation` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    /// Prune silently.
    Ignore,
    /// Prune and return a Warning header per field (the server default).
    #[default]
    Warn,
    /// Reject with 400.
    Strict,
}

impl FieldValidation {
    /// Parses the query value; unknown values fall back to the default.
    pub fn parse(v: Option<&str>) -> Self {
        match v {
            Some("Ignore") => Self::Ignore,
            Some("Strict") => Self::Strict,
            _ => Self::Warn,
        }
    }
}

/// The compiled schema of one CRD version.
#[derive(Debug)]
pub struct CrSchema {
    validator: ccs_admission::SchemaValidator,
}

impl CrSchema {
    /// Compiles `openAPIV3Schema`.
    pub fn new(schema: &Value) -> Self {
        Self {
            validator: ccs_admission::SchemaValidator::new(schema),
        }
    }
}

/// Prunes, defaults and validates a custom resource in place; returns Warning texts.
///
/// `apiVersion`, `kind` and `metadata` are set aside during pruning, because the server handles
/// them itself (the CRD schema rarely describes them).
pub fn admit(
    info: &ResourceInfo,
    object: &mut Value,
    old: Option<&Value>,
    field_validation: FieldValidation,
) -> ApiResult<Vec<String>> {
    let Some(schema) = &info.cr_schema else {
        return Ok(vec![]);
    };
    let Some(map) = object.as_object_mut() else {
        return Ok(vec![]);
    };
    let kept: Vec<(String, Value)> = ["apiVersion", "kind", "metadata"]
        .iter()
        .filter_map(|k| map.remove(*k).map(|v| (k.to_string(), v)))
        .collect();
    let unknown = schema.validator.prune_and_default(object);
    if let Some(map) = object.as_object_mut() {
        map.extend(kept);
    }
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let warnings = unknown_fields(info, &unknown, field_validation)?;
    let mut errors = match old {
        Some(old) => schema.validator.validate_update(object, old),
        None => schema.validator.validate(object, None),
    };
    if let Some(old) = old.filter(|_| !errors.is_empty()) {
        // Ratcheting: an update need not fix what was already invalid in the stored object.
        let before: Vec<(String, String)> = schema
            .validator
            .validate(old, None)
            .into_iter()
            .map(|e| (e.field, e.detail))
            .collect();
        errors.retain(|e| !before.iter().any(|(f, d)| *f == e.field && *d == e.detail));
    }
    if !errors.is_empty() {
        let causes = errors
            .into_iter()
            .map(|e| Cause {
                reason: e.reason.to_string(),
                message: e.detail,
                field: e.field,
            })
            .collect();
        return Err(ApiError::invalid(&info.kind_group(), info.subject(&name), causes));
    }
    Ok(warnings)
}

/// `fieldValidation` semantics for fields removed by pruning: a 400 under Strict, Warning texts
/// under Warn, nothing under Ignore.
pub fn unknown_fields(
    info: &ResourceInfo,
    unknown: &[String],
    field_validation: FieldValidation,
) -> ApiResult<Vec<String>> {
    let texts: Vec<String> = unknown.iter().map(|f| format!("unknown field \"{f}\"")).collect();
    match field_validation {
        FieldValidation::Strict if !texts.is_empty() => Err(ApiError::bad_request(format!(
            "{kind} in version \"{v}\" cannot be handled as a {kind}: strict decoding error: {}",
            texts.join(", "),
            kind = info.kind,
            v = info.version
        ))),
        FieldValidation::Warn => Ok(texts),
        _ => Ok(vec![]),
    }
}
