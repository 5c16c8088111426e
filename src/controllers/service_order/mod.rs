//! ServiceOrder controller: one catalog order, submitted exactly once and followed to a final state.
//!
//! Pipeline: dereference (the CloudContract) -> validate against the shared catalog (pure,
//! [`plan::validate`]) -> record the customerReference -> look it up, else submit -> follow the
//! request ([`plan::follow`]) -> status -> notify once (final state recorded before, `notifiedAt`
//! after, so a crash causes at most one duplicate, which the Message-ID lets mail systems drop).

pub mod plan;

use super::common::annotations;
use super::common::conditions::{self};
use super::common::driver::{ConditionedStatus, Reconciled, jitter, not_due, opening};
use super::common::health;
use super::common::report::{apply_status, event, stored_status};
use super::common::{Category, ReconcileError, finalizer, timestamp};
use super::context::Context;
use super::portal_access::{cache_key, portal_error};
use super::reference::referenced_contract;
use crate::api::common::Locale;
use crate::api::service_order::{OrderHistoryEntry, OrderState, ServiceOrder, ServiceOrderStatus};
use crate::config::ControllersConfig;
use crate::email::EmailError;
use crate::email::templates::{OrderFacts, order_email};
use crate::portal::{CustomerSpace, ErrorCategory};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How long a failed order waits before trying again on its own when retrying cannot help
/// (unknown item, missing contract): the short poll that follows requests would be a hot loop.
/// A change of the CloudContract requeues it sooner.
const TERMINAL_RESYNC: Duration = Duration::from_secs(600);
/// The catalog changes rarely; one read serves every order of the contract for this long.
const CATALOG_MAX_AGE: Duration = Duration::from_secs(600);

crate::status_header!(ServiceOrderStatus, last_sync_time);

impl ConditionedStatus for ServiceOrderStatus {}

impl Reconciled for ServiceOrder {
    const KIND: &'static str = "ServiceOrder";
    const DEPENDENT: bool = true;
    const SYNCED_CONDITION: &'static str = "Synced";

    fn configured_poll(config: &ControllersConfig) -> std::time::Duration {
        config.service_order.poll_interval
    }

    fn resync(config: &ControllersConfig) -> std::time::Duration {
        config.service_order.poll_interval.max(TERMINAL_RESYNC)
    }

    fn run(obj: Arc<Self>, ctx: Arc<Context>) -> impl Future<Output = Result<Action, ReconcileError>> + Send {
        run(obj, ctx)
    }
}

async fn run(obj: Arc<ServiceOrder>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let Some(poll) = opening(obj.as_ref(), &ctx)? else {
        return Ok(Action::await_change());
    };
    let namespace = obj.namespace().unwrap_or_default();
    let api: Api<ServiceOrder> = Api::namespaced(ctx.client.clone(), &namespace);
    if obj.metadata.deletion_timestamp.is_some() {
        return cleanup(&obj, &ctx, &api).await;
    }
    let now = ctx.now();
    // As stored, not as cached: acting on an older status would email again.
    let Some(previous) = stored_status(&ctx.written, &api, obj.as_ref()).await? else {
        return Ok(Action::await_change());
    };
    let requested = annotations::reconcile_requested_at(obj.as_ref());
    if plan::is_final(previous.state)
        && !plan::notification_due(&obj.spec, &previous)
        && requested == previous.last_handled_reconcile_at
    {
        return Ok(Action::await_change());
    }
    if previous.request_id.is_some()
        && let Some(requeue) = not_due(obj.as_ref(), &previous, poll, now)
    {
        return Ok(requeue);
    }

    // Dereference: a typo in spec.contract stops here, before anything is written.
    let contract = referenced_contract(&ctx, &namespace, &obj.spec.contract).await?;
    let client = ctx.portal.client_for(&ctx.client, &contract).await?;
    let contract_id = contract.spec.contract_id.clone();
    let key = cache_key(client.as_ref(), &contract_id);
    finalizer::ensure(&api, obj.as_ref()).await?;

    let generation = obj.metadata.generation;
    let mut status = previous.clone();
    status.observed_generation = generation;
    status.last_handled_reconcile_at = requested;
    if status.request_id.is_none() {
        if !submit(&obj, &ctx, &api, client.as_ref(), &key, &contract_id, &mut status).await? {
            // The deletion (or the new leader) takes it from here.
            return Ok(Action::await_change());
        }
    } else if !plan::is_final(status.state) {
        let id = status.request_id.clone().unwrap_or_default();
        let request = client
            .get_request(&contract_id, &id)
            .await
            .map_err(|e| portal_error(e, &format!("reading request {id} of {contract_id}")))?;
        plan::follow(&mut status, &request);
    }
    if status.state != previous.state
        && let Some(state) = status.state
    {
        let note = format!(
            "request {} of {contract_id} is {state:?}",
            status.request_id.as_deref().unwrap_or("-")
        );
        event(
            &ctx.recorder,
            obj.as_ref(),
            EventType::Normal,
            &format!("{state:?}"),
            "Follow",
            note,
        );
    }
    status.last_sync_time = Some(timestamp(now));
    set_conditions(&mut status, generation, now);
    // The final state is on record before the email leaves.
    apply_status(&ctx.written, &api, obj.as_ref(), &status).await?;
    if plan::notification_due(&obj.spec, &status) && ctx.leading("the order email") {
        notify(&obj, &ctx, &contract_id, &mut status).await?;
        apply_status(&ctx.written, &api, obj.as_ref(), &status).await?;
    }
    if plan::is_final(status.state) {
        Ok(Action::await_change())
    } else {
        Ok(Action::requeue(jitter(poll)))
    }
}

