//! `ccs_billing_export_*`: files and bytes delivered, failures, and the last success of each
//! export. Labels are the export's namespace and name (and the file kind): no personal data.

use prometheus::{GaugeVec, IntCounterVec, Opts, Registry};

/// The BillingExport metrics.
#[derive(Clone)]
pub struct BillingMetrics {
    /// `ccs_billing_export_files_total{namespace,name,kind}`: files written.
    pub files: IntCounterVec,
    /// `ccs_billing_export_bytes_total{namespace,name}`: bytes written.
    pub bytes: IntCounterVec,
    /// `ccs_billing_export_failures_total{namespace,name}`: failed export runs.
    pub failures: IntCounterVec,
    /// `ccs_billing_export_last_success_timestamp_seconds{namespace,name}`: end of the last
    /// successful run.
    pub last_success: GaugeVec,
}

impl BillingMetrics {
    /// Registers the metrics on `registry` (once per registry).
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let object = ["namespace", "name"];
        let files = IntCounterVec::new(
            Opts::new(
                "ccs_billing_export_files_total",
                "Billing files written by BillingExports.",
            ),
            &["namespace", "name", "kind"],
        )?;
        let bytes = IntCounterVec::new(
            Opts::new(
                "ccs_billing_export_bytes_total",
                "Bytes of billing files written by BillingExports.",
            ),
            &object,
        )?;
        let failures = IntCounterVec::new(
            Opts::new("ccs_billing_export_failures_total", "Failed BillingExport runs."),
            &object,
        )?;
        let last_success = GaugeVec::new(
            Opts::new(
                "ccs_billing_export_last_success_timestamp_seconds",
                "End of the last successful run of each BillingExport (Unix time).",
            ),
            &object,
        )?;
        registry.register(Box::new(files.clone()))?;
        registry.register(Box::new(bytes.clone()))?;
        registry.register(Box::new(failures.clone()))?;
        registry.register(Box::new(last_success.clone()))?;
        Ok(Self {
            files,
            bytes,
            failures,
            last_success,
        })
    }
}
