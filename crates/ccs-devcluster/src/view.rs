//! Conversion between the stored form of an object and the version a request names.

use super::events;
use super::resource::{Builtin, ResourceInfo};
use serde_json::Value;

/// The stored object as seen through `info`'s group/version.
pub fn present(info: &ResourceInfo, stored: &Value) -> Value {
    match info.builtin {
        Some(Builtin::EventV1) => events::from_core(stored),
        _ => {
            let mut v = stored.clone();
            if stored["apiVersion"].as_str() != Some(&info.api_version()) {
                // CRD versions with `conversion: None` differ only in apiVersion.
                v["apiVersion"] = Value::String(info.api_version());
            }
            v
        }
    }
}

/// A request body in `info`'s version, converted to the stored form.
pub fn to_storage(info: &ResourceInfo, view: Value) -> Value {
    match info.builtin {
        Some(Builtin::EventV1) => events::to_core(&view),
        _ => view,
    }
}
