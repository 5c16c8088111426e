//! Lists (objects, Table, metadata) and deletecollection.

use super::error::ApiResult;
use super::ops::{DeleteOptions, Target};
use super::resource::ResourceInfo;
use super::selector::Selectors;
use super::store::Store;
use super::table::{self, Format};
use super::view::present;
use serde_json::{Value, json};
use std::sync::Arc;

/// Matching objects (storage form) and the current revision; the lock is held only to clone Arcs.
pub fn snapshot(
    store: &Store,
    info: &ResourceInfo,
    namespace: Option<&str>,
    sel: &Selectors,
) -> (Vec<Arc<Value>>, u64) {
    let inner = store.read();
    let Some(bucket) = inner.bucket(&info.storage) else {
        return (vec![], inner.revision);
    };
    let items = match namespace {
        Some(ns) => bucket
            .range((ns.to_string(), String::new())..)
            .take_while(|(k, _)| k.0 == ns)
            .map(|(_, v)| v)
            .filter(|o| sel.matches(o))
            .cloned()
            .collect(),
        None => bucket.values().filter(|o| sel.matches(o)).cloned().collect(),
    };
    (items, inner.revision)
}

/// Serialised list response in the requested format.
pub fn list(
    store: &Store,
    info: &ResourceInfo,
    namespace: Option<&str>,
    sel: &Selectors,
    format: Format,
) -> Vec<u8> {
    let (items, revision) = snapshot(store, info, namespace, sel);
    let rv = revision.to_string();
    match format {
        Format::Table => {
            let views: Vec<Value> = items.iter().map(|o| present(info, o)).collect();
            serde_json::to_vec(&table::table(info, &views, &rv, true)).unwrap_or_default()
        }
        Format::Metadata => {
            let items: Vec<Value> = items.iter().map(|o| table::partial_metadata(o)).collect();
            let list = json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                "metadata": {"resourceVersion": rv}, "items": items});
            serde_json::to_vec(&list).unwrap_or_default()
        }
        Format::Object => {
            // Written piecewise so 10,000 stored objects are serialised without cloning them.
            let head = json!({"kind": format!("{}List", info.kind), "apiVersion": info.api_version(),
                "metadata": {"resourceVersion": rv}});
            let mut out = serde_json::to_vec(&head).unwrap_or_default();
            out.pop();
            out.extend_from_slice(b",\"items\":[");
            let api_version = info.api_version();
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let written = if item["apiVersion"].as_str() == Some(api_version.as_str()) {
                    serde_json::to_writer(&mut out, &**item)
                } else {
                    serde_json::to_writer(&mut out, &present(info, item))
                };
                written.unwrap_or_default();
            }
            out.extend_from_slice(b"]}");
            out
        }
    }
}

/// DELETE on a collection: deletes each matching object; returns what was deleted or marked.
pub fn delete_collection(
    store: &Store,
    target: &Target,
    namespace: Option<&str>,
    sel: &Selectors,
    options: &DeleteOptions,
) -> ApiResult<Vec<Value>> {
    let (items, _) = snapshot(store, &target.info, namespace, sel);
    let mut deleted = vec![];
    for item in items {
        let t = Target {
            namespace: item["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            name: item["metadata"]["name"].as_str().unwrap_or_default().to_string(),
            ..target.clone()
        };
        if store.delete(&t, options).is_ok() {
            deleted.push((*item).clone());
        }
    }
    Ok(deleted)
}
