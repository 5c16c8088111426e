//! Lists (objects, Table, metadata) and deletecollection.

use super::error::{ApiError, ApiResult};
use super::ops::{DeleteOptions, Target};
use super::resource::ResourceInfo;
use super::selector::Selectors;
use super::store::Store;
use super::store::key_of;
use super::table::{self, Format};
use super::view::present;
use axum::http::StatusCode;
use base64::Engine;
use serde_json::{Value, json};
use std::sync::Arc;

/// `limit` and `continue` of a list request.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// At most this many items.
    pub limit: Option<usize>,
    /// Token from the previous page.
    pub continue_token: Option<String>,
}

/// One page: items, the list's resourceVersion, the next token and how many remain.
struct Paged {
    items: Vec<Arc<Value>>,
    revision: u64,
    next: Option<(String, usize)>,
}

const TOO_OLD: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.";

/// Cuts a page out of the items (in key order). Later pages show the current objects after the
/// token's key and report the first page's revision, so a watch from it misses nothing.
fn paginate(items: Vec<Arc<Value>>, revision: u64, compacted: u64, page: &Page) -> ApiResult<Paged> {
    let bad = || ApiError::bad_request("continue key is not valid");
    let (revision, items) = match &page.continue_token {
        None => (revision, items),
        Some(token) => {
            let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(token)
                .map_err(|_| bad())?;
            let (rv, ns, name): (u64, String, String) = serde_json::from_slice(&raw).map_err(|_| bad())?;
            if rv < compacted {
                return Err(ApiError::new(StatusCode::GONE, "Expired", TOO_OLD));
            }
            let after = (ns, name);
            (rv, items.into_iter().filter(|o| key_of(o) > after).collect())
        }
    };
    let Some(limit) = page.limit.filter(|l| *l > 0 && *l < items.len()) else {
        return Ok(Paged {
            items,
            revision,
            next: None,
        });
    };
    let remaining = items.len() - limit;
    let mut items = items;
    items.truncate(limit);
    let (ns, name) = key_of(items.last().expect("limit > 0"));
    let token = serde_json::to_vec(&(revision, ns, name)).unwrap_or_default();
    let next = Some((
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token),
        remaining,
    ));
    Ok(Paged {
        items,
        revision,
        next,
    })
}

/// `metadata` of a list page.
fn list_meta(paged: &Paged) -> Value {
    let mut meta = json!({"resourceVersion": paged.revision.to_string()});
    if let Some((token, remaining)) = &paged.next {
        meta["continue"] = json!(token);
        meta["remainingItemCount"] = json!(remaining);
    }
    meta
}

/// Matching objects (storage form), the current revision and the compaction point; the lock is
/// held only to clone Arcs.
pub fn snapshot(
    store: &Store,
    info: &ResourceInfo,
    namespace: Option<&str>,
    sel: &Selectors,
) -> (Vec<Arc<Value>>, u64, u64) {
    let inner = store.read();
    let Some(bucket) = inner.bucket(&info.storage) else {
        return (vec![], inner.revision, inner.compacted);
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
    (items, inner.revision, inner.compacted)
}

/// Serialised list response in the requested format.
pub fn list(
    store: &Store,
    info: &ResourceInfo,
    namespace: Option<&str>,
    sel: &Selectors,
    format: Format,
    page: &Page,
) -> ApiResult<Vec<u8>> {
    let (items, revision, compacted) = snapshot(store, info, namespace, sel);
    let paged = paginate(items, revision, compacted, page)?;
    let meta = list_meta(&paged);
    let items = &paged.items;
    Ok(match format {
        Format::Table => {
            let views: Vec<Value> = items.iter().map(|o| present(info, o)).collect();
            let mut t = table::table(info, &views, &paged.revision.to_string(), true);
            t["metadata"] = meta;
            serde_json::to_vec(&t).unwrap_or_default()
        }
        Format::Metadata => {
            let items: Vec<Value> = items.iter().map(|o| table::partial_metadata(o)).collect();
            let list = json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                "metadata": meta, "items": items});
            serde_json::to_vec(&list).unwrap_or_default()
        }
        Format::Object => {
            // Written piecewise so 10,000 stored objects are serialised without cloning them.
            let head = json!({"kind": format!("{}List", info.kind), "apiVersion": info.api_version(),
                "metadata": meta});
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
    })
}

/// DELETE on a collection: deletes each matching object; returns what was deleted or marked.
pub fn delete_collection(
    store: &Store,
    target: &Target,
    namespace: Option<&str>,
    sel: &Selectors,
    options: &DeleteOptions,
) -> ApiResult<Vec<Value>> {
    let (items, _, _) = snapshot(store, &target.info, namespace, sel);
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
