//! A destination of billing files: put, look up, list and delete objects by key. Every object
//! written carries its SHA-256 and its owner (the export's uid) as metadata, so a restart finds
//! what was delivered, and retention deletes only what this export wrote.

use async_trait::async_trait;
use std::path::Path;

/// What a destination knows of an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256 of the content (hex), as recorded when written, or computed.
    pub sha256: Option<String>,
    /// Uid of the export that wrote it; `None` for a foreign object.
    pub owner: Option<String>,
    /// ETag, when the storage has one.
    pub etag: Option<String>,
}

/// Why a destination call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// Credentials refused (HTTP 401/403 from S3, or a permission error on the volume).
    Denied,
    /// The bucket or directory does not exist.
    Missing,
    /// A transient failure: retried with backoff.
    Unavailable,
    /// A request the destination will never accept.
    Invalid,
}

/// A failed destination call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    /// Classification.
    pub kind: StoreErrorKind,
    /// What happened (never a credential).
    pub message: String,
}

impl StoreError {
    /// An error of `kind`.
    pub fn new(kind: StoreErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// Object metadata key of the SHA-256 (S3 `x-amz-meta-…`).
pub const META_SHA256: &str = "ccs-sha256";
/// Object metadata key of the owner (the export's uid).
pub const META_OWNER: &str = "ccs-owner";

/// A destination of billing files.
#[async_trait]
pub trait Store: Send + Sync {
    /// Where the files go, for status and messages (`s3://bucket`, `volume:claim/path`).
    fn describe(&self) -> String;
    /// The object at `key`, if any.
    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, StoreError>;
    /// Writes `file` (`bytes` long, `sha256`) at `key` as one atomic object owned by `owner`;
    /// returns the ETag when there is one. A failure leaves no partial object at `key`.
    async fn put(
        &self,
        key: &str,
        file: &Path,
        bytes: u64,
        sha256: &str,
        owner: &str,
    ) -> Result<Option<String>, StoreError>;
    /// The keys under `prefix`.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError>;
    /// Deletes the object at `key` (absent is fine).
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
}

/// SHA-256 (hex) of a file, read in chunks.
pub async fn file_sha256(path: &Path) -> std::io::Result<(u64, String)> {
    use tokio::io::AsyncReadExt;
    let mut file = tokio::fs::File::open(path).await?;
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        total += n as u64;
        digest.update(&buf[..n]);
    }
    Ok((total, crate::portal::hex(digest.finish().as_ref())))
}
