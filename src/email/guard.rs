//! What keeps the operator from being an open mail relay: recipients only in the allowed
//! domains (`smtp.allowedRecipientDomains`), and at most `smtp.emailRateLimit.perNamespace`
//! emails per namespace and `period`.
//!
//! An email over the limit is held: it joins its namespace's queue, and the error (the object's
//! condition) says so, with its place in the queue. The object retries as usual (its reconcile
//! records what is due before sending); each time the limit allows one more email, only the first
//! of the queue may take it, so held emails leave in the order they were first held, and an email
//! never held waits behind them. A held email not asked for again within [`FORGET_HELD_AFTER`]
//! (its object was deleted, or no longer wants it) leaves the queue, so it cannot block the rest.

use super::{Email, EmailError, Mailer};
use crate::config::EmailRateLimit;
use futures::future::BoxFuture;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the message of a held email starts (see [`is_held`]).
pub const HELD: &str = "held by the namespace email limit";

/// A held email whose object did not ask for it again within this long leaves the queue (well
/// above the longest retry delay of a failing reconcile).
pub const FORGET_HELD_AFTER: Duration = Duration::from_secs(20 * 60);

/// Emails held per namespace at most; more are refused for now (and retried) without a place.
pub const MAX_HELD_PER_NAMESPACE: usize = 1000;

/// Namespaces tracked before the idle ones (no queue, full budget) are swept.
const SWEEP_ABOVE: usize = 1024;

/// Finds the namespace of the object an email is about (from the uid in its Message-ID).
pub type NamespaceOf = Box<dyn Fn(&Email) -> Option<String> + Send + Sync>;

/// Whether `err` is an email held by the namespace limit (not a failure: it will be sent).
pub fn is_held(err: &EmailError) -> bool {
    matches!(err, EmailError::Delivery(m) if m.starts_with(HELD))
}

/// The message of a held email (without the generic delivery prefix), if `err` is one.
pub fn held_message(err: &EmailError) -> Option<&str> {
    match err {
        EmailError::Delivery(m) if m.starts_with(HELD) => Some(m),
        _ => None,
    }
}

/// One held email.
#[derive(Debug)]
struct Held {
    message_id: String,
    last_asked: Instant,
}

/// A namespace's budget (a token bucket: a burst of `per_namespace`, then one every
/// `period / per_namespace`) and its queue of held emails.
#[derive(Debug)]
struct Namespace {
    tokens: f64,
    updated: Instant,
    queue: VecDeque<Held>,
}

/// Why an email waits.
#[derive(Debug, PartialEq)]
struct Holding {
    /// Its place in the queue (0: next), if it has one.
    place: Option<usize>,
    /// Emails in the queue.
    queued: usize,
    /// About how long until its turn.
    wait: Duration,
}

/// The per-namespace limit with ordered holding.
struct Limit {
    config: EmailRateLimit,
    namespaces: Mutex<HashMap<String, Namespace>>,
    swept_len: std::sync::atomic::AtomicUsize,
}

impl Limit {
    fn per_token(&self) -> f64 {
        self.config.period.as_secs_f64() / f64::from(self.config.per_namespace)
    }

    fn burst(&self) -> f64 {
        f64::from(self.config.per_namespace)
    }

    fn refill(&self, ns: &mut Namespace, now: Instant) {
        let earned = now.saturating_duration_since(ns.updated).as_secs_f64() / self.per_token();
        ns.tokens = (ns.tokens + earned).min(self.burst());
        ns.updated = now;
    }

    /// Takes the namespace's next slot for `message_id` if it is its turn, or holds it.
    fn admit(&self, namespace: &str, message_id: &str, now: Instant) -> Result<(), Holding> {
        let mut namespaces = self.namespaces.lock().unwrap_or_else(|p| p.into_inner());
        self.sweep(&mut namespaces, now);
        let ns = namespaces
            .entry(namespace.to_string())
            .or_insert_with(|| Namespace {
                tokens: self.burst(),
                updated: now,
                queue: VecDeque::new(),
            });
        self.refill(ns, now);
        ns.queue
            .retain(|h| now.saturating_duration_since(h.last_asked) <= FORGET_HELD_AFTER);
        let place = ns.queue.iter().position(|h| h.message_id == message_id);
        let its_turn = match place {
            Some(p) => p == 0,
            None => ns.queue.is_empty(),
        };
        if its_turn && ns.tokens >= 1.0 {
            ns.tokens -= 1.0;
            if place.is_some() {
                ns.queue.pop_front();
            }
            return Ok(());
        }
        let place = match place {
            Some(p) => {
                if let Some(held) = ns.queue.get_mut(p) {
                    held.last_asked = now;
                }
                Some(p)
            }
            None if ns.queue.len() < MAX_HELD_PER_NAMESPACE => {
                ns.queue.push_back(Held {
                    message_id: message_id.to_string(),
                    last_asked: now,
                });
                Some(ns.queue.len() - 1)
            }
            None => None,
        };
        let ahead = place.unwrap_or(ns.queue.len()) as f64;
        let wait = ((ahead + 1.0 - ns.tokens).max(0.0)) * self.per_token();
        Err(Holding {
            place,
            queued: ns.queue.len(),
            wait: Duration::try_from_secs_f64(wait).unwrap_or(Duration::MAX),
        })
    }

