//! Business routes: thin wrappers that lock the world, call the rules, and shape the answer.

use super::errors::{ApiError, ApiResult, tr};
use super::rights::Caller;
use super::server::App;
use super::world::World;
use super::{billing, contracts, requests, users, weather};
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::get, routing::post};
use ccs_portal_model::{
    AccessUpdate, Language, NewRequest, NewUser, Profile, ReferentChange, RequestState, Section,
};
use chrono::NaiveDate;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::Arc;

type AppState = State<Arc<App>>;

/// A JSON body whose rejection is a JSON error, like every other error.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Json::<T>::from_request(req, state)
            .await
            .map(|Json(v)| Body(v))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

/// Query parameters; malformed ones are a JSON 400.
fn query(uri: &Uri) -> ApiResult<HashMap<String, String>> {
    Query::<HashMap<String, String>>::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|e| ApiError::bad_request(e.body_text()))
}

fn number(
    q: &HashMap<String, String>,
    key: &str,
    default: usize,
    max: usize,
    lang: Language,
) -> ApiResult<usize> {
    match q.get(key) {
        None => Ok(default),
        Some(v) => v.parse::<usize>().ok().filter(|n| *n <= max).ok_or_else(|| {
            ApiError::bad_request(tr(
                lang,
                format!("{key} must be an integer in 0..={max}"),
                format!("{key} doit être un entier entre 0 et {max}"),
            ))
        }),
    }
}

/// One page of `items` per `offset`/`limit`, with `X-Total-Count` and `X-Result-Count`.
fn page<T: Serialize>(items: Vec<T>, uri: &Uri, lang: Language) -> ApiResult<Response> {
    let q = query(uri)?;
    let offset = number(&q, "offset", 0, usize::MAX, lang)?;
    let limit = number(&q, "limit", 50, 500, lang)?;
    let total = items.len();
    let slice: Vec<T> = items.into_iter().skip(offset).take(limit).collect();
    let count = slice.len();
    let mut resp = Json(slice).into_response();
    resp.headers_mut().insert("x-total-count", total.into());
    resp.headers_mut().insert("x-result-count", count.into());
    Ok(resp)
}

fn read<T>(app: &App, f: impl FnOnce(&World) -> ApiResult<T>) -> ApiResult<T> {
    f(&app.read())
}

fn write<T>(app: &App, f: impl FnOnce(&mut World) -> ApiResult<T>) -> ApiResult<T> {
    let out = f(&mut app.write())?;
    app.persist();
    Ok(out)
}

async fn list_contracts(State(app): AppState, caller: Caller, uri: Uri) -> ApiResult<Response> {
    page(
        read(&app, |w| Ok(contracts::list(w, &caller)))?,
        &uri,
        caller.lang,
    )
}

async fn get_contract(State(app): AppState, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(Json(read(&app, |w| contracts::get(w, &caller, &id))?).into_response())
}

async fn dashboard(State(app): AppState, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(Json(read(&app, |w| contracts::dashboard(w, &caller, &id))?).into_response())
}

async fn change_referent(
    State(app): AppState,
    caller: Caller,
    Path(id): Path<String>,
    Body(change): Body<ReferentChange>,
) -> ApiResult<Response> {
    Ok(Json(write(&app, |w| {
        contracts::change_referent(w, &caller, &id, &change)
    })?)
    .into_response())
}

async fn list_users(
    State(app): AppState,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> ApiResult<Response> {
    page(read(&app, |w| users::list(w, &caller, &id))?, &uri, caller.lang)
}

async fn find_account(State(app): AppState, caller: Caller, uri: Uri) -> ApiResult<Response> {
    let q = query(&uri)?;
    let Some(email) = q.get("email") else {
        return Err(ApiError::bad_request(caller.tr(
            "the email query parameter is required",
            "le paramètre email est obligatoire",
        )));
    };
    Ok(Json(read(&app, |w| users::find(w, &caller, email))?).into_response())
}

async fn add_user(
    State(app): AppState,
    caller: Caller,
    Path(id): Path<String>,
    Body(new): Body<NewUser>,
) -> ApiResult<Response> {
    let (result, created) = write(&app, |w| users::add(w, &caller, &id, &new))?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(result)).into_response())
}

async fn set_access(
    State(app): AppState,
    caller: Caller,
    Path((id, account)): Path<(String, String)>,
    Body(update): Body<AccessUpdate>,
) -> ApiResult<Response> {
    Ok(Json(write(&app, |w| {
        users::set_access(w, &caller, &id, &account, &update)
    })?)
    .into_response())
}

