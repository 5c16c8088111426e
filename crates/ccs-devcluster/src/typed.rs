//! Built-in kinds are decoded through their k8s-openapi types, as the real server decodes them
//! into Go structs: fields the type does not have are dropped (and reported for
//! `fieldValidation`), malformed values (bad base64, bad timestamps) are a 400.

use super::error::{ApiError, ApiResult};
use super::resource::Builtin;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, Secret};
use k8s_openapi::api::rbac::v1 as rbac;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn roundtrip<T: DeserializeOwned + Serialize>(object: &Value) -> ApiResult<Value> {
    let typed: T = serde_json::from_value(object.clone())
        .map_err(|e| ApiError::bad_request(format!("error decoding the object: {e}")))?;
    serde_json::to_value(typed).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// Paths present (and not null) in `original` but missing from `known`.
fn missing(original: &Value, known: &Value, at: &str, out: &mut Vec<String>) {
    let (Some(o), Some(k)) = (original.as_object(), known.as_object()) else {
        return;
    };
    for (key, value) in o {
        let path = if at.is_empty() {
            key.clone()
        } else {
            format!("{at}.{key}")
        };
        match k.get(key) {
            None if !value.is_null() => out.push(path),
            Some(inner) => missing(value, inner, &path, out),
            None => {}
        }
    }
}

/// Replaces `object` by its typed decoding; returns the dropped fields.
pub fn prune(builtin: Builtin, object: &mut Value) -> ApiResult<Vec<String>> {
    let known = match builtin {
        Builtin::Namespace => roundtrip::<Namespace>(object)?,
        Builtin::ConfigMap => roundtrip::<ConfigMap>(object)?,
        Builtin::Secret => roundtrip::<Secret>(object)?,
        Builtin::Event | Builtin::EventV1 => roundtrip::<Event>(object)?,
        Builtin::Lease => roundtrip::<Lease>(object)?,
        Builtin::Crd => roundtrip::<CustomResourceDefinition>(object)?,
        Builtin::Role => roundtrip::<rbac::Role>(object)?,
        Builtin::RoleBinding => roundtrip::<rbac::RoleBinding>(object)?,
        Builtin::ClusterRole => roundtrip::<rbac::ClusterRole>(object)?,
        Builtin::ClusterRoleBinding => roundtrip::<rbac::ClusterRoleBinding>(object)?,
        Builtin::SubjectAccessReview => {
            roundtrip::<k8s_openapi::api::authorization::v1::SubjectAccessReview>(object)?
        }
    };
    let mut unknown = vec![];
    missing(object, &known, "", &mut unknown);
    *object = known;
    Ok(unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_are_dropped_and_reported() {
        let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "bogus": 1}, "data": {"k": "v"}, "dta": {}});
        let unknown = prune(Builtin::ConfigMap, &mut cm).unwrap();
        assert_eq!(unknown, ["dta", "metadata.bogus"]);
        assert_eq!(cm["data"]["k"], "v");
        let mut secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "not base64!"}});
        assert!(prune(Builtin::Secret, &mut secret).is_err());
    }
}
