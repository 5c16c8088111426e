//! What every reconcile shares: clients, configuration, metrics, the event recorder, the mailer,
//! portal clients and the per-contract snapshot cache.

use super::common::backoff::Backoff;
use super::common::report::WrittenVersions;
use super::portal_access::PortalAccess;
use super::stores::Stores;
use crate::config::OperatorConfig;
use crate::controllers::common::events::Recorder;
use crate::email::Mailer;
use crate::email::guard::GuardedMailer;
use crate::email::once::OnceMailer;
use crate::metrics::Metrics;
use crate::runtime::leader::Leadership;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

/// Shared state of the controllers.
pub struct Context {
    /// Kubernetes client.
    pub client: kube::Client,
    /// Operator configuration.
    pub config: OperatorConfig,
    /// Metrics.
    pub metrics: Metrics,
    /// The one event recorder (so repeated events fold into one Event's series).
    pub recorder: Recorder,
    /// Outgoing email.
    pub mailer: Arc<dyn Mailer>,
    /// Portal clients per credentials and the shared read cache.
    pub portal: PortalAccess,
    /// Console (IAM) clients per credentials.
    pub console: super::console_access::access::ConsoleClients,
    /// Per-object backoff of failing reconciles.
    pub backoff: Backoff,
    /// Per-object retries while a referenced CloudContract is not reconciled yet: short, since the
    /// wait is normally brief and checks only the cache.
    pub pending_backoff: Backoff,
    /// Reflector caches of every kind, filled as the controllers start.
    pub stores: Stores,
    /// Versions produced by our status writes (see [`WrittenVersions`]).
    pub written: WrittenVersions,
    /// Whether this replica holds the leader lease: checked before every portal write and email.
    pub leader: Leadership,
    /// BillingExport destinations and metrics.
    pub billing: crate::billing::BillingShared,
}

impl Context {
    /// Builds the context; the portal clients share one HTTP pool, rate limiter and metrics.
    pub fn new(
        client: kube::Client,
        config: OperatorConfig,
        metrics: Metrics,
        mailer: Arc<dyn Mailer>,
    ) -> anyhow::Result<Arc<Self>> {
        let portal = PortalAccess::new(&config, &metrics.registry)?;
        let console = super::console_access::access::ConsoleClients::new(&config, &metrics.registry)?;
        let billing = crate::billing::BillingShared::new(&config.billing, &metrics.registry)?;
        let recorder = Recorder::new(client.clone(), "ccs-operator");
        let stores = Stores::default();
        let smtp = &config.smtp;
        if smtp.allowed_recipient_domains.is_empty() {
            tracing::warn!(
                "smtp.allowedRecipientDomains is empty: any domain may receive the operator's emails; list your domains to close the relay"
            );
        }
        let mailer: Arc<dyn Mailer> = Arc::new(GuardedMailer::new(
            mailer,
            &smtp.allowed_recipient_domains,
            smtp.email_rate_limit,
            stores.namespace_of_email(),
        ));
        let leader = Leadership::default();
        let mailer: Arc<dyn Mailer> = Arc::new(OnceMailer::new(mailer, leader.clone()));
        Ok(Arc::new(Self {
            client,
            config,
            metrics,
            recorder,
            mailer,
            portal,
            console,
            backoff: Backoff::new(Duration::from_secs(2), Duration::from_secs(300)),
            pending_backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(5)),
            stores,
            written: WrittenVersions::default(),
            leader,
            billing,
        }))
    }

    /// Whether this replica may start a side effect (a portal write, an email): false once the
    /// leader lease is lost, while reconciles that were in flight wind down. Logs the refusal.
    pub fn leading(&self, what: &str) -> bool {
        let leading = self.leader.is_leader();
        if !leading {
            tracing::info!("lost the leader lease: {what} left to the new leader");
        }
        leading
    }

    /// The current time (one place, so tests reason about it).
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
