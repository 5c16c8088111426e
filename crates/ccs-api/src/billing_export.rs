//! `BillingExport`: a contract's invoice PDFs and monthly CSV billing reports, delivered to object
//! storage or a volume exactly once per period and file, with a record of what was delivered.

use super::common::{Conditions, OBJECT_NAME_PATTERN};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Placeholders a destination prefix may use.
pub const PREFIX_PLACEHOLDERS: &[&str] = &["{contractId}", "{period}", "{namespace}", "{name}"];
/// Default destination prefix.
pub const DEFAULT_PREFIX: &str = "ccs/{contractId}/{period}/";
/// Most files listed in `status.files` (the newest are kept).
pub const MAX_STATUS_FILES: usize = 100;
/// Most closed periods exported at creation.
pub const MAX_BACKFILL: i32 = 24;

/// Invoice PDFs and CSV billing reports of a contract, exported every period to S3-compatible
/// object storage or a volume.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "customerspace.io",
    version = "v1alpha1",
    kind = "BillingExport",
    plural = "billingexports",
    singular = "billingexport",
    shortname = "bexport",
    category = "customerspace",
    namespaced,
    status = "BillingExportStatus",
    doc = "Exports the invoice PDFs and monthly CSV billing reports of one CloudContract to S3-compatible object storage or a volume, exactly once per period and file, keeping a record of every file delivered.",
    printcolumn(
        name = "Contract",
        type_ = "string",
        json_path = ".spec.contract",
        description = "CloudContract whose billing files are exported"
    ),
    printcolumn(
        name = "Destination",
        type_ = "string",
        json_path = ".status.destination",
        description = "Where the files go"
    ),
    printcolumn(
        name = "Last Period",
        type_ = "string",
        json_path = ".status.lastRun.period",
        description = "Last period exported"
    ),
    printcolumn(
        name = "Files",
        type_ = "integer",
        json_path = ".status.fileCount",
        description = "Files delivered so far"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.retention) || self.backfill <= self.retention.keepPeriods").message("backfill must not exceed retention.keepPeriods: periods older than keepPeriods would be deleted right after their export"))]
pub struct BillingExportSpec {
    /// Name of the CloudContract in this namespace whose billing files are exported; its
    /// credentials need the Manager profile on Invoices.
    #[schemars(length(min = 1, max = 253), pattern(OBJECT_NAME_PATTERN))]
    pub contract: String,
    /// What to export: `Invoices` (the invoice PDFs) and/or `BillingReport` (the monthly CSV).
    #[serde(default = "default_contents")]
    #[schemars(length(min = 1, max = 2), extend("x-kubernetes-list-type" = "set"))]
    pub contents: Vec<ExportContent>,
    /// When a period is exported.
    #[serde(default)]
    pub schedule: ExportSchedule,
    /// Closed periods exported when the object is created (0 to 24): `3` exports the last three
    /// closed months, then every new one.
    #[serde(default)]
    #[schemars(range(min = 0, max = 24))]
    pub backfill: i32,
    /// Where the files go: exactly one of `s3` or `volume`.
    pub destination: Destination,
    /// `Never` keeps a delivered file as it is and writes a changed file under a new version key;
    /// `Overwrite` replaces it in place.
    #[serde(default)]
    pub overwrite: OverwritePolicy,
    /// Periods kept at the destination; older periods' files written by this export are deleted
    /// (files it did not write are never touched). Without it, nothing is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
}

fn default_contents() -> Vec<ExportContent> {
    vec![ExportContent::Invoices, ExportContent::BillingReport]
}

/// A kind of billing file.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, JsonSchema)]
pub enum ExportContent {
    /// The invoice PDFs of the period (`invoice-<billId>.pdf`).
    Invoices,
    /// The CSV billing report of the period (`billing-report-<contractId>-<period>.csv`).
    BillingReport,
}

/// When a period is exported.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ExportSchedule {
    /// Export period; only `Monthly` (calendar months, key `2026-11`).
    #[serde(default)]
    pub period: ExportPeriod,
    /// Wait after a period closes before exporting it, so late charges and the invoice are in,
    /// as a duration such as `48h` or `120h` (at most 31 days).
    #[serde(default = "default_delay")]
    #[schemars(length(max = 16), pattern(r"^([0-9]{1,4}(s|m|h|d))+$"))]
    pub delay_after_close: String,
}

impl Default for ExportSchedule {
    fn default() -> Self {
        Self {
            period: ExportPeriod::Monthly,
            delay_after_close: default_delay(),
        }
    }
}

fn default_delay() -> String {
    "48h".into()
}

/// Export period.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ExportPeriod {
    /// Calendar month.
    #[default]
    Monthly,
}

/// Where the files go: exactly one of `s3` or `volume`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.s3) != has(self.volume)").message("set exactly one destination: s3 or volume"))]
pub struct Destination {
    /// S3-compatible object storage (Flexible Engine OBS speaks S3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Destination>,
    /// A directory of a volume the operator mounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<VolumeDestination>,
}

