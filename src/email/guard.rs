//! What keeps the operator from being an open mail relay: recipients only in the allowed
//! domains (`smtp.allowedRecipientDomains`), and at most `smtp.maxEmailsPerNamespacePerHour`
//! emails per namespace. A refused or held email is an error naming the setting, so the object's
//! condition says why; held emails are retried with the object's backoff.

use super::{Email, EmailError, Mailer};
use futures::future::BoxFuture;
use governor::{DefaultKeyedRateLimiter, Quota};
use std::num::NonZeroU32;
use std::sync::Arc;

/// Finds the namespace of the object an email is about (from the uid in its Message-ID).
pub type NamespaceOf = Box<dyn Fn(&Email) -> Option<String> + Send + Sync>;

/// A [`Mailer`] that checks recipients and rates before handing the email on.
pub struct GuardedMailer {
    inner: Arc<dyn Mailer>,
    domains: Vec<String>,
    per_namespace: Option<(DefaultKeyedRateLimiter<String>, u32)>,
    namespace_of: NamespaceOf,
}

impl GuardedMailer {
    /// Wraps `inner`; empty `domains` allows any domain; `per_hour` 0 disables the rate limit.
    pub fn new(inner: Arc<dyn Mailer>, domains: &[String], per_hour: u32, namespace_of: NamespaceOf) -> Self {
        let per_namespace =
            NonZeroU32::new(per_hour).map(|n| (DefaultKeyedRateLimiter::keyed(Quota::per_hour(n)), per_hour));
        Self {
            inner,
            domains: domains
                .iter()
                .map(|d| d.trim().trim_start_matches('.').to_ascii_lowercase())
                .collect(),
            per_namespace,
            namespace_of,
        }
    }

    /// Refuses a recipient outside the allowed domains (naming the domain, not the address).
    fn check_domains(&self, email: &Email) -> Result<(), EmailError> {
        if self.domains.is_empty() {
            return Ok(());
        }
        for to in &email.to {
            let domain = to.rsplit('@').next().unwrap_or_default().to_ascii_lowercase();
            let allowed = self
                .domains
                .iter()
                .any(|d| domain == *d || domain.ends_with(&format!(".{d}")));
            if !allowed {
                return Err(EmailError::Invalid(format!(
                    "recipient domain {domain} is not in smtp.allowedRecipientDomains ({}); remove the recipient or ask the operator's administrators to allow the domain",
                    self.domains.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// Holds an email over the namespace's hourly budget.
    fn check_rate(&self, email: &Email) -> Result<(), EmailError> {
        let Some((limiter, per_hour)) = &self.per_namespace else {
            return Ok(());
        };
        let namespace = (self.namespace_of)(email).unwrap_or_default();
        limiter.check_key(&namespace).map_err(|_| {
            EmailError::Delivery(format!(
                "namespace email limit reached (smtp.maxEmailsPerNamespacePerHour: {per_hour}); the email is held and retried later"
            ))
        })?;
        if limiter.len() > 10_000 {
            limiter.retain_recent();
        }
        Ok(())
    }
}

impl Mailer for GuardedMailer {
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), EmailError>> {
        Box::pin(async move {
            self.check_domains(email)?;
            self.check_rate(email)?;
            self.inner.send(email).await
        })
    }
}

/// The first object uid (a UUID) in a Message-ID, such as `<uid>/2026-11/half@ccs-operator`.
pub fn uid_in_message_id(message_id: &str) -> Option<&str> {
    let bytes = message_id.as_bytes();
    (0..bytes.len().saturating_sub(35)).find_map(|i| {
        let candidate = message_id.get(i..i + 36)?;
        let is_uuid = candidate.char_indices().all(|(j, c)| match j {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
        is_uuid.then_some(candidate)
    })
}

#[cfg(test)]
mod tests {
    use super::super::EmailKind;
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Sent(Mutex<Vec<String>>);
    impl Mailer for Sent {
        fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), EmailError>> {
            self.0.lock().expect("lock").push(email.message_id.clone());
            Box::pin(async { Ok(()) })
        }
    }

    fn email(to: &str, id: &str) -> Email {
        Email {
            kind: EmailKind::Budget,
            to: vec![to.into()],
            subject: "s".into(),
            text: "t".into(),
            html: "h".into(),
            message_id: id.into(),
        }
    }

    #[tokio::test]
    async fn recipients_outside_the_domains_are_refused_and_namespaces_are_limited() {
        let sent = Arc::new(Sent::default());
        let namespace_of: NamespaceOf = Box::new(|e| Some(e.message_id.chars().take(1).collect()));
        let guard = GuardedMailer::new(sent.clone(), &["acme.example".into()], 2, namespace_of);
        let err = guard.send(&email("x@evil.example", "a1")).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("evil.example is not in smtp.allowedRecipientDomains"),
            "{err}"
        );
        assert!(!err.to_string().contains("x@"), "{err}");
        guard
            .send(&email("x@ops.acme.example", "a2"))
            .await
            .expect("subdomain");
        guard.send(&email("x@acme.example", "a3")).await.expect("second");
        let err = guard.send(&email("x@acme.example", "a4")).await.unwrap_err();
        assert!(err.to_string().contains("maxEmailsPerNamespacePerHour"), "{err}");
        guard
            .send(&email("x@acme.example", "b1"))
            .await
            .expect("another namespace");
        assert_eq!(sent.0.lock().expect("lock").len(), 3);
    }

    #[test]
    fn the_uid_is_found_in_every_message_id_shape() {
        let uid = "0f8c2a4e-1b2c-4d5e-8f90-123456789abc";
        for id in [
            format!("{uid}/2026-11/half@ccs-operator"),
            format!("order/{uid}/Completed@ccs-operator"),
            format!("incident.{uid}.INC-1@x"),
        ] {
            assert_eq!(uid_in_message_id(&id), Some(uid));
        }
        assert_eq!(uid_in_message_id("nothing@here"), None);
    }
}
