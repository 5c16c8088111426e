//! A directory of a volume as a destination: `<billing.volumeRoot>/<namespace>/<claimName>/<path>`.
//! Keys are relative paths checked segment by segment (no `..`, no absolute path, no hidden
//! segment), so no key leaves the directory. A file is written to a hidden temporary name, synced,
//! then renamed: a killed write leaves no partial file at its key. Its SHA-256 and owner go to a
//! hidden sidecar `.<name>.ccs-export`.

use super::store::{ObjectInfo, Store, StoreError, StoreErrorKind, file_sha256};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A directory destination.
pub struct VolumeStore {
    dir: PathBuf,
    label: String,
}

/// What the sidecar of a file records.
#[derive(Serialize, Deserialize)]
struct Sidecar {
    owner: String,
    sha256: String,
}

/// The directory of a volume destination, refusing any path that would leave `root`.
pub fn directory(root: &Path, namespace: &str, claim: &str, path: &str) -> Result<PathBuf, String> {
    let mut dir = root.to_path_buf();
    for part in [namespace, claim] {
        dir.push(safe_segment(part).ok_or_else(|| format!("{part:?} is not a valid name"))?);
    }
    for part in path.split('/').filter(|s| !s.is_empty()) {
        dir.push(
            safe_segment(part)
                .ok_or_else(|| format!("spec.destination.volume.path: {part:?} is not allowed"))?,
        );
    }
    Ok(dir)
}

/// A path segment that stays where it is: not empty, not `.`/`..`, not hidden, no separator.
fn safe_segment(s: &str) -> Option<&str> {
    let ok = !s.is_empty()
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-{}".contains(c));
    ok.then_some(s)
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    let kind = match e.kind() {
        std::io::ErrorKind::PermissionDenied => StoreErrorKind::Denied,
        std::io::ErrorKind::NotFound => StoreErrorKind::Missing,
        _ => StoreErrorKind::Unavailable,
    };
    StoreError::new(kind, format!("{what} {}: {e}", path.display()))
}

impl VolumeStore {
    /// A store writing under `dir`; `label` names it in status (`volume:claim/path`).
    pub fn new(dir: PathBuf, label: String) -> Self {
        Self { dir, label }
    }

    /// The file of a key, refusing keys that would leave the directory.
    fn path_of(&self, key: &str) -> Result<PathBuf, StoreError> {
        let mut path = self.dir.clone();
        for part in key.split('/').filter(|s| !s.is_empty()) {
            let part = safe_segment(part).ok_or_else(|| {
                StoreError::new(
                    StoreErrorKind::Invalid,
                    format!("key {key:?}: {part:?} is not allowed"),
                )
            })?;
            path.push(part);
        }
        Ok(path)
    }

    fn sidecar_of(path: &Path) -> PathBuf {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        path.with_file_name(format!(".{name}.ccs-export"))
    }
}

#[async_trait]
impl Store for VolumeStore {
    fn describe(&self) -> String {
        self.label.clone()
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, StoreError> {
        let path = self.path_of(key)?;
        match tokio::fs::metadata(&path).await {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("reading", &path, e)),
            Ok(_) => {}
        }
        let (bytes, sha256) = file_sha256(&path)
            .await
            .map_err(|e| io_error("reading", &path, e))?;
        let owner = tokio::fs::read(Self::sidecar_of(&path))
            .await
            .ok()
            .and_then(|b| serde_json::from_slice::<Sidecar>(&b).ok())
            .filter(|s| s.sha256 == sha256)
            .map(|s| s.owner);
        Ok(Some(ObjectInfo {
            bytes,
            sha256: Some(sha256),
            owner,
            etag: None,
        }))
    }

    async fn put(
        &self,
        key: &str,
        file: &Path,
        _bytes: u64,
        sha256: &str,
        owner: &str,
    ) -> Result<Option<String>, StoreError> {
        let path = self.path_of(key)?;
        let dir = path.parent().unwrap_or(&self.dir).to_path_buf();
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| io_error("creating", &dir, e))?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let partial = dir.join(format!(".{name}.partial-{}", fastrand::u64(..)));
        let written = async {
            tokio::fs::copy(file, &partial).await?;
            tokio::fs::File::open(&partial).await?.sync_all().await?;
            let sidecar = serde_json::to_vec(&Sidecar {
                owner: owner.into(),
                sha256: sha256.into(),
            })
            .unwrap_or_default();
            // The sidecar first: a file found without its sidecar is taken as foreign and never
            // deleted, the safe side.
            tokio::fs::write(Self::sidecar_of(&path), sidecar).await?;
            tokio::fs::rename(&partial, &path).await
        }
        .await;
        if let Err(e) = written {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(io_error("writing", &path, e));
        }
        Ok(None)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let dir = self.path_of(prefix)?;
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(io_error("listing", &dir, e)),
            Ok(entries) => entries,
        };
        let mut keys = Vec::new();
        let base = prefix.trim_end_matches('/');
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|e| io_error("listing", &dir, e))?
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !entry.file_type().await.is_ok_and(|t| t.is_file()) {
                continue;
            }
            keys.push(format!("{base}/{name}"));
        }
        keys.sort();
        Ok(keys)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path_of(key)?;
        for p in [path.clone(), Self::sidecar_of(&path)] {
            match tokio::fs::remove_file(&p).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io_error("deleting", &p, e));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_directory_leaves_the_root() {
        let root = Path::new("/exports");
        assert_eq!(
            directory(root, "team", "billing", "/a/b/").expect("ok"),
            PathBuf::from("/exports/team/billing/a/b")
        );
        assert!(directory(root, "team", "billing", "/a/../../x").is_err());
        assert!(directory(root, "..", "billing", "/").is_err());
        assert!(directory(root, "team", ".hidden", "/").is_err());
    }

    #[tokio::test]
    async fn a_written_file_is_found_with_its_owner_and_keys_cannot_escape() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = VolumeStore::new(dir.path().join("out"), "volume:x".into());
        let src = dir.path().join("src");
        tokio::fs::write(&src, b"hello").await.expect("write");
        let (bytes, sha) = file_sha256(&src).await.expect("sha");
        store
            .put("p/2026-01/a.csv", &src, bytes, &sha, "uid-1")
            .await
            .expect("put");
        let info = store.head("p/2026-01/a.csv").await.expect("head").expect("found");
        assert_eq!(
            (info.bytes, info.sha256.as_deref(), info.owner.as_deref()),
            (5, Some(sha.as_str()), Some("uid-1"))
        );
        assert_eq!(
            store.list("p/2026-01/").await.expect("list"),
            vec!["p/2026-01/a.csv"]
        );
        assert!(store.head("../escape").await.is_err());
        assert!(store.put("p/../../x", &src, bytes, &sha, "u").await.is_err());
        store.delete("p/2026-01/a.csv").await.expect("delete");
        assert!(store.head("p/2026-01/a.csv").await.expect("head").is_none());
    }
}
