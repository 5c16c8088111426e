//! BillingExport controller: a contract's invoice PDFs and CSV billing reports, delivered once
//! per period and file.
//!
//! Pipeline: dereference (the CloudContract, its portal client, the destination) -> observe (the
//! portal's clock from the contract's shared snapshot, the stored status) -> plan (pure,
//! [`plan::schedule`]) -> per due period: list its files, stream each to a spool file with its
//! SHA-256, look the key up, write it unless the same content is there ([`plan::decide`]) ->
//! record the period in status, one Event -> retention -> status.

pub mod destination;
pub mod plan;

use super::common::conditions;
use super::common::driver::{ConditionedStatus, Reconciled, jitter, opening};
use super::common::health;
use super::common::report::{apply_status, event, stored_status};
use super::common::{Category, ReconcileError, timestamp};
use super::context::Context;
use super::portal_access::portal_error;
use super::reference::referenced_contract;
use crate::api::billing_export::{BillingExport, BillingExportStatus, ExportContent, ExportedFile, LastRun};
use crate::billing::{Month, Store};
use crate::config::ControllersConfig;
use crate::portal::{BillingFile, CustomerSpace};
use destination::store_error;
use futures::StreamExt;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, ResourceExt};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

crate::status_header!(BillingExportStatus, last_sync_time);

impl ConditionedStatus for BillingExportStatus {}

impl Reconciled for BillingExport {
    const KIND: &'static str = "BillingExport";
    const DEPENDENT: bool = true;

    fn configured_poll(config: &ControllersConfig) -> Duration {
        config.billing_export.poll_interval
    }

    fn run(obj: Arc<Self>, ctx: Arc<Context>) -> impl Future<Output = Result<Action, ReconcileError>> + Send {
        counted(obj, ctx)
    }
}

/// [`run`], counting failed runs in `ccs_billing_export_failures_total` (quiet waits excluded).
async fn counted(obj: Arc<BillingExport>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let result = run(obj.clone(), ctx.clone()).await;
    if result.as_ref().is_err_and(|e| !e.category.is_quiet()) {
        let (ns, name) = (obj.namespace().unwrap_or_default(), obj.name_any());
        ctx.billing
            .metrics
            .failures
            .with_label_values(&[&ns, &name])
            .inc();
    }
    result
}

/// One billing file of a period, before download.
#[derive(Clone, Debug)]
struct Source {
    kind: ExportContent,
    file: BillingFile,
    source_id: String,
}

/// What one reconcile works with.
struct Job<'a> {
    ctx: &'a Context,
    obj: &'a BillingExport,
    client: &'a dyn CustomerSpace,
    store: &'a dyn Store,
    contract_id: &'a str,
    prefix: &'a str,
    owner: String,
}

