//! Admin routes for tests and demos (disabled by `--no-admin`): call log, clock, faults, tokens,
//! incidents, state and the seeded credentials.

use super::calllog::CallRecord;
use super::errors::{ApiError, ApiResult};
use super::faults::FaultRule;
use super::server::App;
use super::world::ManualIncident;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::get, routing::post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

type AppState = State<Arc<App>>;

async fn calls(State(app): AppState, Query(q): Query<HashMap<String, String>>) -> Json<Vec<CallRecord>> {
    let since = q.get("since").and_then(|s| s.parse().ok()).unwrap_or(0);
    Json(app.calls.lock().unwrap_or_else(|e| e.into_inner()).since(since))
}

async fn clear_calls(State(app): AppState) -> StatusCode {
    app.calls.lock().unwrap_or_else(|e| e.into_inner()).clear();
    StatusCode::NO_CONTENT
}

/// The clock as shown and as changed by the admin API.
#[derive(Serialize, Deserialize, Default, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ClockChange {
    /// Set the time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<DateTime<Utc>>,
    /// Then move it by this many simulated seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advance_seconds: Option<f64>,
    /// Then set the speed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
}

fn clock_view(app: &App) -> Json<ClockChange> {
    let world = app.read();
    Json(ClockChange {
        now: Some(world.clock.now()),
        advance_seconds: None,
        speed: Some(world.clock.speed()),
    })
}

async fn get_clock(State(app): AppState) -> Json<ClockChange> {
    clock_view(&app)
}

async fn set_clock(
    State(app): AppState,
    super::handlers::Body(change): super::handlers::Body<ClockChange>,
) -> Json<ClockChange> {
    {
        let mut world = app.write();
        if let Some(now) = change.now {
            world.clock.set(now);
        }
        if let Some(secs) = change.advance_seconds {
            world.clock.advance(secs);
        }
        if let Some(speed) = change.speed {
            world.clock.set_speed(speed);
        }
    }
    app.persist();
    clock_view(&app)
}

async fn get_faults(State(app): AppState) -> Json<Vec<FaultRule>> {
    Json(app.faults.lock().unwrap_or_else(|e| e.into_inner()).rules())
}

async fn set_faults(
    State(app): AppState,
    super::handlers::Body(rules): super::handlers::Body<Vec<FaultRule>>,
) -> Json<Vec<FaultRule>> {
    app.faults
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .set(rules.clone());
    Json(rules)
}

async fn clear_faults(State(app): AppState) -> StatusCode {
    app.faults.lock().unwrap_or_else(|e| e.into_inner()).set(vec![]);
    StatusCode::NO_CONTENT
}

async fn revoke(State(app): AppState) -> StatusCode {
    app.revoke_tokens();
    StatusCode::NO_CONTENT
}

/// Body of "open an incident".
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct NewIncident {
    /// Region (must be one some contract uses to be visible).
    pub region: String,
    /// 1-4.
    pub severity: u8,
    /// Title.
    pub title: String,
    /// How long until resolved, simulated seconds.
    pub duration_seconds: i64,
}

async fn open_incident(
    State(app): AppState,
    super::handlers::Body(new): super::handlers::Body<NewIncident>,
) -> ApiResult<Response> {
    if !(1..=4).contains(&new.severity) || new.duration_seconds <= 0 {
        return Err(ApiError::invalid(
            "severity must be 1-4 and durationSeconds > 0".into(),
        ));
    }
    let incident = {
        let mut world = app.write();
        let platform = world
            .contracts
            .values()
            .find(|c| c.regions.contains(&new.region))
            .map(|c| c.offer);
        let Some(platform) = platform else {
            return Err(ApiError::invalid(format!(
                "no contract uses region {}",
                new.region
            )));
        };
        let incident = ManualIncident {
            id: world.new_id("INC"),
            title: new.title,
            platform,
            region: new.region,
            severity: new.severity,
            opened_at: world.clock.now(),
            duration_seconds: new.duration_seconds,
            forced_state: None,
        };
        world.manual_incidents.push(incident.clone());
        incident
    };
    app.persist();
    Ok((StatusCode::CREATED, Json(incident)).into_response())
}

/// Body of "force an incident's state".
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IncidentStateChange {
    /// The state to show (`Resolved` ends it now); `null`: back to the one the clock gives.
    pub state: Option<ccs_portal_model::IncidentState>,
}

/// Forces the state of an incident opened through the admin API (a demo or test resolving it).
async fn set_incident_state(
    State(app): AppState,
    axum::extract::Path(id): axum::extract::Path<String>,
    super::handlers::Body(change): super::handlers::Body<IncidentStateChange>,
) -> ApiResult<Json<ManualIncident>> {
    if change.state == Some(ccs_portal_model::IncidentState::Unknown) {
        return Err(ApiError::invalid(
            "state must be Open, InProgress, Resolved or null".into(),
        ));
    }
    let incident = {
        let mut world = app.write();
        let Some(incident) = world.manual_incidents.iter_mut().find(|m| m.id == id) else {
            return Err(ApiError::not_found(format!(
                "no incident {id} opened through the admin API"
            )));
        };
        incident.forced_state = change.state;
        incident.clone()
    };
    app.persist();
    Ok(Json(incident))
}

/// Freezes or thaws the consumption data.
#[derive(Serialize, Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ConsumptionFreeze {
    /// Freeze at the current simulated time (true) or thaw (false).
    #[serde(default)]
    pub frozen: bool,
    /// When the data stopped, while frozen (answer only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frozen_at: Option<DateTime<Utc>>,
}

async fn freeze(
    State(app): AppState,
    super::handlers::Body(req): super::handlers::Body<ConsumptionFreeze>,
) -> Json<ConsumptionFreeze> {
    let frozen_at = super::freeze_consumption(&app, req.frozen);
    Json(ConsumptionFreeze {
        frozen: frozen_at.is_some(),
        frozen_at,
    })
}

/// Mutable state, without the credentials' secrets.
async fn state(State(app): AppState) -> Response {
    let world = app.read();
    let mut value = serde_json::to_value(&*world).unwrap_or_default();
    value.as_object_mut().map(|o| o.remove("credentials"));
    Json(value).into_response()
}

/// The seeded credentials, secrets included: they are the simulator's own fake secrets, and the
/// demo needs them to fill the operator's Secret.
async fn credentials(State(app): AppState) -> Json<Vec<super::SeededCredential>> {
    Json(super::seeded_credentials(&app.read()))
}

/// The admin routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/calls", get(calls).delete(clear_calls))
        .route("/clock", get(get_clock).put(set_clock))
        .route("/faults", get(get_faults).put(set_faults).delete(clear_faults))
        .route("/tokens/revoke", post(revoke))
        .route("/incidents", post(open_incident))
        .route("/incidents/{id}/state", axum::routing::put(set_incident_state))
        .route("/consumption", axum::routing::put(freeze))
        .route("/state", get(state))
        .route("/credentials", get(credentials))
}
