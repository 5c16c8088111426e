//! The last gate before an email leaves: only while this replica leads, and never twice the same
//! Message-ID within a day.
//!
//! Every controller records what it is about to send before sending, and what it sent after. When
//! that second status write fails, the retry finds the email still due; this gate remembers the
//! Message-IDs that went out, so the retry records it without sending it again. After a restart the
//! memory is empty: a crash between the send and the record causes at most one duplicate, with
//! the same Message-ID.

use super::{Email, EmailError, Mailer};
use crate::runtime::leader::Leadership;
use futures::future::BoxFuture;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a Message-ID that went out is remembered.
pub const REMEMBERED_FOR: Duration = Duration::from_secs(24 * 3600);
/// Most Message-IDs remembered (the oldest are forgotten first).
const MAX_REMEMBERED: usize = 100_000;

#[derive(Default)]
struct Sent {
    at: HashMap<String, Instant>,
    order: VecDeque<(Instant, String)>,
}

impl Sent {
    fn forget_old(&mut self, now: Instant) {
        while let Some((when, id)) = self.order.front() {
            let expired = now.saturating_duration_since(*when) >= REMEMBERED_FOR;
            if !expired && self.order.len() <= MAX_REMEMBERED {
                break;
            }
            if self.at.get(id) == Some(when) {
                self.at.remove(id);
            }
            self.order.pop_front();
        }
    }
}

/// A [`Mailer`] that sends only while this replica leads, and each Message-ID once.
pub struct OnceMailer {
    inner: Arc<dyn Mailer>,
    leader: Leadership,
    sent: Mutex<Sent>,
}

impl OnceMailer {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Mailer>, leader: Leadership) -> Self {
        Self {
            inner,
            leader,
            sent: Mutex::new(Sent::default()),
        }
    }

    fn already_sent(&self, id: &str) -> bool {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.forget_old(Instant::now());
        sent.at.contains_key(id)
    }

    fn record(&self, id: &str) {
        let now = Instant::now();
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.at.insert(id.to_string(), now);
        sent.order.push_back((now, id.to_string()));
        sent.forget_old(now);
    }
}

impl Mailer for OnceMailer {
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), EmailError>> {
        Box::pin(async move {
            if !self.leader.is_leader() {
                return Err(EmailError::Delivery(
                    "this replica lost the leader lease; the new leader sends the email".into(),
                ));
            }
            if self.already_sent(&email.message_id) {
                tracing::debug!(
                    kind = email.kind.as_str(),
                    "email already sent by this process; recorded, not sent again"
                );
                return Ok(());
            }
            let result = self.inner.send(email).await;
            if EmailError::was_delivered(&result) {
                self.record(&email.message_id);
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::EmailKind;
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts sends; refuses a recipient at `refused.example`.
    #[derive(Default)]
    struct Counting(AtomicUsize);
    impl Mailer for Counting {
        fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), EmailError>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            let refused = email.to.iter().any(|t| t.ends_with("@refused.example"));
            Box::pin(async move {
                if refused {
                    Err(EmailError::Refused {
                        domains: vec!["refused.example".into()],
                        delivered: 1,
                    })
                } else {
                    Ok(())
                }
            })
        }
    }

    fn email(id: &str, to: &str) -> Email {
        Email {
            kind: EmailKind::Incident,
            to: vec![to.into()],
            subject: "s".into(),
            text: "t".into(),
            html: "h".into(),
            message_id: id.into(),
        }
    }

    #[tokio::test]
    async fn a_message_id_leaves_once_and_nothing_leaves_after_the_lease_is_lost() {
        let inner = Arc::new(Counting::default());
        let leader = Leadership::default();
        let once = OnceMailer::new(inner.clone(), leader.clone());
        once.send(&email("a@x", "ops@acme.example")).await.expect("sent");
        once.send(&email("a@x", "ops@acme.example"))
            .await
            .expect("a retry after a failed status write is recorded as sent");
        assert_eq!(inner.0.load(Ordering::SeqCst), 1, "sent once");
        let refused = once.send(&email("b@x", "ops@refused.example")).await;
        assert!(EmailError::was_delivered(&refused), "{refused:?}");
        once.send(&email("b@x", "ops@refused.example"))
            .await
            .expect("a refusal is not retried");
        assert_eq!(inner.0.load(Ordering::SeqCst), 2);

        leader.lose();
        let err = once.send(&email("c@x", "ops@acme.example")).await.unwrap_err();
        assert!(err.to_string().contains("leader"), "{err}");
        assert_eq!(inner.0.load(Ordering::SeqCst), 2, "nothing sent after the loss");
    }

    #[test]
    fn old_message_ids_are_forgotten() {
        let mut sent = Sent::default();
        let long_ago = Instant::now();
        sent.at.insert("old".into(), long_ago);
        sent.order.push_back((long_ago, "old".into()));
        sent.forget_old(long_ago + REMEMBERED_FOR + Duration::from_secs(1));
        assert!(sent.at.is_empty() && sent.order.is_empty());
    }
}