impl Job<'_> {
    fn prefix_of(&self, period: Month) -> String {
        plan::prefix(
            self.prefix,
            self.contract_id,
            period,
            &self.obj.namespace().unwrap_or_default(),
            &self.obj.name_any(),
        )
    }

    /// The files of a period; `None` while an invoice of it is not issued yet.
    async fn sources(&self, period: Month) -> Result<Option<Vec<Source>>, ReconcileError> {
        let mut sources = Vec::new();
        let key = period.to_string();
        for kind in &self.obj.spec.contents {
            match kind {
                ExportContent::Invoices => {
                    let bills = self.client.list_bills(self.contract_id, 500).await.map_err(|e| {
                        portal_error(e, &format!("listing the bills of {}", self.contract_id))
                    })?;
                    let billed: Vec<Month> = bills.iter().filter_map(|b| Month::parse(&b.period)).collect();
                    if plan::invoice_pending(&billed, period) {
                        return Ok(None);
                    }
                    let of_period: Vec<_> = bills.into_iter().filter(|b| b.period == key).collect();
                    sources.extend(of_period.into_iter().map(|b| Source {
                        kind: ExportContent::Invoices,
                        source_id: b.id.clone(),
                        file: BillingFile::Invoice { bill_id: b.id },
                    }));
                }
                ExportContent::BillingReport => sources.push(Source {
                    kind: ExportContent::BillingReport,
                    source_id: key.clone(),
                    file: BillingFile::Report { period: key.clone() },
                }),
            }
        }
        Ok(Some(sources))
    }

    /// Delivers one file: download to a spool file, then write unless the same content is at its
    /// key. Returns the record and whether it was written now.
    async fn deliver(&self, period: Month, source: Source) -> Result<(ExportedFile, bool), ReconcileError> {
        let config = &self.ctx.config.billing;
        let spool = tempfile::Builder::new()
            .prefix("ccs-billing-")
            .tempfile_in(config.spool())
            .map_err(|e| {
                ReconcileError::new(
                    Category::Internal,
                    format!("creating a spool file in {}: {e}", config.spool().display()),
                )
            })?;
        let got = self
            .client
            .download(
                self.contract_id,
                &source.file,
                spool.path(),
                config.max_file_bytes,
            )
            .await
            .map_err(|e| {
                portal_error(
                    e,
                    &format!("downloading {} of {}", source.source_id, self.contract_id),
                )
            })?;
        let name = plan::file_name(source.kind, self.contract_id, &source.source_id);
        let mut key = format!("{}{name}", self.prefix_of(period));
        let mut written = false;
        let mut etag = None;
        // At most two keys: the deterministic one, then its versioned form.
        for _ in 0..2 {
            let existing = self
                .store
                .head(&key)
                .await
                .map_err(|e| store_error(self.obj, e))?;
            match plan::decide(
                &key,
                existing.as_ref(),
                &got.sha256,
                self.obj.spec.overwrite,
                &self.owner,
            ) {
                plan::Decision::Present => {
                    etag = existing.and_then(|e| e.etag);
                    break;
                }
                plan::Decision::Version(versioned) => key = versioned,
                plan::Decision::Write(target) => {
                    if !self.ctx.leading("billing export") {
                        return Err(ReconcileError::new(
                            Category::Unavailable,
                            "lost the leader lease".to_string(),
                        ));
                    }
                    etag = self
                        .store
                        .put(&target, spool.path(), got.bytes, &got.sha256, &self.owner)
                        .await
                        .map_err(|e| store_error(self.obj, e))?;
                    key = target;
                    written = true;
                    break;
                }
            }
        }
        Ok((
            ExportedFile {
                key,
                period: period.to_string(),
                kind: source.kind,
                bytes: i64::try_from(got.bytes).unwrap_or(i64::MAX),
                sha256: got.sha256,
                etag: etag.map(|e| e.trim_matches('"').to_string()),
                source_id: source.source_id,
                time: timestamp(self.ctx.now()),
            },
            written,
        ))
    }

    /// Deletes the files this export wrote for `period` (never another object).
    async fn expire(&self, period: Month) -> Result<usize, ReconcileError> {
        let mut deleted = 0;
        for key in self
            .store
            .list(&self.prefix_of(period))
            .await
            .map_err(|e| store_error(self.obj, e))?
        {
            let info = self
                .store
                .head(&key)
                .await
                .map_err(|e| store_error(self.obj, e))?;
            if info.and_then(|i| i.owner).as_deref() == Some(self.owner.as_str()) {
                self.store
                    .delete(&key)
                    .await
                    .map_err(|e| store_error(self.obj, e))?;
                deleted += 1;
            }
        }
        Ok(deleted)
    }
}

