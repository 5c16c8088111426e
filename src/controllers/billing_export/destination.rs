//! Opens the destination of a BillingExport under the operator's rules: an S3 endpoint only from
//! `billing.allowedS3Endpoints`, S3 keys only from a Secret labelled
//! `customerspace.io/credentials=true`, a volume directory only under `billing.volumeRoot`.

use super::super::common::{Category, ReconcileError};
use super::super::context::Context;
use super::super::portal_access::is_marked;
use crate::api::billing_export::{BillingExport, Destination};
use crate::api::common::LABEL_CREDENTIALS;
use crate::billing::s3::S3Store;
use crate::billing::volume::{VolumeStore, directory};
use crate::billing::{Store, StoreError, StoreErrorKind};
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, ResourceExt};

/// Key of the S3 access key id in the destination Secret.
pub const KEY_ACCESS_KEY_ID: &str = "accessKeyId";
/// Key of the S3 secret access key in the destination Secret.
pub const KEY_SECRET_ACCESS_KEY: &str = "secretAccessKey";

/// An opened destination and the prefix template of its periods.
pub struct Opened {
    /// The store.
    pub store: Box<dyn Store>,
    /// `spec.destination.*.prefix`.
    pub prefix: String,
    /// How status names it, such as `s3://bucket/ccs/{contractId}/{period}/`.
    pub label: String,
}

/// Opens the destination of `obj`.
pub async fn open(ctx: &Context, obj: &BillingExport) -> Result<Opened, ReconcileError> {
    let namespace = obj.namespace().unwrap_or_default();
    match &obj.spec.destination {
        Destination { s3: Some(s3), .. } => {
            ctx.billing.s3_endpoints.check(&s3.endpoint).map_err(|why| {
                ReconcileError::new(
                    Category::EndpointNotAllowed,
                    format!(
                        "spec.destination.s3.endpoint: {why}; ask the operator's administrators to add it to billing.allowedS3Endpoints (allowed: {})",
                        none_if_empty(ctx.billing.s3_endpoints.describe())
                    ),
                )
            })?;
            let name = &s3.credentials_secret_ref.name;
            let secret = Api::<Secret>::namespaced(ctx.client.clone(), &namespace)
                .get_opt(name)
                .await?
                .ok_or_else(|| {
                    ReconcileError::new(
                        Category::SecretNotFound,
                        format!(
                            "spec.destination.s3.credentialsSecretRef.name: Secret {namespace}/{name} not found; create it with the keys {KEY_ACCESS_KEY_ID} and {KEY_SECRET_ACCESS_KEY} and the label {LABEL_CREDENTIALS}=true"
                        ),
                    )
                })?;
            if !is_marked(&secret.metadata) {
                return Err(ReconcileError::new(
                    Category::SecretNotMarked,
                    format!(
                        "Secret {namespace}/{name} is not marked as credentials: the operator reads only Secrets with the label {LABEL_CREDENTIALS}=true; add it with `kubectl label secret {name} -n {namespace} {LABEL_CREDENTIALS}=true`"
                    ),
                ));
            }
            let read = |key: &str| -> Result<String, ReconcileError> {
                let value = secret
                    .data
                    .as_ref()
                    .and_then(|d| d.get(key))
                    .and_then(|b| String::from_utf8(b.0.clone()).ok())
                    .map(|s| s.trim().to_string())
                    .unwrap_or_default();
                if value.is_empty() {
                    return Err(ReconcileError::new(
                        Category::SecretInvalid,
                        format!(
                            "Secret {namespace}/{name} has no value for key {key:?}; add it (the operator reads {KEY_ACCESS_KEY_ID} and {KEY_SECRET_ACCESS_KEY})"
                        ),
                    ));
                }
                Ok(value)
            };
            let store = S3Store::new(
                ctx.billing.s3_http.clone(),
                &s3.endpoint,
                &s3.region,
                &s3.bucket,
                read(KEY_ACCESS_KEY_ID)?,
                read(KEY_SECRET_ACCESS_KEY)?,
            )
            .map_err(|e| ReconcileError::new(Category::InvalidSpec, format!("spec.destination.s3: {e}")))?;
            Ok(Opened {
                label: format!("s3://{}/{}", s3.bucket, s3.prefix),
                store: Box::new(store),
                prefix: s3.prefix.clone(),
            })
        }
        Destination {
            volume: Some(volume), ..
        } => {
            let root = ctx.config.billing.volume_root.as_ref().ok_or_else(|| {
                ReconcileError::new(
                    Category::InvalidSpec,
                    "spec.destination.volume: volume destinations are not enabled in this operator (billing.volumeRoot is unset); use spec.destination.s3, or ask the operator's administrators to set billing.volumeRoot".to_string(),
                )
            })?;
            let dir = directory(root, &namespace, &volume.claim_name, &volume.path)
                .map_err(|e| ReconcileError::new(Category::InvalidSpec, e))?;
            let label = format!(
                "volume:{}/{}/{}",
                volume.claim_name,
                volume.path.trim_matches('/'),
                volume.prefix
            )
            .replace("//", "/");
            Ok(Opened {
                store: Box::new(VolumeStore::new(dir, label.clone())),
                prefix: volume.prefix.clone(),
                label,
            })
        }
        _ => Err(ReconcileError::new(
            Category::InvalidSpec,
            "spec.destination: set exactly one of s3 or volume".to_string(),
        )),
    }
}

fn none_if_empty(s: String) -> String {
    if s.is_empty() { "none".into() } else { s }
}

/// Maps a destination error to the controller layer, naming the destination and the fix.
pub fn store_error(obj: &BillingExport, err: StoreError) -> ReconcileError {
    let secret = obj.spec.destination.s3.as_ref().map(|s| {
        format!(
            "{}/{}",
            obj.namespace().unwrap_or_default(),
            s.credentials_secret_ref.name
        )
    });
    match (err.kind, secret) {
        (StoreErrorKind::Denied, Some(secret)) => ReconcileError::new(
            Category::Forbidden,
            format!(
                "{err}: the S3 endpoint refused the credentials; check {KEY_ACCESS_KEY_ID} and {KEY_SECRET_ACCESS_KEY} in Secret {secret} and that this key may read, write, list and delete objects in the bucket"
            ),
        ),
        (StoreErrorKind::Denied, None) => ReconcileError::new(
            Category::Forbidden,
            format!("{err}: the operator may not write there; fix the volume's permissions"),
        ),
        (StoreErrorKind::Missing, _) => ReconcileError::new(
            Category::NotFound,
            format!("{err}: create it or fix spec.destination"),
        ),
        (StoreErrorKind::Unavailable, _) => {
            ReconcileError::new(Category::Unavailable, format!("{err}; retrying with backoff"))
        }
        (StoreErrorKind::Invalid, _) => ReconcileError::new(Category::InvalidSpec, err.to_string()),
    }
}
