//! The pure part of a ServiceOrder reconcile: the catalog check, the idempotency key, the request
//! body, and the status that follows the portal request's states.

use crate::api::common::{MAX_PORTAL_LONG_TEXT, MAX_PORTAL_TEXT};
use crate::api::service_order::{OrderHistoryEntry, OrderState, ServiceOrderSpec, ServiceOrderStatus};
use crate::controllers::common::bounded;
use crate::controllers::common::{Category, ReconcileError, timestamp};
use crate::portal::{CatalogItem, NewRequest, RequestState, RequestType, ServiceRequest};

/// Longest history kept in status.
pub const HISTORY_LIMIT: usize = 20;
/// How many close codes an unknown catalog item lists.
const CLOSEST: usize = 3;

/// The idempotency key of an order: stable for the object's life, different for every object.
pub fn customer_reference(uid: &str) -> String {
    format!("ccs-{uid}")
}

/// The request to submit.
pub fn new_request(spec: &ServiceOrderSpec, reference: &str) -> NewRequest {
    NewRequest {
        customer_reference: reference.to_string(),
        request_type: RequestType::Order,
        catalog_item: spec.catalog_item.clone(),
        quantity: u32::try_from(spec.quantity).unwrap_or(1),
        parameters: spec.parameters.to_map(),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Checks the item and its parameters against the contract's catalog; the error names the
/// closest codes, or each faulty parameter.
pub fn validate(spec: &ServiceOrderSpec, catalog: &[CatalogItem]) -> Result<(), ReconcileError> {
    let Some(item) = catalog.iter().find(|i| i.code == spec.catalog_item) else {
        let mut codes: Vec<&str> = catalog.iter().map(|i| i.code.as_str()).collect();
        codes.sort_by_key(|c| (edit_distance(c, &spec.catalog_item), *c));
        codes.truncate(CLOSEST);
        return Err(ReconcileError::new(
            Category::UnknownCatalogItem,
            format!(
                "spec.catalogItem: {} is not in the contract's catalog; closest codes: {}",
                spec.catalog_item,
                codes.join(", ")
            ),
        ));
    };
    let mut problems = Vec::new();
    for p in &item.parameters {
        match spec.parameters.get(&p.key) {
            None if p.required => {
                problems.push(format!("spec.parameters.{}: required ({})", p.key, p.description))
            }
            Some(v) if !p.allowed_values.is_empty() && !p.allowed_values.contains(v) => {
                problems.push(format!(
                    "spec.parameters.{}: {v:?} is not one of {}",
                    p.key,
                    p.allowed_values.join(", ")
                ))
            }
            _ => {}
        }
    }
    for key in spec.parameters.keys() {
        if !item.parameters.iter().any(|p| &p.key == key) {
            let known: Vec<&str> = item.parameters.iter().map(|p| p.key.as_str()).collect();
            problems.push(format!(
                "spec.parameters.{key}: unknown for {} (known: {})",
                item.code,
                known.join(", ")
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ReconcileError::new(
            Category::InvalidParameters,
            problems.join("; "),
        ))
    }
}

/// The order state of a portal request state.
pub fn order_state(state: RequestState) -> OrderState {
    match state {
        RequestState::Transmitted => OrderState::Submitted,
        RequestState::InProgress => OrderState::InProgress,
        RequestState::Completed => OrderState::Completed,
        RequestState::Rejected => OrderState::Rejected,
        RequestState::Cancelled => OrderState::Cancelled,
        // A state this operator does not know yet: not final, so it is followed until it is.
        RequestState::Unknown => OrderState::InProgress,
    }
}

/// Whether an order state is final.
pub fn is_final(state: Option<OrderState>) -> bool {
    matches!(
        state,
        Some(OrderState::Completed | OrderState::Rejected | OrderState::Cancelled)
    )
}

/// Appends a state change unless it is the last one recorded; keeps the last [`HISTORY_LIMIT`].
pub fn record(history: &mut Vec<OrderHistoryEntry>, entry: OrderHistoryEntry) {
    if history.last().map(|h| h.state) == Some(entry.state) {
        return;
    }
    history.push(entry);
    let excess = history.len().saturating_sub(HISTORY_LIMIT);
    history.drain(..excess);
}

/// Folds the portal request into the status: id, state, times, history.
pub fn follow(status: &mut ServiceOrderStatus, request: &ServiceRequest) {
    status.request_id = Some(bounded(&request.id, MAX_PORTAL_TEXT));
    status.state = Some(order_state(request.state));
    status.submitted_at = Some(timestamp(request.submitted_at));
    for change in &request.history {
        let time = timestamp(change.at);
        let state = order_state(change.state);
        // The portal returns its whole history every time: keep each change once.
        if status.history.iter().any(|h| h.time == time && h.state == state) {
            continue;
        }
        record(
            &mut status.history,
            OrderHistoryEntry {
                time,
                state,
                message: Some(bounded(&change.message, MAX_PORTAL_LONG_TEXT)).filter(|m| !m.is_empty()),
            },
        );
    }
    if request.state.is_final() {
        let done = request.history.last().map_or(request.updated_at, |h| h.at);
        status.completed_at.get_or_insert_with(|| timestamp(done));
    }
}

/// Whether the `notify` email is due: a completed or rejected order not notified yet.
pub fn notification_due(spec: &ServiceOrderSpec, status: &ServiceOrderStatus) -> bool {
    !spec.notify.is_empty()
        && status.notified_at.is_none()
        && matches!(status.state, Some(OrderState::Completed | OrderState::Rejected))
}

/// The `Ready` condition: status, reason, message.
pub fn readiness(status: &ServiceOrderStatus) -> (bool, &'static str, String) {
    let request = status.request_id.as_deref().unwrap_or("-");
    match status.state {
        Some(OrderState::Completed) => (true, "Completed", format!("request {request} completed")),
        Some(OrderState::Rejected) => (
            false,
            "Rejected",
            format!("request {request} was rejected: {}", last_message(status)),
        ),
        Some(OrderState::Cancelled) => (false, "Cancelled", format!("request {request} was cancelled")),
        Some(OrderState::InProgress) => (false, "InProgress", format!("request {request} is in progress")),
        Some(OrderState::Submitted) => (false, "Submitted", format!("request {request} was transmitted")),
        Some(OrderState::Pending) | None => (false, "Pending", "not submitted yet".into()),
    }
}

/// The last portal message of the history.
pub fn last_message(status: &ServiceOrderStatus) -> String {
    status
        .history
        .last()
        .and_then(|h| h.message.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