async fn remove_access(
    State(app): AppState,
    caller: Caller,
    Path((id, account)): Path<(String, String)>,
) -> ApiResult<Response> {
    write(&app, |w| users::remove_access(w, &caller, &id, &account))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_account(
    State(app): AppState,
    caller: Caller,
    Path(account): Path<String>,
) -> ApiResult<Response> {
    write(&app, |w| users::delete(w, &caller, &account))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn invite(State(app): AppState, caller: Caller, Path(account): Path<String>) -> ApiResult<Response> {
    Ok(Json(write(&app, |w| users::invite(w, &caller, &account))?).into_response())
}

async fn consumption(State(app): AppState, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    let out = read(&app, |w| {
        Ok(billing::consumption(
            w,
            caller.require(w, &id, Section::Invoices, Profile::Visitor)?,
            w.clock.now(),
        ))
    })?;
    Ok(Json(out).into_response())
}

async fn platform_status(
    State(app): AppState,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let out = read(&app, |w| {
        let c = caller.require(w, &id, Section::Dashboard, Profile::Visitor)?;
        Ok(weather::platform_status(w, c, w.clock.now(), caller.lang))
    })?;
    Ok(Json(out).into_response())
}

async fn list_bills(
    State(app): AppState,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> ApiResult<Response> {
    let bills = read(&app, |w| {
        Ok(billing::bills(
            w,
            caller.require(w, &id, Section::Invoices, Profile::Manager)?,
            w.clock.now(),
        ))
    })?;
    page(bills, &uri, caller.lang)
}

async fn bill_pdf(
    State(app): AppState,
    caller: Caller,
    Path((id, bill)): Path<(String, String)>,
) -> ApiResult<Response> {
    let pdf = read(&app, |w| {
        let c = caller.require(w, &id, Section::Invoices, Profile::Manager)?;
        let found = billing::bills(w, c, w.clock.now())
            .into_iter()
            .find(|b| b.id == bill);
        let found = found.ok_or_else(|| {
            ApiError::not_found(caller.tr(format!("unknown bill {bill}"), format!("facture {bill} inconnue")))
        })?;
        let config = &w.config;
        let size = billing::pdf_size(config.seed, &found, config.pdf_min_bytes, config.pdf_max_bytes);
        Ok(billing::bill_pdf(&found, c, config.seed, size))
    })?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
}

async fn billing_report(
    State(app): AppState,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> ApiResult<Response> {
    let q = query(&uri)?;
    let period = q
        .get("period")
        .and_then(|p| NaiveDate::parse_from_str(&format!("{p}-01"), "%Y-%m-%d").ok());
    let Some(period) = period else {
        return Err(ApiError::bad_request(
            caller.tr("period must be YYYY-MM", "period doit être au format AAAA-MM"),
        ));
    };
    let csv = read(&app, |w| {
        let c = caller.require(w, &id, Section::Invoices, Profile::Manager)?;
        Ok(billing::billing_report(w, c, period, w.clock.now()))
    })?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response())
}

async fn list_catalog(
    State(app): AppState,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> ApiResult<Response> {
    let offer = read(&app, |w| {
        Ok(caller.require(w, &id, Section::Catalog, Profile::Visitor)?.offer)
    })?;
    page(super::catalog::items(offer, caller.lang), &uri, caller.lang)
}

async fn submit_request(
    State(app): AppState,
    caller: Caller,
    Path(id): Path<String>,
    Body(new): Body<NewRequest>,
) -> ApiResult<Response> {
    let (request, created) = write(&app, |w| requests::submit(w, &caller, &id, &new))?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(request)).into_response())
}

async fn list_requests(
    State(app): AppState,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> ApiResult<Response> {
    let q = query(&uri)?;
    let state = match q.get("state") {
        None => None,
        Some(s) => Some(
            serde_json::from_value::<RequestState>(serde_json::Value::String(s.clone())).map_err(|_| {
                ApiError::bad_request(caller.tr(format!("unknown state {s}"), format!("état {s} inconnu")))
            })?,
        ),
    };
    let found = read(&app, |w| {
        requests::list(
            w,
            &caller,
            &id,
            q.get("customerReference").map(String::as_str),
            state,
        )
    })?;
    page(found, &uri, caller.lang)
}

async fn get_request(
    State(app): AppState,
    caller: Caller,
    Path((id, req)): Path<(String, String)>,
) -> ApiResult<Response> {
    Ok(Json(read(&app, |w| requests::get(w, &caller, &id, &req))?).into_response())
}

async fn cancel_request(
    State(app): AppState,
    caller: Caller,
    Path((id, req)): Path<(String, String)>,
) -> ApiResult<Response> {
    Ok(Json(write(&app, |w| requests::cancel(w, &caller, &id, &req))?).into_response())
}

/// The business routes, with paths exactly as in the OpenAPI document.
pub fn routes() -> Router<Arc<App>> {
    let c = |rest: &str| format!("{}/contracts/{{contractId}}{rest}", ccs_portal_model::API_PREFIX);
    let p = |rest: &str| format!("{}{rest}", ccs_portal_model::API_PREFIX);
    Router::new()
        .route("/oauth/v3/token", post(super::auth::token))
        .route(&p("/contracts"), get(list_contracts))
        .route(&c(""), get(get_contract))
        .route(&c("/dashboard"), get(dashboard))
        .route(&c("/referent"), axum::routing::put(change_referent))
        .route(&c("/users"), get(list_users).post(add_user))
        .route(
            &c("/users/{accountId}"),
            axum::routing::put(set_access).delete(remove_access),
        )
        .route(&p("/users"), get(find_account))
        .route(&p("/users/{accountId}"), axum::routing::delete(delete_account))
        .route(&p("/users/{accountId}/invitation"), post(invite))
        .route(&c("/consumption"), get(consumption))
        .route(&c("/platform-status"), get(platform_status))
        .route(&c("/bills"), get(list_bills))
        .route(&c("/bills/{billId}/pdf"), get(bill_pdf))
        .route(&c("/billing-report"), get(billing_report))
        .route(&c("/catalog-items"), get(list_catalog))
        .route(&c("/requests"), get(list_requests).post(submit_request))
        .route(&c("/requests/{requestId}"), get(get_request))
        .route(&c("/requests/{requestId}/cancel"), post(cancel_request))
}
