//! Requests: validation against the catalog, idempotent submission by customerReference,
//! states that move on the simulated clock, cancellation.

use super::catalog;
use super::errors::{ApiError, ApiResult, tr};
use super::rights::Caller;
use super::world::{RequestRecord, World};
use ccs_portal_model::{Language, NewRequest, Profile, RequestState, Section, ServiceRequest, StateChange};
use chrono::{DateTime, Duration, Utc};

/// The request as of `now`: transitions due by then are applied (a pure view; nothing stored).
pub fn view(world: &World, rec: &RequestRecord, now: DateTime<Utc>, lang: Language) -> ServiceRequest {
    let mut req = rec.request.clone();
    if req.state.is_final() {
        return req;
    }
    let started = req.submitted_at + Duration::seconds(world.config.request_in_progress_after_seconds);
    let done = req.submitted_at + Duration::seconds(world.config.request_done_after_seconds);
    let mut push = |state, at, message: String| {
        req.state = state;
        req.updated_at = at;
        req.history.push(StateChange { state, at, message });
    };
    if now >= started {
        push(
            RequestState::InProgress,
            started,
            tr(lang, "Processing started", "Traitement en cours"),
        );
    }
    if now >= done {
        match &rec.reject_reason {
            Some((en, fr)) => push(RequestState::Rejected, done, tr(lang, en.as_str(), fr.as_str())),
            None => push(RequestState::Completed, done, tr(lang, "Delivered", "Livré")),
        }
    }
    req
}

/// Checks the item and parameters; Err is a 422 naming each problem.
fn validate(world: &World, caller: &Caller, id: &str, new: &NewRequest) -> ApiResult<u32> {
    let offer = world.contracts[id].offer;
    let Some(item) = catalog::item(offer, &new.catalog_item, caller.lang) else {
        return Err(ApiError::invalid(caller.tr(
            format!("unknown catalog item {:?} for contract {id}", new.catalog_item),
            format!(
                "article de catalogue {:?} inconnu pour le contrat {id}",
                new.catalog_item
            ),
        )));
    };
    let mut problems = vec![];
    if new.quantity == 0 || new.customer_reference.trim().is_empty() || new.customer_reference.len() > 128 {
        problems.push(caller.tr(
            "quantity must be >= 1 and customerReference 1-128 characters",
            "quantity doit être >= 1 et customerReference faire 1 à 128 caractères",
        ));
    }
    for p in &item.parameters {
        match new.parameters.get(&p.key) {
            None if p.required => problems.push(caller.tr(
                format!("parameter {} is required", p.key),
                format!("le paramètre {} est obligatoire", p.key),
            )),
            Some(v) if !p.allowed_values.is_empty() && !p.allowed_values.contains(v) => {
                problems.push(caller.tr(
                    format!(
                        "parameter {} must be one of {}",
                        p.key,
                        p.allowed_values.join(", ")
                    ),
                    format!(
                        "le paramètre {} doit valoir {}",
                        p.key,
                        p.allowed_values.join(", ")
                    ),
                ))
            }
            _ => {}
        }
    }
    for key in new
        .parameters
        .keys()
        .filter(|k| !item.parameters.iter().any(|p| &p.key == *k))
    {
        problems.push(caller.tr(
            format!("unknown parameter {key}"),
            format!("paramètre {key} inconnu"),
        ));
    }
    if problems.is_empty() {
        Ok(item.max_quantity)
    } else {
        Err(ApiError::invalid(problems.join("; ")))
    }
}

/// Rules that reject a valid request during processing.
fn reject_reason(world: &World, id: &str, new: &NewRequest, max_quantity: u32) -> Option<(String, String)> {
    let contract = &world.contracts[id];
    if new.quantity > max_quantity {
        return Some((
            format!(
                "quantity {} exceeds the maximum of {max_quantity} per request",
                new.quantity
            ),
            format!(
                "la quantité {} dépasse le maximum de {max_quantity} par demande",
                new.quantity
            ),
        ));
    }
    let place = new
        .parameters
        .get("region")
        .or_else(|| new.parameters.get("site"));
    match place {
        Some(r) if !contract.regions.contains(r) => Some((
            format!("region {r} is not subscribed on this contract"),
            format!("la région {r} n'est pas souscrite sur ce contrat"),
        )),
        _ => None,
    }
}

