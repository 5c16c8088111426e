//! The controller layer's error: a category (the Event reason and the metric label), a message that
//! names the field or the external cause and what to do, and whether retrying can help.

use std::fmt;

/// What went wrong, in PascalCase: the Event reason, the condition reason and the metric label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    /// The credentials Secret does not exist.
    SecretNotFound,
    /// The credentials Secret lacks a key or holds an empty value.
    SecretInvalid,
    /// The credentials Secret lacks the `customerspace.io/credentials=true` label.
    SecretNotMarked,
    /// `spec.endpoint` is not among the operator's allowed portal endpoints.
    EndpointNotAllowed,
    /// A portal answer was larger than `portal.maxResponseBytes` (or a list had too many pages).
    ResponseTooLarge,
    /// The portal refused the credentials (401).
    Unauthorized,
    /// The caller lacks a right in the portal (403).
    Forbidden,
    /// The contract or another portal object does not exist.
    NotFound,
    /// A referenced object in the cluster (a CloudContract) does not exist or is not ready.
    ReferenceNotFound,
    /// A referenced CloudContract exists but was never reconciled yet: the dependent waits quietly
    /// (no Event, no failed condition; only `Reconciling=True`, once per generation) and is
    /// requeued when the contract becomes Ready or fails.
    ReferencePending,
    /// Another object claims the same portal resource.
    Conflict,
    /// Another CloudContract claims the same contract id.
    DuplicateContract,
    /// The spec is valid for the API server but not for the portal.
    InvalidSpec,
    /// A ServiceOrder names a catalog item the contract's catalog does not have.
    UnknownCatalogItem,
    /// A ServiceOrder's parameters are missing, unknown or not among the allowed values.
    InvalidParameters,
    /// The portal asked us to slow down (429).
    RateLimited,
    /// The portal is unavailable (5xx, connection refused).
    Unavailable,
    /// A call to the portal timed out.
    Timeout,
    /// The Kubernetes API failed.
    Kubernetes,
    /// Email could not be sent.
    EmailFailed,
    /// Email is held by the namespace's email limit (`smtp.emailRateLimit`); it is sent, in the
    /// order it was held, as the limit allows.
    EmailHeld,
    /// Anything else; a bug if seen.
    Internal,
}

impl Category {
    /// The PascalCase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SecretNotFound => "SecretNotFound",
            Self::SecretInvalid => "SecretInvalid",
            Self::SecretNotMarked => "SecretNotMarked",
            Self::EndpointNotAllowed => "EndpointNotAllowed",
            Self::ResponseTooLarge => "ResponseTooLarge",
            Self::Unauthorized => "Unauthorized",
            Self::Forbidden => "Forbidden",
            Self::NotFound => "NotFound",
            Self::ReferenceNotFound => "ReferenceNotFound",
            Self::ReferencePending => "ReferencePending",
            Self::Conflict => "Conflict",
            Self::DuplicateContract => "DuplicateContract",
            Self::InvalidSpec => "InvalidSpec",
            Self::UnknownCatalogItem => "UnknownCatalogItem",
            Self::InvalidParameters => "InvalidParameters",
            Self::RateLimited => "RateLimited",
            Self::Unavailable => "Unavailable",
            Self::Timeout => "Timeout",
            Self::Kubernetes => "Kubernetes",
            Self::EmailFailed => "EmailFailed",
            Self::EmailHeld => "EmailHeld",
            Self::Internal => "Internal",
        }
    }

    /// Whether a failure of this category is a normal, short wait rather than something to report:
    /// no Event, no failed condition, no error metric.
    pub fn is_quiet(self) -> bool {
        self == Self::ReferencePending
    }

    /// Whether errors of this category wait for a change (spec, Secret, referenced object) rather than
    /// being retried with backoff. Terminal errors are still re-checked at the slow resync.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::SecretNotFound
                | Self::SecretInvalid
                | Self::SecretNotMarked
                | Self::EndpointNotAllowed
                | Self::ResponseTooLarge
                | Self::Unauthorized
                | Self::Forbidden
                | Self::NotFound
                | Self::ReferenceNotFound
                | Self::Conflict
                | Self::DuplicateContract
                | Self::InvalidSpec
                | Self::UnknownCatalogItem
                | Self::InvalidParameters
        )
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reconcile failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{category}: {message}")]
pub struct ReconcileError {
    /// What went wrong.
    pub category: Category,
    /// For people: the field or external cause, and what to do. Never a secret.
    pub message: String,
}

impl ReconcileError {
    /// A new error; messages longer than 1 kB are cut (they end up in conditions and events).
    pub fn new(category: Category, message: impl Into<String>) -> Self {
        let mut message = message.into();
        if message.len() > 1024 {
            let mut cut = 1021;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str("...");
        }
        Self { category, message }
    }

    /// Whether retrying with backoff can help.
    pub fn is_terminal(&self) -> bool {
        self.category.is_terminal()
    }
}

impl From<kube::Error> for ReconcileError {
    fn from(err: kube::Error) -> Self {
        Self::new(Category::Kubernetes, format!("Kubernetes API: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_on_a_char_boundary() {
        let err = ReconcileError::new(Category::Internal, "é".repeat(1000));
        assert!(err.message.len() <= 1024);
        assert!(err.message.ends_with("..."));
    }

    #[test]
    fn authorization_and_spec_errors_are_terminal_transport_errors_are_not() {
        assert!(Category::Forbidden.is_terminal());
        assert!(Category::SecretNotFound.is_terminal());
        assert!(!Category::Unavailable.is_terminal());
        assert!(!Category::RateLimited.is_terminal());
        assert_eq!(Category::DuplicateContract.to_string(), "DuplicateContract");
    }
}