fn set_conditions(
    status: &mut ServiceOrderStatus,
    generation: Option<i64>,
    now: chrono::DateTime<chrono::Utc>,
) {
    let (ready, reason, message) = plan::readiness(status);
    let c = &mut status.conditions;
    conditions::on(c, generation, now).set("Ready", Some(ready), reason, &message);
    conditions::on(c, generation, now).set(
        "Synced",
        Some(true),
        "Synced",
        "status follows the portal request",
    );
    health::set(c, generation, now, &health::order(status.state, &message));
}

/// Validates, records the customerReference, then finds or submits the request. False when it
/// did not submit: the order is being deleted, or the lease was lost.
#[allow(clippy::too_many_arguments)]
async fn submit(
    obj: &ServiceOrder,
    ctx: &Context,
    api: &Api<ServiceOrder>,
    client: &dyn CustomerSpace,
    key: &str,
    contract_id: &str,
    status: &mut ServiceOrderStatus,
) -> Result<bool, ReconcileError> {
    let found = match status.customer_reference.clone() {
        // A reference on record may have been submitted before a crash: look it up first.
        Some(reference) => client
            .find_request(contract_id, &reference)
            .await
            .map_err(|e| portal_error(e, &format!("looking up request {reference} of {contract_id}")))?,
        None => {
            let catalog = ctx
                .portal
                .catalogs
                .get(key, CATALOG_MAX_AGE, || client.list_catalog(contract_id))
                .await
                .map_err(|e| portal_error(e, &format!("reading the catalog of {contract_id}")))?;
            plan::validate(&obj.spec, &catalog)?;
            let now = ctx.now();
            status.customer_reference = Some(plan::customer_reference(&obj.uid().unwrap_or_default()));
            status.state = Some(OrderState::Pending);
            plan::record(
                &mut status.history,
                OrderHistoryEntry {
                    time: timestamp(now),
                    state: OrderState::Pending,
                    message: Some("validated against the catalog".into()),
                },
            );
            set_conditions(status, obj.metadata.generation, now);
            apply_status(&ctx.written, api, obj, status).await?;
            None
        }
    };
    let reference = status.customer_reference.clone().unwrap_or_default();
    let request = match found {
        Some(request) => request,
        None => {
            // Read again right before the POST: a deletion that raced this reconcile must not
            // leave a request behind. The reference is on record, so the cleanup that follows
            // finds anything submitted anyway.
            let current = api.get_opt(&obj.name_any()).await?;
            if current.is_none_or(|o| o.metadata.deletion_timestamp.is_some() || o.uid() != obj.uid()) {
                return Ok(false);
            }
            if !ctx.leading("the order submission") {
                return Ok(false);
            }
            let body = plan::new_request(&obj.spec, &reference);
            let request = client.submit_request(contract_id, &body).await.map_err(|e| {
                portal_error(
                    e,
                    &format!("submitting {} to {contract_id}", obj.spec.catalog_item),
                )
            })?;
            let note = format!(
                "submitted {} x{} to {contract_id} as request {} (customerReference {reference})",
                obj.spec.catalog_item, obj.spec.quantity, request.id
            );
            event(
                &ctx.recorder,
                obj,
                EventType::Normal,
                "Submitted",
                "SubmitRequest",
                note,
            );
            request
        }
    };
    plan::follow(status, &request);
    Ok(true)
}