/// Submits a request (Manager on Requests). The same customerReference with the same content
/// returns the existing request (`false`); with different content it is a 409.
pub fn submit(
    world: &mut World,
    caller: &Caller,
    id: &str,
    new: &NewRequest,
) -> ApiResult<(ServiceRequest, bool)> {
    caller.require(world, id, Section::Requests, Profile::Manager)?;
    let max_quantity = validate(world, caller, id, new)?;
    let now = world.clock.now();
    let existing = world
        .config
        .idempotent_submission
        .then(|| find(world, id, &new.customer_reference))
        .flatten();
    if let Some(rec) = existing {
        let r = &rec.request;
        if r.catalog_item == new.catalog_item
            && r.quantity == new.quantity
            && r.parameters == new.parameters
            && r.request_type == new.request_type
        {
            return Ok((view(world, rec, now, caller.lang), false));
        }
        return Err(ApiError::conflict(caller.tr(
            format!(
                "customerReference {} is already used by request {} with other content",
                new.customer_reference, r.id
            ),
            format!(
                "customerReference {} est déjà utilisée par la demande {} avec un autre contenu",
                new.customer_reference, r.id
            ),
        )));
    }
    let reject = reject_reason(world, id, new, max_quantity);
    let request_id = world.new_id("REQ");
    let request = ServiceRequest {
        id: request_id.clone(),
        contract_id: id.into(),
        customer_reference: new.customer_reference.clone(),
        request_type: new.request_type,
        catalog_item: new.catalog_item.clone(),
        quantity: new.quantity,
        parameters: new.parameters.clone(),
        state: RequestState::Transmitted,
        submitted_at: now,
        updated_at: now,
        history: vec![StateChange {
            state: RequestState::Transmitted,
            at: now,
            message: "Request received".into(),
        }],
    };
    let rec = RequestRecord {
        request,
        reject_reason: reject,
    };
    let out = view(world, &rec, now, caller.lang);
    world.requests.insert(request_id, rec);
    Ok((out, true))
}

fn find<'w>(world: &'w World, id: &str, reference: &str) -> Option<&'w RequestRecord> {
    world
        .requests
        .values()
        .find(|r| r.request.contract_id == id && r.request.customer_reference == reference)
}

/// Requests of a contract, optionally filtered (Visitor on Requests).
pub fn list(
    world: &World,
    caller: &Caller,
    id: &str,
    reference: Option<&str>,
    state: Option<RequestState>,
) -> ApiResult<Vec<ServiceRequest>> {
    caller.require(world, id, Section::Requests, Profile::Visitor)?;
    let now = world.clock.now();
    Ok(world
        .requests
        .values()
        .filter(|r| {
            r.request.contract_id == id && reference.is_none_or(|x| r.request.customer_reference == x)
        })
        .map(|r| view(world, r, now, caller.lang))
        .filter(|r| state.is_none_or(|s| r.state == s))
        .collect())
}

fn lookup<'w>(world: &'w World, caller: &Caller, id: &str, request_id: &str) -> ApiResult<&'w RequestRecord> {
    world
        .requests
        .get(request_id)
        .filter(|r| r.request.contract_id == id)
        .ok_or_else(|| {
            ApiError::not_found(caller.tr(
                format!("unknown request {request_id}"),
                format!("demande {request_id} inconnue"),
            ))
        })
}

/// One request (Visitor on Requests).
pub fn get(world: &World, caller: &Caller, id: &str, request_id: &str) -> ApiResult<ServiceRequest> {
    caller.require(world, id, Section::Requests, Profile::Visitor)?;
    Ok(view(
        world,
        lookup(world, caller, id, request_id)?,
        world.clock.now(),
        caller.lang,
    ))
}

/// Cancels a request that is not final (Manager on Requests); cancelling twice is a no-op.
pub fn cancel(world: &mut World, caller: &Caller, id: &str, request_id: &str) -> ApiResult<ServiceRequest> {
    caller.require(world, id, Section::Requests, Profile::Manager)?;
    let now = world.clock.now();
    let mut current = view(world, lookup(world, caller, id, request_id)?, now, caller.lang);
    match current.state {
        RequestState::Cancelled => return Ok(current),
        RequestState::Completed | RequestState::Rejected => {
            return Err(ApiError::conflict(caller.tr(
                format!(
                    "request {request_id} is {:?} and cannot be cancelled",
                    current.state
                ),
                format!(
                    "la demande {request_id} est {:?} et ne peut plus être annulée",
                    current.state
                ),
            )));
        }
        _ => {}
    }
    current.state = RequestState::Cancelled;
    current.updated_at = now;
    current.history.push(StateChange {
        state: RequestState::Cancelled,
        at: now,
        message: caller.tr("Cancelled by the customer", "Annulée par le client"),
    });
    if let Some(rec) = world.requests.get_mut(request_id) {
        rec.request = current.clone();
    }
    Ok(current)
}