    /// The email could not be delivered after all: the slot is given back and the email keeps the
    /// head of the queue (it was first in line).
    fn undo(&self, namespace: &str, message_id: &str, now: Instant) {
        let mut namespaces = self.namespaces.lock().unwrap_or_else(|p| p.into_inner());
        let Some(ns) = namespaces.get_mut(namespace) else {
            return;
        };
        ns.tokens = (ns.tokens + 1.0).min(self.burst());
        if !ns.queue.is_empty() && !ns.queue.iter().any(|h| h.message_id == message_id) {
            ns.queue.push_front(Held {
                message_id: message_id.to_string(),
                last_asked: now,
            });
        }
    }

    /// Drops namespaces with nothing held and a full budget (they hold no information) once the
    /// map has doubled since the last sweep.
    fn sweep(&self, namespaces: &mut HashMap<String, Namespace>, now: Instant) {
        use std::sync::atomic::Ordering;
        let swept = self.swept_len.load(Ordering::Relaxed);
        if namespaces.len() <= SWEEP_ABOVE.max(swept.saturating_mul(2)) {
            return;
        }
        namespaces.retain(|_, ns| {
            self.refill(ns, now);
            ns.queue
                .retain(|h| now.saturating_duration_since(h.last_asked) <= FORGET_HELD_AFTER);
            !ns.queue.is_empty() || ns.tokens < self.burst()
        });
        self.swept_len.store(namespaces.len(), Ordering::Relaxed);
    }

    /// The error of a held email.
    fn held_error(&self, holding: &Holding) -> EmailError {
        let EmailRateLimit {
            per_namespace,
            period,
        } = self.config;
        let period = humantime::format_duration(period);
        let place = match holding.place {
            Some(p) => format!("place {} of {} in this namespace's queue", p + 1, holding.queued),
            None => format!("the namespace's queue is full ({} emails)", holding.queued),
        };
        EmailError::Delivery(format!(
            "{HELD} (smtp.emailRateLimit: {per_namespace} per {period}): {place}, due in about {}s; held emails are sent in the order they were held",
            holding.wait.as_secs().max(1)
        ))
    }
}

/// A [`Mailer`] that checks recipients and rates before handing the email on.
pub struct GuardedMailer {
    inner: Arc<dyn Mailer>,
    domains: Vec<String>,
    limit: Option<Limit>,
    namespace_of: NamespaceOf,
}

