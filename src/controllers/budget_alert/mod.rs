//! BudgetAlert controller: spend against a budget, one email per threshold and period.
//!
//! Pipeline: dereference (the CloudContract) -> observe (the contract's shared snapshot) ->
//! plan (pure, [`plan::evaluate`]) -> record Triggered thresholds -> send emails -> record Notified.

pub mod observe;
pub mod period;
pub mod plan;

use super::common::annotations;
use super::common::conditions::{self, is_true};
use super::common::driver::{ConditionedStatus, Reconciled, jitter, reconcile_with};
use super::common::report::{apply_status, event, stored_status};
use super::common::schedule::{Freshness, not_due_for};
use super::common::{Category, ReconcileError};
use super::context::Context;
use super::portal_access::portal_error;
use crate::api::budget_alert::{BudgetAlert, BudgetAlertStatus, PeriodStatus};
use crate::api::cloud_contract::CloudContract;
use crate::email::EmailError;
use crate::email::templates::{BudgetFacts, budget_email};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt};
use std::sync::Arc;

impl ConditionedStatus for BudgetAlertStatus {
    fn conditions_mut(&mut self) -> &mut Vec<Condition> {
        &mut self.conditions
    }

    fn on_error(
        &mut self,
        err: &ReconcileError,
        generation: Option<i64>,
        now: chrono::DateTime<chrono::Utc>,
    ) {
        if err.category == Category::EmailFailed {
            conditions::set(
                &mut self.conditions,
                "NotificationFailed",
                Some(true),
                "EmailFailed",
                &err.message,
                generation,
                now,
            );
        }
    }
}

impl Reconciled for BudgetAlert {
    const KIND: &'static str = "BudgetAlert";
}

/// Reconciles one BudgetAlert.
pub async fn reconcile(obj: Arc<BudgetAlert>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    reconcile_with(obj, &ctx.clone(), |obj| run(obj, ctx)).await
}

/// What to do after a failure.
pub fn error_policy(obj: Arc<BudgetAlert>, err: &ReconcileError, ctx: Arc<Context>) -> Action {
    super::common::driver::error_policy(
        obj.as_ref(),
        err,
        &ctx,
        ctx.config.controllers.budget_alert.poll_interval,
    )
}

/// The Ready condition of a CloudContract; `None` until it was reconciled once.
pub(crate) fn ready_condition(contract: &CloudContract) -> Option<&Condition> {
    contract
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
}

