//! BudgetAlert controller: spend against a budget, one email per threshold and period.
//!
//! Pipeline: dereference (the CloudContract) -> observe (the contract's shared snapshot) ->
//! plan (pure, [`plan::evaluate`]) -> record Triggered thresholds -> send emails -> record Notified.

pub mod observe;
pub mod period;
pub mod plan;

use super::common::annotations;
use super::common::conditions;
use super::common::driver::{ConditionedStatus, Reconciled, jitter, not_due, opening};
use super::common::health;
use super::common::report::{apply_status, event, only_heartbeat, stored_status};
use super::common::{Category, ReconcileError};
use super::context::Context;
use super::portal_access::portal_error;
use super::reference::referenced_contract;
use crate::api::budget_alert::{BudgetAlert, BudgetAlertStatus, PeriodStatus};
use crate::config::ControllersConfig;
use crate::email::EmailError;
use crate::email::templates::{BudgetFacts, budget_email};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt};
use std::future::Future;
use std::sync::Arc;

crate::status_header!(BudgetAlertStatus, last_evaluation_time);

impl ConditionedStatus for BudgetAlertStatus {
    fn on_error(
        &mut self,
        err: &ReconcileError,
        generation: Option<i64>,
        now: chrono::DateTime<chrono::Utc>,
    ) {
        if err.category == Category::EmailFailed {
            conditions::on(&mut self.conditions, generation, now).set(
                "NotificationFailed",
                Some(true),
                "EmailFailed",
                &err.message,
            );
        }
    }
}

impl Reconciled for BudgetAlert {
    const KIND: &'static str = "BudgetAlert";
    const DEPENDENT: bool = true;

    fn configured_poll(config: &ControllersConfig) -> std::time::Duration {
        config.budget_alert.poll_interval
    }

    fn run(obj: Arc<Self>, ctx: Arc<Context>) -> impl Future<Output = Result<Action, ReconcileError>> + Send {
        run(obj, ctx)
    }
}

async fn run(obj: Arc<BudgetAlert>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let Some(poll) = opening(obj.as_ref(), &ctx)? else {
        return Ok(Action::await_change());
    };
    let now = ctx.now();
    let namespace = obj.namespace().unwrap_or_default();
    let previous = obj.status.clone().unwrap_or_default();
    let requested = annotations::reconcile_requested_at(obj.as_ref());
    if let Some(requeue) = not_due(obj.as_ref(), &previous, poll, now) {
        return Ok(requeue);
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
        conditions::on(c, generation, now).set(
            "DataFresh",
            Some(true),
            "Fresh",
            "consumption data is recent",
        );
    } else {
        let message = format!(
            "consumption data of {contract_id} is as of {}, older than twice the poll interval ({}s); no threshold is evaluated on it",
            crate::controllers::common::timestamp(observation.data_as_of),
            freshness_limit.as_secs()
        );
        conditions::on(c, generation, now).set("DataFresh", Some(false), "StaleData", &message);
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
    conditions::on(c, generation, now).set("Ready", Some(true), "Evaluated", &ready_message);
    conditions::on(c, generation, now).set("Synced", Some(true), "Evaluated", "budget evaluated");
    health::set(c, generation, now, &health::Progress::Done);
    if evaluation.notices.is_empty() {
        conditions::on(c, generation, now).set(
            "NotificationFailed",
            Some(false),
            "NoFailure",
            "no email pending",
        );
    }
    // Triggered thresholds are on record before any email leaves: a crash from here on causes at
    // most one duplicate, which the Message-ID lets mail systems drop.
    if !only_heartbeat(&previous, &status, ctx.config.controllers.status_heartbeat, now) {
        apply_status(&ctx.written, &api, obj.as_ref(), &status).await?;
    }
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
                failures.push(failure(&notice.threshold, &err));
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
        conditions::on(c, generation, now).set(
            "NotificationFailed",
            Some(true),
            "RecipientRefused",
            &message,
        );
        apply_status(&ctx.written, &api, obj.as_ref(), &status).await?;
        Ok(Action::requeue(jitter(poll)))
    } else if failures.is_empty() {
        conditions::on(c, generation, now).set(
            "NotificationFailed",
            Some(false),
            "Sent",
            "every due email was sent",
        );
        apply_status(&ctx.written, &api, obj.as_ref(), &status).await?;
        Ok(Action::requeue(jitter(poll)))
    } else {
        let (category, message) = failures_outcome(&failures);
        conditions::on(c, generation, now).set("NotificationFailed", Some(true), category.as_str(), &message);
        apply_status(&ctx.written, &api, obj.as_ref(), &status).await?;
        Err(ReconcileError::new(category, message))
    }
}

/// One email not sent: its threshold, what happened, and whether it is only held by the
/// namespace's email limit.
fn failure(threshold: &str, err: &crate::email::EmailError) -> (String, bool) {
    match crate::email::guard::held_message(err) {
        Some(held) => (format!("threshold {threshold}: {held}"), true),
        None => (format!("threshold {threshold}: {err}"), false),
    }
}

/// The reason and message of the emails not sent: `EmailHeld` when every one is only held by the
/// namespace's email limit (they will be sent, in order), else `EmailFailed`.
fn failures_outcome(failures: &[(String, bool)]) -> (Category, String) {
    let text: Vec<&str> = failures.iter().map(|(m, _)| m.as_str()).collect();
    if failures.iter().all(|(_, held)| *held) {
        (
            Category::EmailHeld,
            format!("{}; retrying in order", text.join("; ")),
        )
    } else {
        (
            Category::EmailFailed,
            format!("{}; retrying with backoff", text.join("; ")),
        )
    }
}
