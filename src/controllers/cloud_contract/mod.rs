//! CloudContract controller: the portal's view of a contract into status, the declared referent
//! into the portal, incident emails to the declared recipients.
//!
//! Pipeline: dereference (Secret, duplicate claims) -> observe (one shared dashboard read) ->
//! plan (pure, [`plan::plan`]) -> apply (referent change, emails) -> status.

pub mod plan;

use super::common::annotations;
use super::common::conditions;
use super::common::driver::{ConditionedStatus, Reconciled, jitter, not_due, opening};
use super::common::health;
use super::common::report::{apply_status, event, stored_status};
use super::common::{Category, ReconcileError};
use super::context::Context;
use super::portal_access::{RequestSummary, portal_error};
use crate::api::cloud_contract::{CloudContract, CloudContractStatus};
use crate::config::ControllersConfig;
use crate::email::EmailError;
use crate::email::templates::{IncidentFacts, IncidentLine, incident_email, incident_summary_email};
use crate::portal::{ErrorCategory, ReferentChange};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt};
use std::future::Future;
use std::sync::Arc;

crate::status_header!(CloudContractStatus, last_sync_time);

impl ConditionedStatus for CloudContractStatus {
    fn on_error(
        &mut self,
        err: &ReconcileError,
        generation: Option<i64>,
        now: chrono::DateTime<chrono::Utc>,
    ) {
        if matches!(
            err.category,
            Category::Unauthorized
                | Category::SecretNotFound
                | Category::SecretInvalid
                | Category::SecretNotMarked
                | Category::EndpointNotAllowed
        ) {
            let reason = err.category.as_str();
            conditions::on(&mut self.conditions, generation, now).set(
                "CredentialsValid",
                Some(false),
                reason,
                &err.message,
            );
        }
    }
}

impl Reconciled for CloudContract {
    const KIND: &'static str = "CloudContract";

    fn configured_poll(config: &ControllersConfig) -> std::time::Duration {
        config.cloud_contract.poll_interval
    }

    fn run(obj: Arc<Self>, ctx: Arc<Context>) -> impl Future<Output = Result<Action, ReconcileError>> + Send {
        run(obj, ctx)
    }
}

