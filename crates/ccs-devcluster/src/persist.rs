//! `--data-dir` persistence: the store is snapshotted to `store.json` (atomically, when it
//! changed, at most once a second and at shutdown) and reloaded at start.

use super::resource::GroupResource;
use super::store::{Store, key_of};
use anyhow::Context;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

fn file(dir: &Path) -> PathBuf {
    dir.join("store.json")
}

/// Loads a snapshot into an empty store; returns false when there is none.
pub fn load(store: &Store, dir: &Path) -> anyhow::Result<bool> {
    let path = file(dir);
    if !path.exists() {
        return Ok(false);
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let snapshot: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let mut inner = store.write();
    for entry in snapshot["objects"].as_array().into_iter().flatten() {
        let storage: GroupResource =
            serde_json::from_value(entry["storage"].clone()).context("bad storage key")?;
        let object = entry["object"].clone();
        inner
            .objects
            .entry(storage)
            .or_default()
            .insert(key_of(&object), Arc::new(object));
    }
    inner.revision = snapshot["revision"].as_u64().unwrap_or(1);
    // History is not persisted: watches from before the restart must relist.
    inner.compacted = inner.revision;
    inner.rebuild_registry();
    Ok(true)
}

/// Writes the snapshot if the store changed since the last one.
pub fn save(store: &Store, dir: &Path) -> anyhow::Result<()> {
    if !store.dirty.swap(false, Ordering::Relaxed) {
        return Ok(());
    }
    let snapshot = {
        let inner = store.read();
        let objects: Vec<Value> = inner
            .objects
            .iter()
            .flat_map(|(storage, bucket)| {
                bucket
                    .values()
                    .map(move |o| json!({"storage": storage, "object": **o}))
            })
            .collect();
        json!({"revision": inner.revision, "objects": objects})
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = dir.join("store.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec(&snapshot)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, file(dir)).context("replacing store.json")?;
    Ok(())
}

/// Saves once a second until the store closes.
pub async fn run(store: Arc<Store>, dir: PathBuf) {
    let mut closing = store.closing.subscribe();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = closing.wait_for(|c| *c) => break,
        }
        if let Err(e) = save(&store, &dir) {
            tracing::warn!("dev-cluster snapshot failed: {e:#}");
        }
    }
}
