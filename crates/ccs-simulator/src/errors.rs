//! JSON errors in the Orange B2B style: `{code, message, description}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ccs_portal_model::{ApiErrorBody, Language};

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Body.
    pub body: ApiErrorBody,
    /// `Retry-After` seconds.
    pub retry_after: Option<u64>,
}

/// Picks the English or French text.
pub fn tr(lang: Language, en: impl Into<String>, fr: impl Into<String>) -> String {
    match lang {
        Language::En => en.into(),
        Language::Fr => fr.into(),
    }
}

impl ApiError {
    /// An error with a status, an Orange-style code, a short message and a description.
    pub fn new(status: StatusCode, code: u32, message: &str, description: String) -> Self {
        Self {
            status,
            body: ApiErrorBody {
                code,
                message: message.to_string(),
                description,
            },
            retry_after: None,
        }
    }
    /// 400: malformed query or body.
    pub fn bad_request(description: String) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 20, "Invalid request", description)
    }
    /// 401: unknown or expired token, wrong client secret or API key.
    pub fn unauthorized(code: u32, description: String) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, "Unauthorized", description)
    }
    /// 403: missing right.
    pub fn forbidden(code: u32, description: String) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, "Forbidden", description)
    }
    /// 404.
    pub fn not_found(description: String) -> Self {
        Self::new(StatusCode::NOT_FOUND, 60, "Resource not found", description)
    }
    /// 409: the portal's rules refuse it in the current state.
    pub fn conflict(description: String) -> Self {
        Self::new(StatusCode::CONFLICT, 70, "Conflict", description)
    }
    /// 422: validation failed.
    pub fn invalid(description: String) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            25,
            "Invalid field value",
            description,
        )
    }
    /// An injected failure.
    pub fn injected(status: StatusCode, retry_after: Option<u64>) -> Self {
        let mut err = Self::new(status, 5, "Service unavailable", "injected fault".into());
        if status == StatusCode::TOO_MANY_REQUESTS {
            err.body.code = 53;
            err.body.message = "Too many requests".into();
        }
        err.retry_after = retry_after;
        err
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// Handler result.
pub type ApiResult<T> = Result<T, ApiError>;