async fn run(obj: Arc<BillingExport>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let Some(poll) = opening(obj.as_ref(), &ctx)? else {
        return Ok(Action::await_change());
    };
    let namespace = obj.namespace().unwrap_or_default();
    let name = obj.name_any();
    let delay = plan::parse_delay(&obj.spec.schedule.delay_after_close)
        .map_err(|m| ReconcileError::new(Category::InvalidSpec, m))?;

    // Dereference: the contract, its portal client, the destination.
    let contract = referenced_contract(&ctx, &namespace, &obj.spec.contract).await?;
    let client = ctx.portal.client_for(&ctx.client, &contract).await?;
    let contract_id = contract.spec.contract_id.clone();
    let opened = destination::open(&ctx, &obj).await?;

    // Observe: the portal's clock (its data as-of time), from the snapshot every object of the
    // contract shares.
    let endpoint = ctx.portal.endpoint_of(&contract);
    let snapshot = ctx
        .portal
        .snapshot(client.as_ref(), &endpoint, &contract_id, poll)
        .await
        .map_err(|e| portal_error(e, &format!("reading the dashboard of {contract_id}")))?;
    let portal_now = snapshot
        .dashboard
        .consumption
        .as_ref()
        .map_or_else(|| ctx.now(), |c| c.data_as_of);
    let api: Api<BillingExport> = Api::namespaced(ctx.client.clone(), &namespace);
    let Some(mut status) = stored_status(&ctx.written, &api, obj.as_ref()).await? else {
        return Ok(Action::await_change());
    };
    let generation = obj.metadata.generation;
    status.observed_generation = generation;
    status.destination = Some(opened.label.clone());
    status.last_handled_reconcile_at = super::common::annotations::reconcile_requested_at(obj.as_ref());

    // Plan.
    let exported: Vec<Month> = status
        .exported_periods
        .iter()
        .filter_map(|p| Month::parse(p))
        .collect();
    let schedule = plan::schedule(
        status.first_period.as_deref().and_then(Month::parse),
        obj.spec.backfill,
        delay,
        obj.spec.retention.as_ref().map(|r| r.keep_periods),
        &exported,
        portal_now,
    );
    status.first_period = Some(schedule.first.to_string());
    status.next_run_at = Some(timestamp(schedule.next_run_at));

    let job = Job {
        ctx: &ctx,
        obj: obj.as_ref(),
        client: client.as_ref(),
        store: opened.store.as_ref(),
        contract_id: &contract_id,
        prefix: &opened.prefix,
        owner: obj.uid().unwrap_or_default(),
    };
    let metrics = &ctx.billing.metrics;
    let mut waiting = None;
    for period in &schedule.due {
        if !ctx.leading("billing export") {
            return Ok(Action::await_change());
        }
        let started = ctx.now();
        let Some(sources) = job.sources(*period).await? else {
            waiting = Some(format!("waiting for the invoice of {period} to be issued"));
            break;
        };
        let results: Vec<_> = futures::stream::iter(sources)
            .map(|s| job.deliver(*period, s))
            .buffer_unordered(ctx.config.billing.concurrency.max(1))
            .collect()
            .await;
        let mut files = Vec::new();
        let mut failure = None;
        let (mut written, mut bytes) = (0, 0);
        for result in results {
            match result {
                Ok((file, now_written)) => {
                    if now_written {
                        written += 1;
                        bytes += file.bytes;
                        let kind = format!("{:?}", file.kind);
                        metrics.files.with_label_values(&[&namespace, &name, &kind]).inc();
                        metrics
                            .bytes
                            .with_label_values(&[&namespace, &name])
                            .inc_by(u64::try_from(file.bytes).unwrap_or_default());
                        status.file_count += 1;
                    }
                    files.push(file);
                }
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        files.sort_by(|a, b| a.key.cmp(&b.key));
        plan::record_files(&mut status.files, files.iter().cloned());
        let result = if failure.is_some() { "Failed" } else { "Succeeded" };
        status.last_run = Some(LastRun {
            period: period.to_string(),
            start_time: timestamp(started),
            end_time: timestamp(ctx.now()),
            result: result.into(),
        });
        if let Some(err) = failure {
            // Files delivered before the failure are on record; the period is retried whole
            // (delivered files are found by checksum and not written again).
            apply_status(&ctx.written, &api, obj.as_ref(), &status).await?;
            return Err(err);
        }
        status.exported_periods.push(period.to_string());
        status.exported_periods.sort();
        plan::bound_periods(&mut status.exported_periods, &mut status.first_period);
        apply_status(&ctx.written, &api, obj.as_ref(), &status).await?;
        event(
            &ctx.recorder,
            obj.as_ref(),
            EventType::Normal,
            "PeriodExported",
            "Export",
            format!(
                "{period}: {} file(s) at {}, {written} written now ({bytes} bytes)",
                files.len(),
                opened.store.describe()
            ),
        );
    }

    // Retention: only what this export wrote.
    for period in &schedule.expired {
        let deleted = job.expire(*period).await?;
        status.exported_periods.retain(|p| *p != period.to_string());
        if deleted > 0 {
            event(
                &ctx.recorder,
                obj.as_ref(),
                EventType::Normal,
                "PeriodExpired",
                "Delete",
                format!("{period}: {deleted} file(s) deleted (spec.retention.keepPeriods)"),
            );
        }
    }

    let now = ctx.now();
    status.last_sync_time = Some(timestamp(now));
    metrics
        .last_success
        .with_label_values(&[&namespace, &name])
        .set(now.timestamp() as f64);
    let c = &mut status.conditions;
    let more = schedule.due.len() == plan::MAX_PERIODS_PER_RUN;
    let message = match (&waiting, status.last_run.as_ref()) {
        (Some(w), _) => w.clone(),
        (None, Some(run)) => format!(
            "{} period(s) exported, the last {}; {} is due at {}",
            status.exported_periods.len(),
            run.period,
            schedule.next,
            timestamp(schedule.next_run_at)
        ),
        (None, None) => format!(
            "nothing exported yet; {} is due at {}",
            schedule.next,
            timestamp(schedule.next_run_at)
        ),
    };
    conditions::on(c, generation, now).set("Ready", Some(true), "Exported", &message);
    match &waiting {
        Some(w) => health::set(
            c,
            generation,
            now,
            &health::Progress::Working("InvoicePending", w),
        ),
        None if more => health::set(
            c,
            generation,
            now,
            &health::Progress::Working("Backfilling", "more periods to export"),
        ),
        None => health::set(c, generation, now, &health::Progress::Done),
    }
    apply_status(&ctx.written, &api, obj.as_ref(), &status).await?;
    if more {
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    Ok(Action::requeue(jitter(poll)))
}