/// An S3-compatible bucket.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct S3Destination {
    /// Base URL of the S3 endpoint; it must be listed in the operator's `billing.allowedS3Endpoints`.
    #[schemars(length(min = 1, max = 2048), pattern(r"^https?://[^\s/?#@]+(/[^\s?#]*)?$"))]
    pub endpoint: String,
    /// Region the requests are signed for, such as `eu-west-0`.
    #[serde(default = "default_region")]
    #[schemars(length(min = 1, max = 63), pattern(r"^[a-z0-9-]+$"))]
    pub region: String,
    /// Bucket name.
    #[schemars(length(min = 3, max = 63), pattern(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$"))]
    pub bucket: String,
    /// Key prefix of each period, with placeholders `{contractId}`, `{period}` (required: each
    /// period has its own prefix), `{namespace}` and `{name}`.
    #[serde(default = "default_prefix")]
    #[schemars(length(min = 1, max = 512))]
    #[x_kube(validation = Rule::new(r"self.contains('{period}') && !self.startsWith('/') && !self.contains('..') && !self.contains('//') && self.replace('{contractId}', '').replace('{period}', '').replace('{namespace}', '').replace('{name}', '').matches('^[A-Za-z0-9!_.*()/-]*$')").message("prefix must contain {period}, may use only the placeholders {contractId}, {period}, {namespace} and {name}, and the characters A-Z a-z 0-9 ! _ . * ( ) - /, without a leading /, // or .."))]
    pub prefix: String,
    /// Secret in this namespace with the keys `accessKeyId` and `secretAccessKey`; like portal
    /// credentials, it must carry the label `customerspace.io/credentials=true`.
    pub credentials_secret_ref: SecretName,
}

fn default_region() -> String {
    "us-east-1".into()
}
fn default_prefix() -> String {
    DEFAULT_PREFIX.into()
}

/// A Secret in the namespace of the object.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SecretName {
    /// Name of the Secret, labelled `customerspace.io/credentials=true`.
    #[schemars(length(min = 1, max = 253), pattern(OBJECT_NAME_PATTERN))]
    pub name: String,
}

/// A directory of a volume claim the operator mounts under its `billing.volumeRoot`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VolumeDestination {
    /// Name of the PersistentVolumeClaim; the operator writes under
    /// `<billing.volumeRoot>/<namespace>/<claimName>/`.
    #[schemars(length(min = 1, max = 253), pattern(OBJECT_NAME_PATTERN))]
    pub claim_name: String,
    /// Directory inside the claim, such as `/exports` (no `..`).
    #[serde(default = "default_path")]
    #[schemars(
        length(min = 1, max = 512),
        pattern(r"^/?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/?$|^/$")
    )]
    #[x_kube(validation = Rule::new("!self.split('/').exists(s, s == '..' || s == '.')").message("path must not contain . or .. segments"))]
    pub path: String,
    /// Path prefix of each period under `path`, with the same placeholders as the S3 prefix.
    #[serde(default = "default_prefix")]
    #[schemars(length(min = 1, max = 512))]
    #[x_kube(validation = Rule::new(r"self.contains('{period}') && !self.startsWith('/') && !self.contains('..') && !self.contains('//') && self.replace('{contractId}', '').replace('{period}', '').replace('{namespace}', '').replace('{name}', '').matches('^[A-Za-z0-9_./-]*$')").message("prefix must contain {period}, may use only the placeholders {contractId}, {period}, {namespace} and {name}, and the characters A-Z a-z 0-9 _ . - /, without a leading /, // or .."))]
    pub prefix: String,
}

fn default_path() -> String {
    "/".into()
}

/// What happens when a file already at its key differs from the portal's.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum OverwritePolicy {
    /// Keep the delivered file; write the changed one under a new version key
    /// (`<name>.v-<sha256 prefix>.<ext>`).
    #[default]
    Never,
    /// Replace the delivered file in place.
    Overwrite,
}

/// How long exported periods are kept.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Retention {
    /// Closed periods kept (1 to 120); files this export wrote for older periods are deleted.
    #[schemars(range(min = 1, max = 120))]
    pub keep_periods: i32,
}

/// Observed state of a BillingExport.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillingExportStatus {
    /// Generation of the spec this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Reconciling` and `Stalled`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Conditions,
    /// Last value of the `customerspace.io/reconcile-requested-at` annotation that was handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// When the portal was last read successfully (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<String>,
    /// Where the files go, such as `s3://bucket/ccs/{contractId}/{period}/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// First period this export covers (fixed at creation from `spec.backfill`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_period: Option<String>,
    /// Periods fully exported and still kept, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exported_periods: Vec<String>,
    /// The last period export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<LastRun>,
    /// When the next period is due (portal clock, RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run_at: Option<String>,
    /// Files delivered since creation.
    #[serde(default)]
    pub file_count: i64,
    /// The newest files delivered (at most 100), newest last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<ExportedFile>,
}

/// One period export.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastRun {
    /// Period key, such as `2026-10`.
    pub period: String,
    /// Start (RFC 3339).
    pub start_time: String,
    /// End (RFC 3339).
    pub end_time: String,
    /// `Succeeded` or `Failed`.
    pub result: String,
}

/// A file delivered to the destination.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportedFile {
    /// Object key (or path under the volume directory).
    #[schemars(length(max = 1024))]
    pub key: String,
    /// Period key.
    pub period: String,
    /// `Invoices` or `BillingReport`.
    pub kind: ExportContent,
    /// Size in bytes.
    pub bytes: i64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// ETag the storage returned, when it returned one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Portal id of the source: the bill id, or the report's period.
    #[schemars(length(max = 256))]
    pub source_id: String,
    /// When it was delivered or found already delivered (RFC 3339).
    pub time: String,
}
