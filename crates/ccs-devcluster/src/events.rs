//! `events.k8s.io/v1` Events are stored as core `v1` Events, so that what a controller's
//! `Recorder` writes shows up in `kubectl describe` (which reads the core view).

use serde_json::{Map, Value};

/// (events.k8s.io/v1 field, core/v1 field) pairs that map one to one.
const FIELD_MAP: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("reportingInstance", "reportingInstance"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
    ("eventTime", "eventTime"),
    ("series", "series"),
    ("action", "action"),
    ("reason", "reason"),
    ("type", "type"),
    ("related", "related"),
    ("metadata", "metadata"),
];

fn rename(object: &Value, api_version: &str, from_new: bool) -> Value {
    let mut out = Map::new();
    out.insert("apiVersion".into(), Value::String(api_version.into()));
    out.insert("kind".into(), Value::String("Event".into()));
    for (new_name, core_name) in FIELD_MAP {
        let (src, dst) = if from_new {
            (new_name, core_name)
        } else {
            (core_name, new_name)
        };
        if let Some(v) = object.get(*src).filter(|v| !v.is_null()) {
            out.insert(dst.to_string(), v.clone());
        }
    }
    Value::Object(out)
}

/// events.k8s.io/v1 body -> stored core/v1 form.
pub fn to_core(object: &Value) -> Value {
    let mut core = rename(object, "v1", true);
    // The core view needs times for `kubectl describe`'s age column.
    let when = ["deprecatedLastTimestamp", "eventTime"]
        .iter()
        .find_map(|k| object.get(*k).and_then(Value::as_str))
        .map(|t| format!("{}Z", t.split('.').next().unwrap_or(t).trim_end_matches('Z')));
    if core.get("lastTimestamp").is_none()
        && let Some(t) = &when
    {
        core["lastTimestamp"] = Value::String(t.clone());
        if core.get("firstTimestamp").is_none() {
            core["firstTimestamp"] = Value::String(t.clone());
        }
    }
    if core.get("count").is_none() {
        let count = object["series"]["count"].as_i64().unwrap_or(1);
        core["count"] = Value::from(count);
    }
    if core.get("source").is_none()
        && let Some(c) = object.get("reportingController")
    {
        core["source"] = serde_json::json!({"component": c});
    }
    core
}

/// Stored core/v1 form -> events.k8s.io/v1 view.
pub fn from_core(object: &Value) -> Value {
    rename(object, "events.k8s.io/v1", false)
}
