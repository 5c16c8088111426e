//! A field error in the shape and wording of Kubernetes' `field.Error`.

use serde_json::Value;

/// One rejected field. `Display` gives the line kubectl prints: `spec.offer: Unsupported value: ...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the field, such as `spec.thresholds[1].name`.
    pub field: String,
    /// Kubernetes cause reason, such as `FieldValueInvalid` or `FieldValueRequired`.
    pub reason: &'static str,
    /// The message without the field prefix, such as `Required value`.
    pub detail: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.detail)
    }
}

impl FieldError {
    /// `field: Required value`.
    pub fn required(field: String) -> Self {
        Self {
            field,
            reason: "FieldValueRequired",
            detail: "Required value".into(),
        }
    }

    /// `field: Invalid value: <value>: <message>`.
    pub fn invalid(field: String, value: &Value, message: &str) -> Self {
        Self::invalid_shown(field, &show_value(value), message)
    }

    /// Like [`FieldError::invalid`] with the value already rendered (the apiserver shows type names
    /// such as `"object"` for CEL failures).
    pub fn invalid_shown(field: String, shown: &str, message: &str) -> Self {
        Self {
            field,
            reason: "FieldValueInvalid",
            detail: format!("Invalid value: {shown}: {message}"),
        }
    }

    /// `field: Unsupported value: "x": supported values: "a", "b"`.
    pub fn not_supported(field: String, value: &Value, allowed: &[Value]) -> Self {
        let allowed: Vec<String> = allowed.iter().map(show_value).collect();
        Self {
            field,
            reason: "FieldValueNotSupported",
            detail: format!(
                "Unsupported value: {}: supported values: {}",
                show_value(value),
                allowed.join(", ")
            ),
        }
    }

    /// `field: Too long: may not be more than N bytes`.
    pub fn too_long(field: String, max: u64) -> Self {
        let unit = if max == 1 { "byte" } else { "bytes" };
        Self {
            field,
            reason: "FieldValueTooLong",
            detail: format!("Too long: may not be more than {max} {unit}"),
        }
    }

    /// `field: Too many: N: must have at most M items`.
    pub fn too_many(field: String, actual: usize, max: u64) -> Self {
        Self {
            field,
            reason: "FieldValueTooMany",
            detail: format!("Too many: {actual}: must have at most {max} items"),
        }
    }

    /// `field: Duplicate value: <value>`.
    pub fn duplicate(field: String, shown: String) -> Self {
        Self {
            field,
            reason: "FieldValueDuplicate",
            detail: format!("Duplicate value: {shown}"),
        }
    }

    /// Whether this error keeps the CEL rules from running (the apiserver's `hasBlockingErr`).
    pub fn blocks_cel(&self) -> bool {
        matches!(
            self.reason,
            "FieldValueNotSupported" | "FieldValueTooLong" | "FieldValueTooMany" | "FieldValueTypeInvalid"
        )
    }

    /// The apiserver's note that CEL rules were skipped because of earlier errors.
    pub fn cel_not_checked() -> Self {
        Self::invalid_shown(
            "<nil>".into(),
            "\"null\"",
            "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
        )
    }

    /// An undeclared field removed by pruning, reported under `fieldValidation=Strict`.
    pub fn unknown_field(field: String) -> Self {
        Self {
            detail: format!("unknown field \"{field}\""),
            field,
            reason: "FieldValueInvalid",
        }
    }
}

/// Renders a value the way the apiserver prints it in `Invalid value: ...`.
pub(crate) fn show_value(value: &Value) -> String {
    match value {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => value.to_string(),
        Value::Null => "\"null\"".into(),
        Value::Array(_) => "\"array\"".into(),
        Value::Object(_) => "\"object\"".into(),
    }
}

/// The OpenAPI type name of a JSON value, as used in type errors and CEL failures.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
