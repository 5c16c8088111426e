//! The call log: every business call with its route, status and client id; never a secret.

use super::auth::{basic_credentials, bearer};
use super::server::App;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;

/// One logged call.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    /// Sequence number, from 1.
    pub seq: u64,
    /// Simulated time of the call.
    pub at: DateTime<Utc>,
    /// HTTP method.
    pub method: String,
    /// Route template, as in the OpenAPI document (the path when no route matched).
    pub route: String,
    /// Path as called.
    pub path: String,
    /// Contract id from the path, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_id: Option<String>,
    /// Client id of the caller, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Status answered; 0 while the call is still in flight (e.g. held by a hang fault).
    pub status: u16,
    /// Injected fault, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

/// Marks a response with the fault that shaped it.
#[derive(Clone, Debug)]
pub struct FaultApplied(pub String);

/// A bounded log.
#[derive(Default)]
pub struct CallLog {
    records: VecDeque<CallRecord>,
    next: u64,
    /// Calls being answered now, and the most at once since the last [`CallLog::clear`].
    in_flight: usize,
    max_in_flight: usize,
}

impl CallLog {
    /// Appends a record and returns its sequence number.
    fn push(&mut self, mut record: CallRecord, capacity: usize) -> u64 {
        self.next += 1;
        record.seq = self.next;
        if self.records.len() >= capacity.max(1) {
            self.records.pop_front();
        }
        self.records.push_back(record);
        self.in_flight += 1;
        self.max_in_flight = self.max_in_flight.max(self.in_flight);
        self.next
    }

    /// The most calls answered at once since the last [`CallLog::clear`].
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    /// Fills in the answer of a record, if it is still kept.
    fn answer(&mut self, seq: u64, status: u16, fault: Option<String>) {
        let first = self.records.front().map_or(0, |r| r.seq);
        if let Some(record) = seq
            .checked_sub(first)
            .and_then(|i| self.records.get_mut(i as usize))
        {
            record.status = status;
            record.fault = fault;
        }
    }
    /// All records after `since`.
    pub fn since(&self, since: u64) -> Vec<CallRecord> {
        self.records.iter().filter(|r| r.seq > since).cloned().collect()
    }
    /// Forgets everything (sequence numbers keep growing).
    pub fn clear(&mut self) {
        self.records.clear();
        self.max_in_flight = self.in_flight;
    }
}

fn contract_of(path: &str) -> Option<String> {
    let mut parts = path.split('/');
    parts.by_ref().find(|p| *p == "contracts")?;
    parts.next().filter(|p| !p.is_empty()).map(String::from)
}

/// Middleware recording each call when it arrives (so calls held by a hang are visible) and its
/// answer when it leaves.
pub async fn record(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| path.clone(), |m| m.as_str().to_string());
    let client_id = match bearer(req.headers()) {
        Some(token) => app.client_of_token(token),
        None => basic_credentials(req.headers()).map(|(id, _)| id),
    };
    let at = app.read().clock.now();
    let contract_id = contract_of(&path);
    let record = CallRecord {
        seq: 0,
        at,
        method,
        contract_id,
        route,
        path,
        client_id,
        status: 0,
        fault: None,
    };
    let seq = app
        .calls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(record, app.call_log_capacity);
    // Counted out when the answer leaves, or when the caller gives up and the call is dropped.
    struct Leaving(Arc<App>);
    impl Drop for Leaving {
        fn drop(&mut self) {
            let mut calls = self.0.calls.lock().unwrap_or_else(|e| e.into_inner());
            calls.in_flight = calls.in_flight.saturating_sub(1);
        }
    }
    let leaving = Leaving(app.clone());
    let resp = next.run(req).await;
    drop(leaving);
    let fault = resp.extensions().get::<FaultApplied>().map(|f| f.0.clone());
    app.calls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .answer(seq, resp.status().as_u16(), fault);
    resp
}
