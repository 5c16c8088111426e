//! The pure part of a BillingExport reconcile: which periods are due, which have left the
//! retention window, the deterministic key of every file, and whether a file must be written.
//!
//! A closed month `M` is due at `M.end() + delayAfterClose` on the portal's clock. The first
//! period is fixed once (`status.firstPeriod`): the last due month at creation, minus
//! `backfill - 1` (with `backfill: 0`, the month of creation, exported once it closes).

use crate::api::billing_export::{ExportContent, ExportedFile, MAX_STATUS_FILES, OverwritePolicy};
use crate::billing::{Month, ObjectInfo};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Most periods exported in one reconcile (a large backfill continues in the next one).
pub const MAX_PERIODS_PER_RUN: usize = 6;

/// The periods to act on now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// First period covered.
    pub first: Month,
    /// Periods to export now, oldest first.
    pub due: Vec<Month>,
    /// Exported periods past the retention window: their files are deleted.
    pub expired: Vec<Month>,
    /// The next period not due yet.
    pub next: Month,
    /// When it is due.
    pub next_run_at: DateTime<Utc>,
}

/// The latest month due at `now`: closed, and `delay` past its end.
pub fn latest_due(now: DateTime<Utc>, delay: Duration) -> Month {
    let delay = chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
    let shifted = now.checked_sub_signed(delay).unwrap_or(DateTime::<Utc>::MIN_UTC);
    Month::containing(shifted).plus(-1)
}

/// The schedule at `now` (portal clock).
pub fn schedule(
    first: Option<Month>,
    backfill: i32,
    delay: Duration,
    keep_periods: Option<i32>,
    exported: &[Month],
    now: DateTime<Utc>,
) -> Schedule {
    let latest = latest_due(now, delay);
    let first = first.unwrap_or_else(|| latest.plus(1 - backfill.clamp(0, 120)));
    let oldest_kept = keep_periods.map(|k| latest.plus(1 - k.max(1)));
    let start = oldest_kept.map_or(first, |o| o.max(first));
    let due = (0..=start.months_until(latest))
        .map(|n| start.plus(n))
        .filter(|m| !exported.contains(m))
        .take(MAX_PERIODS_PER_RUN)
        .collect();
    let expired = exported
        .iter()
        .copied()
        .filter(|m| oldest_kept.is_some_and(|o| *m < o))
        .collect();
    let next = latest.plus(1).max(first);
    let delay = chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
    Schedule {
        first,
        due,
        expired,
        next,
        next_run_at: next
            .end()
            .checked_add_signed(delay)
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
    }
}

/// The key prefix of a period: the template with its placeholders filled, ending with `/`.
pub fn prefix(template: &str, contract_id: &str, period: Month, namespace: &str, name: &str) -> String {
    let mut p = template
        .replace("{contractId}", &safe_name(contract_id))
        .replace("{period}", &period.to_string())
        .replace("{namespace}", namespace)
        .replace("{name}", name);
    if !p.ends_with('/') {
        p.push('/');
    }
    p
}

/// An id from the portal made safe for a key: only `A-Z a-z 0-9 _ . -`, other characters
/// become `_`, and a leading dot too (no hidden or `..` name).
pub fn safe_name(id: &str) -> String {
    let mut s: String = id
        .chars()
        .take(128)
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with('.') || s.is_empty() {
        s.insert(0, '_');
    }
    s
}

/// The file name of a billing file.
pub fn file_name(kind: ExportContent, contract_id: &str, source_id: &str) -> String {
    match kind {
        ExportContent::Invoices => format!("invoice-{}.pdf", safe_name(source_id)),
        ExportContent::BillingReport => {
            format!(
                "billing-report-{}-{}.csv",
                safe_name(contract_id),
                safe_name(source_id)
            )
        }
    }
}

/// The key a changed file gets under `overwrite: Never`: `<name>.v-<12 hex of sha256>.<ext>`.
pub fn versioned_key(key: &str, sha256: &str) -> String {
    let short = &sha256[..sha256.len().min(12)];
    let (dir, name) = key.rsplit_once('/').map_or(("", key), |(d, n)| (d, n));
    let name = match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.v-{short}.{ext}"),
        None => format!("{name}.v-{short}"),
    };
    if dir.is_empty() {
        name
    } else {
        format!("{dir}/{name}")
    }
}

/// What to do with a file whose content hashes to `sha256`, given what is at its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The same content is already there: nothing to write.
    Present,
    /// Write at this key.
    Write(String),
    /// The key holds other content that must be kept: try the versioned key.
    Version(String),
}

/// Decides for `key` holding `existing` (`owner` is this export's uid).
pub fn decide(
    key: &str,
    existing: Option<&ObjectInfo>,
    sha256: &str,
    policy: OverwritePolicy,
    owner: &str,
) -> Decision {
    match existing {
        None => Decision::Write(key.into()),
        Some(info) if info.sha256.as_deref() == Some(sha256) => Decision::Present,
        // Only our own objects are replaced; a foreign one is never overwritten.
        Some(info) if policy == OverwritePolicy::Overwrite && info.owner.as_deref() == Some(owner) => {
            Decision::Write(key.into())
        }
        Some(_) => Decision::Version(versioned_key(key, sha256)),
    }
}

/// Appends delivered files to the status list, keeping the newest [`MAX_STATUS_FILES`] and one
/// entry per key.
pub fn record_files(files: &mut Vec<ExportedFile>, new: impl IntoIterator<Item = ExportedFile>) {
    for file in new {
        files.retain(|f| f.key != file.key);
        files.push(file);
    }
    let excess = files.len().saturating_sub(MAX_STATUS_FILES);
    files.drain(..excess);
}

/// Whether the invoice of `period` is still to come: none of the `billed` months is `period` or
/// later. A month older than the portal's history (or without an invoice) is not waited for.
pub fn invoice_pending(billed: &[Month], period: Month) -> bool {
    billed.iter().all(|m| *m < period)
}

/// Most periods listed in `status.exportedPeriods`.
pub const MAX_EXPORTED_PERIODS: usize = 120;

/// Keeps the newest [`MAX_EXPORTED_PERIODS`] of the (sorted) exported periods, moving the first
/// period up with them: periods are exported in order, so the ones dropped are never due again.
pub fn bound_periods(exported: &mut Vec<String>, first: &mut Option<String>) {
    let excess = exported.len().saturating_sub(MAX_EXPORTED_PERIODS);
    if excess > 0 {
        exported.drain(..excess);
        *first = exported.first().cloned();
    }
}

/// Parses `spec.schedule.delayAfterClose` (such as `48h`, `2d`, `1h30m`), at most 31 days.
pub fn parse_delay(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text).map_err(|e| {
        format!("spec.schedule.delayAfterClose: {text:?} is not a duration ({e}); use a value such as 48h")
    })?;
    if d > Duration::from_secs(31 * 24 * 3600) {
        return Err(format!(
            "spec.schedule.delayAfterClose: {text} is longer than 31 days; use at most 31d"
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests;
