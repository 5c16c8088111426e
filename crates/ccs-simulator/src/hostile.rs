//! The `hostileData` fault: a real answer rewritten into data that is well formed but extreme,
//! as an external system may send: negative or 30-digit amounts, huge lists, dates at the end of
//! what chrono represents, enum values this client does not know, very long strings.

use axum::body::Body;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Largest body the rewrite reads (the simulator's own answers are far smaller).
const MAX_BODY: usize = 8 * 1024 * 1024;

/// What a `hostileData` fault rewrites in a JSON answer.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum HostileCase {
    /// Every decimal `amount`/`amountToDate` negated (a credit note: `-120.00`).
    NegativeAmounts,
    /// Every decimal amount replaced by one with 30 digits.
    HugeAmounts,
    /// Lists of incidents, subscriptions, daily amounts and history grown to `items` entries.
    HugeLists,
    /// Every RFC 3339 instant moved to the year +262142.
    ExtremeDates,
    /// Every `weather`, `state` and `status` value replaced by one the API does not define yet.
    UnknownEnums,
    /// Every name, title, summary and message made 100,000 characters long.
    LongStrings,
}

/// Rewrites a JSON answer; other answers pass unchanged.
pub async fn rewrite(resp: Response, case: HostileCase, items: usize) -> Response {
    let is_json = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !is_json || !resp.status().is_success() {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    walk(&mut value, None, case, items);
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(serde_json::to_vec(&value).unwrap_or_default()))
}

fn walk(value: &mut Value, key: Option<&str>, case: HostileCase, items: usize) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                walk(v, Some(k.as_str()), case, items);
            }
        }
        Value::Array(list) => {
            if case == HostileCase::HugeLists
                && matches!(key, Some("incidents" | "subscriptions" | "daily" | "history"))
            {
                grow(list, items);
            }
            for v in list.iter_mut() {
                walk(v, None, case, items);
            }
        }
        Value::String(s) => {
            if let Some(new) = key.and_then(|k| replacement(k, s, case)) {
                *s = new;
            }
        }
        _ => {}
    }
}

fn replacement(key: &str, text: &str, case: HostileCase) -> Option<String> {
    let decimal = || text.parse::<f64>().is_ok();
    match case {
        HostileCase::NegativeAmounts if matches!(key, "amount" | "amountToDate") && decimal() => {
            Some(format!("-{}", text.trim_start_matches('-')))
        }
        HostileCase::HugeAmounts if matches!(key, "amount" | "amountToDate") && decimal() => {
            Some("123456789012345678901234567890.00".into())
        }
        HostileCase::ExtremeDates if chrono::DateTime::parse_from_rfc3339(text).is_ok() => {
            Some("+262142-12-31T23:59:59Z".into())
        }
        HostileCase::UnknownEnums if matches!(key, "weather" | "state" | "status") => {
            Some("SomethingNew".into())
        }
        HostileCase::LongStrings
            if matches!(key, "name" | "title" | "summary" | "message" | "consoleUrl") =>
        {
            Some("x".repeat(100_000))
        }
        _ => None,
    }
}

/// Grows `list` to `items` entries by copying its entries, with ids made unique.
fn grow(list: &mut Vec<Value>, items: usize) {
    let seeds = list.len();
    if seeds == 0 {
        return;
    }
    let mut n = seeds;
    while list.len() < items {
        let mut entry = list[n % seeds].clone();
        if let Some(Value::String(id)) = entry.get_mut("id") {
            *id = format!("{id}-h{n}");
        }
        list.push(entry);
        n += 1;
    }
}
