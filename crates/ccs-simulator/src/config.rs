//! Simulator settings, from `--config FILE` (YAML) and flags.

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// Everything that shapes the simulated world. Same seed and config: same world.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SimConfig {
    /// Seed of every generated value.
    pub seed: u64,
    /// Number of contracts (at least 5; the first ones alternate FE and FCA).
    pub contracts: usize,
    /// Simulated seconds per real second. A demo uses e.g. 20000 so a month of spend passes in
    /// about two minutes and budget thresholds are crossed within one.
    pub clock_speed: f64,
    /// Simulated time at start.
    pub start_time: DateTime<Utc>,
    /// Lifetime of bearer tokens, in real seconds.
    pub token_ttl_seconds: u64,
    /// Simulated seconds from submission to `InProgress`.
    pub request_in_progress_after_seconds: i64,
    /// Simulated seconds from submission to `Completed` (or `Rejected`).
    pub request_done_after_seconds: i64,
    /// Simulated seconds from invitation to the account becoming `Active`.
    pub account_activation_seconds: i64,
    /// Average simulated hours between two incidents of one region.
    pub incident_every_hours: i64,
    /// Calls kept in the call log (oldest dropped first).
    pub call_log_capacity: usize,
    /// Whether resubmitting a `customerReference` returns the existing request (the contract).
    /// `false` makes every POST create a request, so tests prove that a client's own
    /// look-up-before-retry gives exactly once without the portal's help.
    pub idempotent_submission: bool,
    /// Smallest invoice PDF, in bytes (each bill's size is fixed by the seed, between the two).
    pub pdf_min_bytes: usize,
    /// Largest invoice PDF, in bytes. Real invoices with their detail pages weigh 200 KB to 2 MB.
    pub pdf_max_bytes: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            contracts: 6,
            clock_speed: 1.0,
            start_time: "2026-11-20T08:00:00Z".parse().expect("valid constant"),
            token_ttl_seconds: 3600,
            request_in_progress_after_seconds: 30,
            request_done_after_seconds: 300,
            account_activation_seconds: 86_400,
            incident_every_hours: 24,
            call_log_capacity: 100_000,
            idempotent_submission: true,
            pdf_min_bytes: 200_000,
            pdf_max_bytes: 2_000_000,
        }
    }
}

impl SimConfig {
    /// Reads a YAML file; missing keys keep their defaults.
    pub fn from_yaml(text: &str) -> anyhow::Result<Self> {
        let config: Self = serde_saphyr::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// Rejects settings the simulator cannot honour.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.contracts >= 5 && self.contracts <= 5_000,
            "contracts must be 5..=5000"
        );
        anyhow::ensure!(
            self.pdf_min_bytes <= self.pdf_max_bytes && self.pdf_max_bytes <= 64 * 1024 * 1024,
            "pdfMinBytes must not exceed pdfMaxBytes, at most 64 MiB"
        );
        anyhow::ensure!(
            self.clock_speed.is_finite() && self.clock_speed >= 0.0,
            "clockSpeed must be >= 0"
        );
        anyhow::ensure!(self.incident_every_hours >= 1, "incidentEveryHours must be >= 1");
        anyhow::ensure!(
            0 < self.request_in_progress_after_seconds
                && self.request_in_progress_after_seconds < self.request_done_after_seconds,
            "request timings must satisfy 0 < inProgressAfter < doneAfter"
        );
        Ok(())
    }
}