impl GuardedMailer {
    /// Wraps `inner`; empty `domains` allows any domain; `limit.perNamespace` 0 disables the limit.
    pub fn new(
        inner: Arc<dyn Mailer>,
        domains: &[String],
        limit: EmailRateLimit,
        namespace_of: NamespaceOf,
    ) -> Self {
        let limit = (limit.per_namespace > 0 && !limit.period.is_zero()).then(|| Limit {
            config: limit,
            namespaces: Mutex::default(),
            swept_len: Default::default(),
        });
        Self {
            inner,
            domains: domains
                .iter()
                .map(|d| d.trim().trim_start_matches('.').to_ascii_lowercase())
                .collect(),
            limit,
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
}

impl Mailer for GuardedMailer {
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), EmailError>> {
        Box::pin(async move {
            self.check_domains(email)?;
            let Some(limit) = &self.limit else {
                return self.inner.send(email).await;
            };
            let namespace = (self.namespace_of)(email).unwrap_or_default();
            limit
                .admit(&namespace, &email.message_id, Instant::now())
                .map_err(|holding| limit.held_error(&holding))?;
            let sent = self.inner.send(email).await;
            if sent.is_err() {
                limit.undo(&namespace, &email.message_id, Instant::now());
            }
            sent
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

    fn limit(per_namespace: u32, secs: u64) -> EmailRateLimit {
        EmailRateLimit {
            per_namespace,
            period: Duration::from_secs(secs),
        }
    }

    #[tokio::test]
    async fn recipients_outside_the_domains_are_refused_and_namespaces_are_limited() {
        let sent = Arc::new(Sent::default());
        let namespace_of: NamespaceOf = Box::new(|e| Some(e.message_id.chars().take(1).collect()));
        let guard = GuardedMailer::new(
            sent.clone(),
            &["acme.example".into()],
            limit(2, 3600),
            namespace_of,
        );
        let err = guard.send(&email("x@evil.example", "a1")).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("evil.example is not in smtp.allowedRecipientDomains"),
            "{err}"
        );
        assert!(!err.to_string().contains("x@"), "{err}");
        assert!(!is_held(&err));
        guard
            .send(&email("x@ops.acme.example", "a2"))
            .await
            .expect("subdomain");
        guard.send(&email("x@acme.example", "a3")).await.expect("second");
        let err = guard.send(&email("x@acme.example", "a4")).await.unwrap_err();
        assert!(is_held(&err), "{err}");
        let message = held_message(&err).expect("held");
        assert!(
            message.contains("smtp.emailRateLimit: 2 per 1h") && message.contains("place 1 of 1"),
            "{message}"
        );
        guard
            .send(&email("x@acme.example", "b1"))
            .await
            .expect("another namespace");
        assert_eq!(sent.0.lock().expect("lock").len(), 3);
    }

    fn ordered(per_namespace: u32, secs: u64) -> Limit {
        Limit {
            config: limit(per_namespace, secs),
            namespaces: Mutex::default(),
            swept_len: Default::default(),
        }
    }

    #[test]
    fn a_burst_over_the_limit_is_held_then_admitted_in_the_order_it_was_held() {
        // 2 per 10s: a burst of 2, then one every 5s.
        let limit = ordered(2, 10);
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        assert!(limit.admit("team", "e1", t0).is_ok());
        assert!(limit.admit("team", "e2", t0).is_ok());
        for (i, id) in ["e3", "e4", "e5"].iter().enumerate() {
            let held = limit.admit("team", id, t0).unwrap_err();
            assert_eq!(held.place, Some(i));
            assert_eq!(held.queued, i + 1);
            assert_eq!(held.wait, Duration::from_secs(5 * (i as u64 + 1)));
        }
        // One slot at 5s: the later emails ask first, but the first held takes it.
        assert_eq!(limit.admit("team", "e5", at(5)).unwrap_err().place, Some(2));
        assert_eq!(limit.admit("team", "e4", at(5)).unwrap_err().place, Some(1));
        assert!(limit.admit("team", "e3", at(6)).is_ok());
        // A new email waits behind the held ones, even with a slot free.
        assert!(limit.admit("team", "e4", at(9)).is_err(), "no slot yet");
        assert_eq!(limit.admit("team", "e6", at(11)).unwrap_err().place, Some(2));
        assert!(limit.admit("team", "e4", at(11)).is_ok());
        assert!(limit.admit("team", "e6", at(16)).is_err(), "e5 is before it");
        assert!(limit.admit("team", "e5", at(16)).is_ok());
        assert!(limit.admit("team", "e6", at(21)).is_ok());
        // Another namespace has its own budget and queue.
        assert!(limit.admit("other", "o1", at(21)).is_ok());
    }

    #[test]
    fn a_held_email_nobody_asks_for_stops_blocking_the_queue() {
        let limit = ordered(1, 10);
        let t0 = Instant::now();
        assert!(limit.admit("team", "sent", t0).is_ok());
        assert!(limit.admit("team", "deleted", t0).is_err());
        let later = t0 + FORGET_HELD_AFTER;
        assert_eq!(limit.admit("team", "next", later).unwrap_err().place, Some(1));
        let much_later = later + Duration::from_secs(60);
        assert!(
            limit.admit("team", "next", much_later).is_ok(),
            "the email nobody asked for again left the queue"
        );
    }

    #[test]
    fn an_undelivered_email_keeps_its_turn_and_its_slot() {
        let limit = ordered(1, 10);
        let t0 = Instant::now();
        assert!(limit.admit("team", "first", t0).is_ok());
        assert!(limit.admit("team", "second", t0).is_err());
        assert!(limit.admit("team", "third", t0).is_err());
        let t1 = t0 + Duration::from_secs(10);
        assert!(limit.admit("team", "second", t1).is_ok());
        // The SMTP server refused it: it is first again, and the slot is back.
        limit.undo("team", "second", t1);
        assert!(limit.admit("team", "third", t1).is_err());
        assert!(limit.admit("team", "second", t1).is_ok());
    }

    #[test]
    fn idle_namespaces_are_swept() {
        // One email per second and namespace: a namespace is idle again a second after its email.
        let limit = ordered(1, 1);
        let t0 = Instant::now();
        for i in 0..20_000u64 {
            let _ = limit.admit(&format!("ns-{i}"), "e", t0 + Duration::from_millis(10 * i));
        }
        let tracked = limit.namespaces.lock().expect("lock").len();
        assert!(tracked <= SWEEP_ABOVE + 1, "{tracked} namespaces tracked");
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
