//! Kubernetes `Status` errors, worded like the real API server.

use axum::http::StatusCode;
use serde_json::{Value, json};

/// One cause of an `Invalid` (422) or conflict error.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    /// e.g. `FieldValueInvalid`.
    pub reason: String,
    /// The message without the field prefix.
    pub message: String,
    /// e.g. `spec.replicas`.
    pub field: String,
}

/// A failed request, rendered as a `meta/v1 Status` body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status code.
    pub code: StatusCode,
    /// Machine-readable reason (`NotFound`, `Conflict`, ...).
    pub reason: &'static str,
    /// Human-readable message (kubectl prints it).
    pub message: String,
    /// `details` of the Status (name, group, kind, causes), if any.
    pub details: Option<Value>,
}

/// Identifies the object an error is about, for `Status.details`.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// API group ("" for core).
    pub group: &'a str,
    /// Plural resource name.
    pub plural: &'a str,
    /// Object name.
    pub name: &'a str,
}

impl Subject<'_> {
    /// `widgets.dev.example.com` or `configmaps` for the core group.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    fn details(&self) -> Value {
        json!({"name": self.name, "group": self.group, "kind": self.plural})
    }
}

impl ApiError {
    /// A bare error with no details.
    pub fn new(code: StatusCode, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    /// 404 NotFound for an object.
    pub fn not_found(s: Subject<'_>) -> Self {
        let message = format!("{} \"{}\" not found", s.qualified(), s.name);
        Self {
            details: Some(s.details()),
            ..Self::new(StatusCode::NOT_FOUND, "NotFound", message)
        }
    }

    /// 404 for a path that names no known resource.
    pub fn no_route() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    /// 409 AlreadyExists.
    pub fn already_exists(s: Subject<'_>) -> Self {
        let message = format!("{} \"{}\" already exists", s.qualified(), s.name);
        Self {
            details: Some(s.details()),
            ..Self::new(StatusCode::CONFLICT, "AlreadyExists", message)
        }
    }

    /// 409 Conflict for a stale resourceVersion or a failed precondition.
    pub fn conflict(s: Subject<'_>, why: &str) -> Self {
        let message = format!(
            "Operation cannot be fulfilled on {} \"{}\": {why}",
            s.qualified(),
            s.name
        );
        Self {
            details: Some(s.details()),
            ..Self::new(StatusCode::CONFLICT, "Conflict", message)
        }
    }

    /// 422 Invalid with per-field causes; `kind_group` is e.g. `Widget.dev.example.com`.
    pub fn invalid(kind_group: &str, s: Subject<'_>, causes: Vec<Cause>) -> Self {
        let fields: Vec<String> = causes
            .iter()
            .map(|c| {
                if c.field.is_empty() {
                    c.message.clone()
                } else {
                    format!("{}: {}", c.field, c.message)
                }
            })
            .collect();
        let joined = if fields.len() == 1 {
            fields[0].clone()
        } else {
            format!("[{}]", fields.join(", "))
        };
        let message = format!("{kind_group} \"{}\" is invalid: {joined}", s.name);
        let kind = kind_group.split('.').next().unwrap_or_default();
        let causes: Vec<Value> = causes
            .iter()
            .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
            .collect();
        let details = json!({"name": s.name, "group": s.group, "kind": kind, "causes": causes});
        Self {
            details: Some(details),
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", message)
        }
    }

    /// 409 for server-side apply field-manager conflicts, worded like the server.
    pub fn apply_conflicts(conflicts: &[super::managed::Conflict]) -> Self {
        let n = conflicts.len();
        let mut managers: Vec<(&str, &str)> = conflicts
            .iter()
            .map(|c| (c.manager.as_str(), c.api_version.as_str()))
            .collect();
        managers.dedup();
        let message = match (conflicts, managers.as_slice()) {
            ([c], _) => format!(
                "Apply failed with 1 conflict: conflict with \"{}\" using {}: {}",
                c.manager, c.api_version, c.path
            ),
            (_, [(m, v)]) => {
                let paths: Vec<String> = conflicts.iter().map(|c| format!("- {}", c.path)).collect();
                format!(
                    "Apply failed with {n} conflicts: conflicts with \"{m}\" using {v}:\n{}",
                    paths.join("\n")
                )
            }
            _ => {
                let lines: Vec<String> = conflicts
                    .iter()
                    .map(|c| {
                        format!(
                            "- conflict with \"{}\" using {}: {}",
                            c.manager, c.api_version, c.path
                        )
                    })
                    .collect();
                format!("Apply failed with {n} conflicts:\n{}", lines.join("\n"))
            }
        };
        let causes: Vec<Value> = conflicts
            .iter()
            .map(|c| json!({"reason": "FieldManagerConflict", "message": format!("conflict with \"{}\" using {}", c.manager, c.api_version), "field": c.path}))
            .collect();
        Self {
            details: Some(json!({"causes": causes})),
            ..Self::new(StatusCode::CONFLICT, "Conflict", message)
        }
    }

    /// 415 for a patch type the resource does not support.
    pub fn unsupported_media_type(accepted: &str) -> Self {
        let message = format!(
            "the body of the request was in an unknown format - accepted media types include: {accepted}"
        );
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            message,
        )
    }

    /// 405 for a verb the path does not support.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    }

    /// 410 Expired for a resourceVersion older than the retained history.
    pub fn expired(requested: u64, current: u64) -> Self {
        Self::new(
            StatusCode::GONE,
            "Expired",
            format!("too old resource version: {requested} ({current})"),
        )
    }

    /// The `Status` JSON body.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "code": self.code.as_u16(),
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code.as_u16(), self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

/// Result of an API operation.
pub type ApiResult<T> = Result<T, ApiError>;