async fn run(obj: Arc<CloudContract>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let Some(poll) = opening(obj.as_ref(), &ctx)? else {
        return Ok(Action::await_change());
    };
    let now = ctx.now();
    let previous = obj.status.clone().unwrap_or_default();
    let requested = annotations::reconcile_requested_at(obj.as_ref());
    if let Some(requeue) = not_due(obj.as_ref(), &previous, poll, now) {
        return Ok(requeue);
    }

    // Observe.
    let client = ctx.portal.client_for(&ctx.client, &obj).await?;
    let endpoint = ctx.portal.endpoint_of(&obj);
    let contract_id = &obj.spec.contract_id;
    // The open requests are read alongside the dashboard: one portal latency for both.
    let (snapshot, requests) = tokio::join!(
        ctx.portal.snapshot(client.as_ref(), &endpoint, contract_id, poll),
        open_requests(&ctx, client.as_ref(), contract_id, poll)
    );
    let snapshot = snapshot
        .inspect_err(|e| {
            if matches!(
                e.category,
                ErrorCategory::Unauthorized | ErrorCategory::Forbidden | ErrorCategory::NotFound
            ) {
                ctx.portal.claims.forget(&obj);
            }
        })
        .map_err(|e| match e.category {
            ErrorCategory::NotFound => ReconcileError::new(
                Category::NotFound,
                format!("spec.contractId: contract {contract_id} does not exist or is not visible with these credentials; check the id"),
            ),
            _ => portal_error(e, &format!("reading contract {contract_id}")),
        })?;
    // These credentials read the contract: the claim is proven. The oldest proven claim holds it.
    ctx.portal.claims.prove(&obj);
    check_duplicate(&obj, &ctx)?;

    // As stored, not as cached, before any side effect: a cache behind our last write would
    // email again incidents already recorded, and the write below would roll their record back.
    let api: Api<CloudContract> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    let Some(previous) = stored_status(&ctx.written, &api, obj.as_ref()).await? else {
        return Ok(Action::await_change());
    };

    // Plan.
    let plan = plan::plan(&obj.spec, &previous, &snapshot.dashboard);
    let mut status = plan.observed.clone();
    status.requests = requests;
    if ctx.config.web.listen.is_some() {
        warm_catalog(&ctx, client.as_ref(), contract_id, poll).await;
    }

    // Apply.
    for action in &plan.actions {
        match action {
            plan::ContractAction::ChangeReferent {
                email,
                remove_previous,
            } => {
                if !ctx.leading("the referent change") {
                    return Ok(Action::await_change());
                }
                let change = ReferentChange {
                    new_referent_email: email.clone(),
                    remove_previous_referent_access: *remove_previous,
                };
                let contract = client.change_referent(contract_id, &change).await.map_err(|e| {
                    portal_error(
                        e,
                        &format!("changing the referent of {contract_id} to {email} (spec.referent)"),
                    )
                })?;
                ctx.portal.invalidate(client.as_ref(), &endpoint, contract_id);
                status.referent = Some(contract.referent.email.clone());
                let note = format!("referent of {contract_id} changed to {email}");
                event(
                    &ctx.recorder,
                    obj.as_ref(),
                    EventType::Normal,
                    "ReferentChanged",
                    "ChangeReferent",
                    note,
                );
            }
        }
    }

    // Status.
    let generation = obj.metadata.generation;
    status.conditions = previous.conditions.clone();
    status.observed_generation = generation;
    status.last_handled_reconcile_at = requested;
    status.last_sync_time = Some(crate::controllers::common::timestamp(now));
    let summary = format!(
        "contract {contract_id} ({}) observed: weather {:?}, {} open incident(s)",
        status.contract_name.as_deref().unwrap_or_default(),
        status
            .weather
            .unwrap_or(crate::api::cloud_contract::Weather::Unknown),
        status.incidents.as_ref().map_or(0, |i| i.open)
    );
    let summary = annotations::with_poll_interval_note(obj.as_ref(), summary);
    let (synced, synced_reason, synced_message) = match &plan.drift {
        Some(drift) => (false, "ObserveOnlyDrift", drift.as_str()),
        None => (true, "Synced", "the portal matches the spec"),
    };
    conditions::on(&mut status.conditions, generation, now)
        .set(
            "CredentialsValid",
            Some(true),
            "Accepted",
            "the portal accepted the credentials",
        )
        .set("Synced", Some(synced), synced_reason, synced_message)
        .set("Ready", Some(true), "Observed", &summary);
    health::set(&mut status.conditions, generation, now, &health::Progress::Done);
    let incidents = &plan.incidents;
    if incidents.untracked > 0 {
        let note = format!(
            "{} incident(s) not emailed: the incident memory holds {} incidents already",
            incidents.untracked,
            crate::api::cloud_contract::MAX_NOTIFIED_INCIDENTS
        );
        event(
            &ctx.recorder,
            obj.as_ref(),
            EventType::Warning,
            "IncidentMemoryFull",
            "SendEmail",
            note,
        );
    }
    status.notified_incidents = incidents.memory.clone();
    if incidents.due.is_empty() {
        apply_status(&ctx.written, &api, obj.as_ref(), &status).await?;
        return Ok(Action::requeue(jitter(poll)));
    }

    // The incidents due are on record before any email leaves (a failed write sends nothing);
    // the emails, then their record. A failed second write is retried with backoff, and the
    // mailer recognises the emails that already left (see `email::once`).
    apply_status(&ctx.written, &api, obj.as_ref(), &status).await?;
    let outcome = send_incident_emails(&obj, &ctx, &incidents.due).await;
    for incident in &outcome.sent {
        plan::mark_sent(&mut status.notified_incidents, incident);
    }
    let (ok, reason, message) = match (&outcome.failure, &outcome.refused) {
        (Some(failure), _) => (
            false,
            Category::EmailFailed.as_str(),
            format!(
                "{} incident email(s) not sent: {failure}; retried within a minute",
                incidents.due.len() - outcome.sent.len()
            ),
        ),
        (None, Some(refused)) => (false, "RecipientRefused", format!("{refused}; not retried")),
        (None, None) => (true, "Sent", "every due incident email was sent".to_string()),
    };
    // NotificationFailed is True when an email failed.
    conditions::on(&mut status.conditions, generation, now).set(
        "NotificationFailed",
        Some(!ok),
        reason,
        &message,
    );
    apply_status(&ctx.written, &api, obj.as_ref(), &status).await?;
    if outcome.stopped {
        return Ok(Action::await_change());
    }
    // Emails that failed are retried soon, not at the next poll.
    let next = if outcome.failure.is_some() {
        poll.min(std::time::Duration::from_secs(60))
    } else {
        poll
    };
    Ok(Action::requeue(jitter(next)))
}

/// The contract's open requests, read once per poll interval into the shared cache (the status
/// page lists them). Credentials without the requests profile leave `status.requests` out rather
/// than failing the contract.
async fn open_requests(
    ctx: &Context,
    client: &dyn crate::portal::CustomerSpace,
    contract_id: &str,
    poll: std::time::Duration,
) -> Option<crate::api::cloud_contract::OpenRequests> {
    let key = crate::controllers::portal_access::cache_key(client, contract_id);
    match ctx
        .portal
        .requests
        .get(&key, poll, || async {
            let requests = client.list_requests(contract_id).await;
            requests.map(|all| all.into_iter().map(RequestSummary::from).collect())
        })
        .await
    {
        Ok(requests) => Some(plan::open_requests(&requests)),
        Err(err) => {
            tracing::debug!(%err, contract_id, "cannot list the contract's requests");
            None
        }
    }
}

/// With the status page on, the catalog of every contract is read once per poll interval into the
/// cache the ServiceOrders share (the page shows it, and never reads the portal itself).
async fn warm_catalog(
    ctx: &Context,
    client: &dyn crate::portal::CustomerSpace,
    contract_id: &str,
    poll: std::time::Duration,
) {
    let key = crate::controllers::portal_access::cache_key(client, contract_id);
    if let Err(err) = ctx
        .portal
        .catalogs
        .get(&key, poll, || client.list_catalog(contract_id))
        .await
    {
        tracing::debug!(%err, contract_id, "cannot read the contract's catalog");
    }
}