async fn notify(
    obj: &ServiceOrder,
    ctx: &Context,
    contract_id: &str,
    status: &mut ServiceOrderStatus,
) -> Result<(), ReconcileError> {
    let uid = obj.uid().unwrap_or_default();
    let order = format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any());
    let state = format!("{:?}", status.state.unwrap_or(OrderState::Completed));
    let message = plan::last_message(status);
    let facts = OrderFacts {
        uid: &uid,
        order: &order,
        contract_id,
        catalog_item: &obj.spec.catalog_item,
        request_id: status.request_id.as_deref().unwrap_or_default(),
        state: &state,
        message: &message,
    };
    let email = order_email(&facts, Locale::En, obj.spec.notify.clone());
    match ctx.mailer.send(&email).await {
        Ok(()) => {
            ctx.metrics.emails_sent.with_label_values(&["order"]).inc();
            status.notified_at = Some(timestamp(ctx.now()));
            Ok(())
        }
        // Final: the other recipients got it. Recorded as sent, reported, never retried.
        Err(refused @ EmailError::Refused { .. }) => {
            ctx.metrics.emails_sent.with_label_values(&["order"]).inc();
            status.notified_at = Some(timestamp(ctx.now()));
            let now = ctx.now();
            conditions::on(&mut status.conditions, obj.metadata.generation, now).set(
                "NotificationFailed",
                Some(true),
                "RecipientRefused",
                &format!("order {state} email: {refused}; not retried"),
            );
            Ok(())
        }
        Err(err) => {
            ctx.metrics.emails_failed.with_label_values(&["order"]).inc();
            Err(ReconcileError::new(
                Category::EmailFailed,
                format!("order {state} email not sent: {err}; retrying with backoff"),
            ))
        }
    }
}

/// Deletion: with `cancelOnDelete`, cancel a request that is not final; then release.
async fn cleanup(
    obj: &ServiceOrder,
    ctx: &Context,
    api: &Api<ServiceOrder>,
) -> Result<Action, ReconcileError> {
    if !finalizer::has(obj) {
        return Ok(Action::await_change());
    }
    // As stored: the cache may not hold the customerReference the submission recorded yet.
    let Some(status) = stored_status(&ctx.written, api, obj).await? else {
        return Ok(Action::await_change());
    };
    let reference = status.customer_reference.clone();
    if obj.spec.cancel_on_delete && !plan::is_final(status.state) && reference.is_some() {
        let namespace = obj.namespace().unwrap_or_default();
        let contract = ctx.stores.contracts.all().into_iter().find(|c| {
            c.namespace().as_deref() == Some(namespace.as_str()) && c.name_any() == obj.spec.contract
        });
        match contract {
            Some(contract) => {
                let client = ctx.portal.client_for(&ctx.client, &contract).await?;
                cancel(obj, ctx, client.as_ref(), &contract.spec.contract_id, &status).await?;
            }
            None => {
                let note = format!(
                    "CloudContract {namespace}/{} is gone; the request was not cancelled",
                    obj.spec.contract
                );
                event(
                    &ctx.recorder,
                    obj,
                    EventType::Warning,
                    "CleanupSkipped",
                    "Delete",
                    note,
                );
            }
        }
    }
    finalizer::release(api, obj).await?;
    Ok(Action::await_change())
}

async fn cancel(
    obj: &ServiceOrder,
    ctx: &Context,
    client: &dyn CustomerSpace,
    contract_id: &str,
    status: &ServiceOrderStatus,
) -> Result<(), ReconcileError> {
    let reference = status.customer_reference.clone().unwrap_or_default();
    let id = match &status.request_id {
        Some(id) => Some(id.clone()),
        // Submitted just before a crash, maybe: the reference finds it.
        None => client
            .find_request(contract_id, &reference)
            .await
            .map_err(|e| portal_error(e, &format!("looking up request {reference} of {contract_id}")))?
            .map(|r| r.id),
    };
    let Some(id) = id else { return Ok(()) };
    if !ctx.leading("the order cancellation") {
        return Err(ReconcileError::new(
            Category::Unavailable,
            "the leader lease was lost; the new leader cancels the request",
        ));
    }
    match client.cancel_request(contract_id, &id).await {
        Ok(_) => {
            let note = format!("cancelled request {id} of {contract_id} (cancelOnDelete)");
            event(
                &ctx.recorder,
                obj,
                EventType::Normal,
                "Cancelled",
                "CancelRequest",
                note,
            );
            Ok(())
        }
        // Final meanwhile, or gone: nothing left to cancel.
        Err(e) if matches!(e.category, ErrorCategory::Conflict | ErrorCategory::NotFound) => {
            let note = format!("request {id} of {contract_id} was not cancelled: {e}");
            event(
                &ctx.recorder,
                obj,
                EventType::Normal,
                "NotCancelled",
                "CancelRequest",
                note,
            );
            Ok(())
        }
        Err(e) => Err(portal_error(
            e,
            &format!("cancelling request {id} of {contract_id}"),
        )),
    }
}
