//! One error type for every portal call, classified for controllers, events and metrics.

use std::time::Duration;

/// What went wrong, in terms a controller can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCategory {
    /// Wrong client id, secret or API key (401 after one token refresh).
    Unauthorized,
    /// The credentials lack a right (403), e.g. not Manager on the Users section.
    Forbidden,
    /// The object does not exist (404).
    NotFound,
    /// The portal's rules refuse the change in the current state (409).
    Conflict,
    /// The request is malformed or fails validation (400, 422).
    Invalid,
    /// Too many requests (429).
    RateLimited,
    /// Server-side failure (5xx).
    Unavailable,
    /// No answer in time.
    Timeout,
    /// The answer could not be decoded: the portal and the contract disagree.
    Decode,
    /// Connection-level failure (refused, reset, TLS).
    Transport,
    /// The answer is larger than `maxResponseBytes`, or a list has more pages than allowed.
    TooLarge,
}

impl ErrorCategory {
    /// PascalCase name: the Kubernetes Event and condition reason, and a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthorized => "Unauthorized",
            Self::Forbidden => "Forbidden",
            Self::NotFound => "NotFound",
            Self::Conflict => "Conflict",
            Self::Invalid => "Invalid",
            Self::RateLimited => "RateLimited",
            Self::Unavailable => "Unavailable",
            Self::Timeout => "Timeout",
            Self::Decode => "Decode",
            Self::Transport => "Transport",
            Self::TooLarge => "TooLarge",
        }
    }

    /// Terminal errors will fail the same way until something changes (spec, Secret, rights);
    /// the others may succeed on a later attempt.
    pub fn is_terminal(self) -> bool {
        !matches!(
            self,
            Self::RateLimited | Self::Unavailable | Self::Timeout | Self::Transport
        )
    }

    /// The category of an HTTP error status.
    pub fn from_status(status: u16) -> Self {
        match status {
            401 => Self::Unauthorized,
            403 => Self::Forbidden,
            404 | 410 => Self::NotFound,
            409 | 412 => Self::Conflict,
            408 | 504 => Self::Timeout,
            429 => Self::RateLimited,
            // Redirects are never followed (they would carry the API key elsewhere).
            300..=399 => Self::Invalid,
            400..=499 => Self::Invalid,
            _ => Self::Unavailable,
        }
    }
}

/// A failed portal call.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation}: {category:?}{}: {message}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
pub struct PortalError {
    /// Classification.
    pub category: ErrorCategory,
    /// The operation that failed (a bounded label).
    pub operation: &'static str,
    /// HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// The portal's numeric error code, when the body carried one.
    pub code: Option<u32>,
    /// Human-readable message (never contains secrets).
    pub message: String,
    /// The server's `Retry-After`, when given.
    pub retry_after: Option<Duration>,
}

impl PortalError {
    /// A new error without HTTP details.
    pub fn new(category: ErrorCategory, operation: &'static str, message: impl Into<String>) -> Self {
        Self {
            category,
            operation,
            status: None,
            code: None,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The classification.
    pub fn category(&self) -> ErrorCategory {
        self.category
    }

    /// See [`ErrorCategory::is_terminal`].
    pub fn is_terminal(&self) -> bool {
        self.category.is_terminal()
    }
}

/// Result of a portal call.
pub type PortalResult<T> = Result<T, PortalError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_classify() {
        assert_eq!(ErrorCategory::from_status(401).as_str(), "Unauthorized");
        assert_eq!(ErrorCategory::from_status(422), ErrorCategory::Invalid);
        assert_eq!(ErrorCategory::from_status(503), ErrorCategory::Unavailable);
        assert!(ErrorCategory::Forbidden.is_terminal());
        assert!(!ErrorCategory::RateLimited.is_terminal());
    }
}
