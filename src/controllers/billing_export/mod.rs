//! BillingExport controller: a contract's invoice PDFs and CSV billing reports, delivered once
//! per period and file.
//!
//! Pipeline: dereference (the CloudContract, its portal client, the destination) -> observe (the
//! portal's clock from the contract's shared snapshot, the stored status) -> plan (pure,
//! [`plan::schedule`]) -> per due period: list its files, stream each to a spool file with its
//! SHA-256, look the key up, write it unless the same content is there ([`plan::decide`]) ->
//! record the period in status, one Event -> retention -> status.

mod deliver;
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
use crate::api::billing_export::{BillingExport, BillingExportStatus, LastRun};
use crate::billing::Month;
use crate::config::ControllersConfig;
use deliver::Job;
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