/// The CloudContract a budget or order names; its absence or unreadiness is a terminal error naming
/// the field (the contract's own changes requeue the dependents).
///
/// Read from the cache, and again from the API server when the cached copy is missing or failed:
/// the contract change that requeues a dependent comes through another watch than the cache's, and
/// may arrive first. Failing on the stale copy would leave the dependent waiting a poll interval.
/// A contract never reconciled yet is waited for quietly (`ReferencePending`), from the cache.
pub async fn referenced_contract(
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Result<Arc<CloudContract>, ReconcileError> {
    let cached = ctx
        .stores
        .contracts
        .all()
        .into_iter()
        .find(|c| c.namespace().as_deref() == Some(namespace) && c.name_any() == name);
    let contract = match cached {
        // Ready, or never reconciled yet (waited for below, from the cache).
        Some(c) if ready_condition(&c).is_none_or(|r| r.status == "True") => c,
        _ => Api::<CloudContract>::namespaced(ctx.client.clone(), namespace)
            .get_opt(name)
            .await?
            .map(Arc::new)
            .ok_or_else(|| {
                ReconcileError::new(
                    Category::ReferenceNotFound,
                    format!(
                        "spec.contract: CloudContract {namespace}/{name} not found; create it or fix the name"
                    ),
                )
            })?,
    };
    match ready_condition(&contract) {
        Some(ready) if ready.status == "True" => {}
        // Requeued by the contract's watch once it has a Ready condition either way, and retried
        // from the cache meanwhile (that watch may run ahead of the cache).
        None if !annotations::is_paused(contract.as_ref()) => {
            return Err(ReconcileError::new(
                Category::ReferencePending,
                format!("spec.contract: CloudContract {namespace}/{name} is not reconciled yet"),
            ));
        }
        ready => {
            return Err(ReconcileError::new(
                Category::ReferenceNotFound,
                format!(
                    "spec.contract: CloudContract {namespace}/{name} is not Ready yet ({})",
                    ready.map_or("not reconciled", |r| r.message.as_str())
                ),
            ));
        }
    }
    Ok(contract)
}

async fn run(obj: Arc<BudgetAlert>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let poll = annotations::poll_interval(obj.as_ref(), ctx.config.controllers.budget_alert.poll_interval)
        .map_err(|m| ReconcileError::new(Category::InvalidSpec, m))?;
    if annotations::is_paused(obj.as_ref()) {
        return Ok(Action::await_change());
    }
    let now = ctx.now();
    let namespace = obj.namespace().unwrap_or_default();
    let previous = obj.status.clone().unwrap_or_default();
    let requested = annotations::reconcile_requested_at(obj.as_ref());
    let freshness = Freshness {
        ready: is_true(&previous.conditions, "Ready"),
        generation: obj.metadata.generation,
        observed_generation: previous.observed_generation,
        requested_at: requested.as_deref(),
        handled_at: previous.last_handled_reconcile_at.as_deref(),
        last_sync: previous.last_evaluation_time.as_deref(),
    };
    if let Some(wait) = not_due_for(&freshness, poll, now) {
        return Ok(Action::requeue(wait));
    }

    // Observe: the contract's snapshot, shared with its CloudContract and every other budget.
    let contract = referenced_contract(&ctx, &namespace, &obj.spec.contract).await?;
    let client = ctx.portal.client_for(&ctx.client, &contract).await?;
    let endpoint = ctx.portal.endpoint_of(&contract);
    let contract_id = contract.spec.contract_id.clone();
    let snapshot = ctx
        .portal
        .snapshot(client.as_ref(), &endpoint, &contract_id, poll)
        .await
        .map_err(|e| portal_error(e, &format!("reading the consumption of {contract_id}")))?;
    let observation = observe::spend_observation(&snapshot.dashboard).ok_or_else(|| {
        ReconcileError::new(
            Category::Forbidden,
            format!("the API client of CloudContract {} cannot read the consumption of {contract_id}; grant it Visitor on Invoices", contract.name_any()),
        )
    })?;

    // As stored, not as cached, before any side effect: a cache behind our last write would
    // email a Notified threshold again, and the write below would roll it back to Triggered.
    let api: Api<BudgetAlert> = Api::namespaced(ctx.client.clone(), &namespace);
    let Some(previous) = stored_status(&ctx.written, &api, obj.as_ref()).await? else {
        return Ok(Action::await_change());
    };

    // Plan.
    let freshness_limit = poll.saturating_mul(2);
    let evaluation = plan::evaluate(
        &obj.spec,
        &previous.thresholds,
        &observation,
        now,
        freshness_limit,
    )
    .map_err(|e| match e {
        // The portal's data, not the spec: retried with backoff, the data may be corrected.
        plan::PlanError::OutOfRange(_) => ReconcileError::new(
            Category::Unavailable,
            format!("evaluating the consumption of {contract_id}: {e}"),
        ),
        _ => ReconcileError::new(Category::InvalidSpec, e.to_string()),
    })?;
    let generation = obj.metadata.generation;
    let mut status = BudgetAlertStatus {
        observed_generation: generation,
        conditions: previous.conditions.clone(),
        last_handled_reconcile_at: requested,
        period: Some(PeriodStatus {
            key: evaluation.period.key.clone(),
            start: evaluation.period.start_rfc3339(),
            end: evaluation.period.end_rfc3339(),
        }),
        actual: Some(evaluation.actual.round_dp(2).to_string()),
        forecast: Some(evaluation.forecast.to_string()),
        currency: Some(observation.currency.clone()),
        data_as_of: Some(crate::controllers::common::timestamp(observation.data_as_of)),
        used_percent: Some(format!("{:.2}", evaluation.used_percent)),
        state: Some(evaluation.state),
        thresholds: evaluation.thresholds.clone(),
        last_evaluation_time: Some(crate::controllers::common::timestamp(now)),
    };
    let c = &mut status.conditions;
    if evaluation.data_fresh {
        conditions::set(
            c,
            "DataFresh",
            Some(true),
            "Fresh",
            "consumption data is recent",
            generation,
            now,
        );
    } else {
        let message = format!(
            "consumption data of {contract_id} is as of {}, older than twice the poll interval ({}s); no threshold is evaluated on it",
            crate::controllers::common::timestamp(observation.data_as_of),
            freshness_limit.as_secs()
        );
        conditions::set(
            c,
            "DataFresh",
            Some(false),
            "StaleData",
            &message,
            generation,
            now,
        );
    }
    let ready_message = annotations::with_poll_interval_note(
        obj.as_ref(),
        format!(
            "{}% of {} {} used in {}",
            status.used_percent.as_deref().unwrap_or("0"),
            obj.spec.amount,
            obj.spec.currency,
            evaluation.period.key
        ),
    );
    conditions::set(
        c,
        "Ready",
        Some(true),
        "Evaluated",
        &ready_message,
        generation,
        now,
    );
    conditions::set(
        c,
        "Synced",
        Some(true),
        "Evaluated",
        "budget evaluated",
        generation,
        now,
    );
    if evaluation.notices.is_empty() {
        conditions::set(
            c,
            "NotificationFailed",
            Some(false),
            "NoFailure",
            "no email pending",
            generation,
            now,
        );
    }
    // Triggered thresholds are on record before any email leaves: a crash from here on causes at
    // most one duplicate, which the Message-ID lets mail systems drop.
    apply_status(&ctx.written, &api, obj.as_ref(), &status).await?;
    if evaluation.notices.is_empty() {
        return Ok(Action::requeue(jitter(poll)));
    }

    // Apply: the emails, then record them.
    let uid = obj.uid().unwrap_or_default();
    let budget_name = format!("{namespace}/{}", obj.name_any());
    let mut failures = Vec::new();
    let mut refusals = Vec::new();
    let mut stopped = false;
    for notice in &evaluation.notices {
        if !ctx.leading("budget emails") {
            stopped = true;
            break;
        }
        let value = notice.value.round_dp(2).to_string();
        let facts = BudgetFacts {
            uid: &uid,
            budget: &budget_name,
            contract_id: &contract_id,
            threshold: &notice.threshold,
            basis: notice.basis,
            threshold_value: &value,
            actual: status.actual.as_deref().unwrap_or_default(),
            forecast: status.forecast.as_deref().unwrap_or_default(),
            budget_amount: &obj.spec.amount,
            currency: &obj.spec.currency,
            period: &evaluation.period.key,
            used_percent: status.used_percent.as_deref().unwrap_or_default(),
        };
        let email = budget_email(&facts, obj.spec.locale, notice.recipients.clone());
        let result = ctx.mailer.send(&email).await;
        if let Err(refused @ EmailError::Refused { .. }) = &result {
            refusals.push(format!("threshold {}: {refused}", notice.threshold));
        }
        match result {
            Ok(()) | Err(EmailError::Refused { .. }) => {
                ctx.metrics.emails_sent.with_label_values(&["budget"]).inc();
                plan::mark_notified(&mut status.thresholds, &notice.threshold, ctx.now());
                let note = format!(
                    "threshold {} ({} {}) crossed in {}: email sent to {} recipient(s)",
                    notice.threshold,
                    value,
                    obj.spec.currency,
                    evaluation.period.key,
                    notice.recipients.len()
                );
                event(
                    &ctx.recorder,
                    obj.as_ref(),
                    EventType::Normal,
                    "ThresholdNotified",
                    "SendEmail",
                    note,
                );
            }
            Err(err) => {
                ctx.metrics.emails_failed.with_label_values(&["budget"]).inc();
                failures.push(format!("threshold {}: {err}", notice.threshold));
            }
        }
    }
    let c = &mut status.conditions;
    if stopped {
        // What went out before the lease was lost is on record; the rest is the new leader's.
        apply_status(&ctx.written, &api, obj.as_ref(), &status).await?;
        Ok(Action::await_change())
    } else if failures.is_empty() && !refusals.is_empty() {
        // Final: the other recipients got the email; retrying would send it to them again.
        let message = format!("{}; not retried", refusals.join("; "));
        conditions::set(
            c,
            "NotificationFailed",
            Some(true),
            "RecipientRefused",
            &message,
            generation,
            now,
        );
        apply_status(&ctx.written, &api, obj.as_ref(), &status).await?;
        Ok(Action::requeue(jitter(poll)))
    } else if failures.is_empty() {
        conditions::set(
            c,
            "NotificationFailed",
            Some(false),
            "Sent",
            "every due email was sent",
            generation,
            now,
        );
        apply_status(&ctx.written, &api, obj.as_ref(), &status).await?;
        Ok(Action::requeue(jitter(poll)))
    } else {
        let message = format!("{}; retrying with backoff", failures.join("; "));
        conditions::set(
            c,
            "NotificationFailed",
            Some(true),
            "EmailFailed",
            &message,
            generation,
            now,
        );
        apply_status(&ctx.written, &api, obj.as_ref(), &status).await?;
        Err(ReconcileError::new(Category::EmailFailed, message))
    }
}