/// Fails with `DuplicateContract` when another CloudContract, whose credentials were verified
/// for the same contract id before this one was created, holds it. The message names the holder
/// only when it is in this namespace: a tenant learns nothing about another namespace's objects.
fn check_duplicate(obj: &CloudContract, ctx: &Context) -> Result<(), ReconcileError> {
    let mine = obj.uid().unwrap_or_default();
    let live = |uid: &str| {
        ctx.stores
            .contracts
            .all()
            .iter()
            .any(|c| c.uid().as_deref() == Some(uid) && c.metadata.deletion_timestamp.is_none())
    };
    let Some(holder) = ctx.portal.claims.holder(&obj.spec.contract_id, live) else {
        return Ok(());
    };
    if holder.uid == mine {
        return Ok(());
    }
    let who = if obj.namespace().as_deref() == Some(holder.namespace.as_str()) {
        format!("CloudContract {} of this namespace", holder.name)
    } else {
        "a CloudContract of another namespace whose credentials were verified first".to_string()
    };
    Err(ReconcileError::new(
        Category::DuplicateContract,
        format!(
            "contract {} is already managed by {who}; this one changes nothing until that one is deleted",
            obj.spec.contract_id
        ),
    ))
}

/// What became of the incident emails of one reconcile.
#[derive(Default)]
struct EmailOutcome {
    /// Incidents whose email went out (alone or in the summary).
    sent: Vec<crate::portal::Incident>,
    /// The first delivery failure (those incidents are retried).
    failure: Option<String>,
    /// A permanent refusal of some recipients (never retried: the others got the email).
    refused: Option<String>,
    /// The lease was lost: the emails left are the new leader's.
    stopped: bool,
}

/// Sends the due incident emails: the first `maxIncidentEmailsPerReconcile` one by one, the
/// rest in one summary, so that a portal reporting hundreds of changes sends a bounded number of
/// emails.
async fn send_incident_emails(
    obj: &CloudContract,
    ctx: &Context,
    due: &[crate::portal::Incident],
) -> EmailOutcome {
    let mut outcome = EmailOutcome::default();
    let Some(notifications) = &obj.spec.notifications else {
        return outcome;
    };
    let uid = obj.uid().unwrap_or_default();
    let limit = ctx.config.controllers.cloud_contract.max_incident_emails();
    let (single, rest) = if due.len() > limit {
        due.split_at(limit.saturating_sub(1))
    } else {
        (due, &[][..])
    };
    let mut record =
        |result: Result<(), EmailError>, incidents: &[crate::portal::Incident], what: String| match result {
            Ok(()) | Err(EmailError::Refused { .. }) => {
                ctx.metrics.emails_sent.with_label_values(&["incident"]).inc();
                outcome.sent.extend(incidents.iter().cloned());
                if let Err(refused) = result {
                    outcome.refused = Some(refused.to_string());
                }
                event(
                    &ctx.recorder,
                    obj,
                    EventType::Normal,
                    "IncidentNotified",
                    "SendEmail",
                    format!("{what} emailed"),
                );
            }
            Err(err) => {
                ctx.metrics.emails_failed.with_label_values(&["incident"]).inc();
                let note = format!("{what}: email not sent: {err}");
                event(
                    &ctx.recorder,
                    obj,
                    EventType::Warning,
                    Category::EmailFailed.as_str(),
                    "SendEmail",
                    note,
                );
                outcome.failure.get_or_insert(err.to_string());
            }
        };
    for incident in single {
        if !ctx.leading("incident emails") {
            outcome.stopped = true;
            return outcome;
        }
        let updated = incident.updated_at.to_rfc3339();
        let facts = IncidentFacts {
            contract_uid: &uid,
            contract_id: &obj.spec.contract_id,
            id: &incident.id,
            title: &incident.title,
            severity: i32::from(incident.severity),
            state: plan::state_name(incident.state),
            updated: &updated,
        };
        let email = incident_email(
            &facts,
            crate::api::common::Locale::En,
            notifications.recipients.clone(),
        );
        let what = format!("incident {} ({})", incident.id, facts.state);
        record(
            ctx.mailer.send(&email).await,
            std::slice::from_ref(incident),
            what,
        );
    }
    if !rest.is_empty() {
        if !ctx.leading("incident emails") {
            outcome.stopped = true;
            return outcome;
        }
        let lines: Vec<IncidentLine<'_>> = rest
            .iter()
            .map(|i| IncidentLine {
                id: &i.id,
                title: &i.title,
                severity: i32::from(i.severity),
                state: plan::state_name(i.state),
            })
            .collect();
        let email = incident_summary_email(
            &uid,
            &obj.spec.contract_id,
            &lines,
            crate::api::common::Locale::En,
            notifications.recipients.clone(),
        );
        let what = format!("a summary of {} more incident change(s)", rest.len());
        record(ctx.mailer.send(&email).await, rest, what);
    }
    outcome
}
