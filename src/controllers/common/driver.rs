//! The frame around every reconcile: metrics, error reporting (Event, failed conditions), backoff.

use super::conditions;
use super::error::{Category, ReconcileError};
use super::health;
use super::report::{apply_status, error_event};
use crate::config::ControllersConfig;
use crate::controllers::context::Context;
use futures::FutureExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::core::object::HasStatus;
use kube::runtime::controller::Action;
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The fields every status starts with: conditions, the generation and the
/// `reconcile-requested-at` value handled, and when the portal was last read. Implemented by
/// [`status_header!`](crate::status_header) for each kind.
pub trait StatusHeader {
    /// The conditions.
    fn conditions(&self) -> &[Condition];
    /// The conditions, to change them.
    fn conditions_mut(&mut self) -> &mut Vec<Condition>;
    /// `status.observedGeneration`.
    fn observed_generation(&self) -> Option<i64>;
    /// `status.lastHandledReconcileAt`.
    fn last_handled_reconcile_at(&self) -> Option<&str>;
    /// The last successful read of the portal (RFC 3339).
    fn last_sync(&self) -> Option<&str>;
    /// Sets (or clears) the time of the last successful read.
    fn set_last_sync(&mut self, at: Option<String>);
}

/// Implements [`StatusHeader`] for a status type from its field names.
#[macro_export]
macro_rules! status_header {
    ($status:ty, $last_sync:ident) => {
        impl $crate::controllers::common::driver::StatusHeader for $status {
            fn conditions(&self) -> &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition] {
                &self.conditions
            }
            fn conditions_mut(
                &mut self,
            ) -> &mut Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
                &mut self.conditions
            }
            fn observed_generation(&self) -> Option<i64> {
                self.observed_generation
            }
            fn last_handled_reconcile_at(&self) -> Option<&str> {
                self.last_handled_reconcile_at.as_deref()
            }
            fn last_sync(&self) -> Option<&str> {
                self.$last_sync.as_deref()
            }
            fn set_last_sync(&mut self, at: Option<String>) {
                self.$last_sync = at;
            }
        }
    };
}

/// Status types with the standard conditions.
pub trait ConditionedStatus: StatusHeader + Default + Clone + Serialize + Send + Sync {
    /// Lets a kind add its own failed conditions (such as `CredentialsValid=False`).
    fn on_error(
        &mut self,
        _err: &ReconcileError,
        _generation: Option<i64>,
        _now: chrono::DateTime<chrono::Utc>,
    ) {
    }
}

/// A kind the operator reconciles.
pub trait Reconciled:
    Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
    + HasStatus
    + Clone
    + DeserializeOwned
    + Serialize
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
where
    Self::Status: ConditionedStatus,
{
    /// Kind name: the `kind` metric label.
    const KIND: &'static str;
    /// The condition that says the last sync succeeded (an unchanged object with it `True`, synced
    /// less than a poll interval ago, is not due).
    const SYNCED_CONDITION: &'static str = "Ready";
    /// Whether the kind names a CloudContract: a missing or not yet reconciled contract is then
    /// retried with backoff rather than at the slow resync.
    const DEPENDENT: bool = false;

    /// This kind's configured poll interval (the `poll-interval` annotation may override it).
    fn configured_poll(config: &ControllersConfig) -> Duration;

    /// How long a terminal error waits before it is checked again (a change comes sooner).
    fn resync(config: &ControllersConfig) -> Duration {
        Self::configured_poll(config)
    }

    /// One reconcile of this kind, inside the frame of [`reconcile`].
    fn run(obj: Arc<Self>, ctx: Arc<Context>) -> impl Future<Output = Result<Action, ReconcileError>> + Send;
}

/// The reconcile function kube-runtime calls, for any kind: [`reconcile_with`] around `K::run`.
pub async fn reconcile<K: Reconciled>(obj: Arc<K>, ctx: Arc<Context>) -> Result<Action, ReconcileError>
where
    K::Status: ConditionedStatus,
{
    reconcile_with(obj, &ctx.clone(), |obj| K::run(obj, ctx)).await
}

/// The error policy kube-runtime calls, for any kind.
pub fn on_error<K: Reconciled>(obj: Arc<K>, err: &ReconcileError, ctx: Arc<Context>) -> Action
where
    K::Status: ConditionedStatus,
{
    let resync = K::resync(&ctx.config.controllers);
    if K::DEPENDENT {
        dependent_error_policy(obj.as_ref(), err, &ctx, resync)
    } else {
        error_policy(obj.as_ref(), err, &ctx, resync)
    }
}

/// The opening every reconcile shares: the poll interval (the object's annotation, clamped, else
/// the kind's configuration); `None` when the object is paused.
pub fn opening<K: Reconciled>(obj: &K, ctx: &Context) -> Result<Option<Duration>, ReconcileError>
where
    K::Status: ConditionedStatus,
{
    let poll = super::annotations::poll_interval(obj, K::configured_poll(&ctx.config.controllers))
        .map_err(|m| ReconcileError::new(Category::InvalidSpec, m))?;
    Ok((!super::annotations::is_paused(obj)).then_some(poll))
}

/// `Some(requeue)` when `obj` with its `status` is not due: unchanged, synced, and read from the
/// portal less than `poll` ago. A reconcile woken by our own status write or by a related object
/// must not call the portal early.
pub fn not_due<K: Reconciled>(
    obj: &K,
    status: &K::Status,
    poll: Duration,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<Action>
where
    K::Status: ConditionedStatus,
{
    let requested = super::annotations::reconcile_requested_at(obj);
    let freshness = super::schedule::Freshness {
        ready: conditions::is_true(status.conditions(), K::SYNCED_CONDITION),
        generation: obj.meta().generation,
        observed_generation: status.observed_generation(),
        requested_at: requested.as_deref(),
        handled_at: status.last_handled_reconcile_at(),
        last_sync: status.last_sync(),
    };
    super::schedule::not_due_for(&freshness, poll, now).map(Action::requeue)
}

/// The backoff key of an object.
pub fn object_key<K: Resource>(obj: &K) -> String {
    format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any())
}

/// The key of an object in the backoff tables: kinds share them.
fn backoff_key<K: Reconciled>(obj: &K) -> String
where
    K::Status: ConditionedStatus,
{
    format!("{}/{}", K::KIND, object_key(obj))
}

/// Runs `work` for `obj`, counting it, and on failure: an error metric, a Warning Event and
/// `Ready=False` (reason: the error category) on the object.
pub async fn reconcile_with<K, F, Fut>(obj: Arc<K>, ctx: &Context, work: F) -> Result<Action, ReconcileError>
where
    K: Reconciled,
    K::Status: ConditionedStatus,
    F: FnOnce(Arc<K>) -> Fut,
    Fut: Future<Output = Result<Action, ReconcileError>>,
{
    let started = Instant::now();
    ctx.metrics.reconcile_runs.with_label_values(&[K::KIND]).inc();
    #[cfg(debug_assertions)]
    debug_hooks::panic_uncaught_if_asked(&object_key(obj.as_ref()));
    // A panic (a bug) fails this object's reconcile alone, as an `Internal` error retried with
    // backoff: unwinding into kube-runtime would end every controller of the process.
    let result = AssertUnwindSafe(async {
        #[cfg(debug_assertions)]
        debug_hooks::panic_if_asked(&object_key(obj.as_ref()));
        work(obj.clone()).await
    })
    .catch_unwind()
    .await
    .unwrap_or_else(|payload| Err(panicked(payload.as_ref())));
    ctx.metrics
        .reconcile_duration
        .with_label_values(&[K::KIND])
        .observe(started.elapsed().as_secs_f64());
    match result {
        Ok(action) => {
            let key = backoff_key(obj.as_ref());
            ctx.backoff.reset(&key);
            ctx.pending_backoff.reset(&key);
            Ok(action)
        }
        Err(err) if err.category.is_quiet() => {
            tracing::debug!(kind = K::KIND, object = %object_key(obj.as_ref()), "{}", err.message);
            // Quiet, but visible to kstatus: `Reconciling=True` once per generation.
            let conditions = obj.status().map_or(&[][..], |s| s.conditions());
            if !health::already_pending(conditions, obj.meta().generation) {
                record(obj.as_ref(), ctx, &err, false).await;
            }
            Err(err)
        }
        Err(err) => {
            ctx.metrics
                .reconcile_errors
                .with_label_values(&[K::KIND, err.category.as_str()])
                .inc();
            tracing::warn!(kind = K::KIND, object = %object_key(obj.as_ref()), category = err.category.as_str(), "{}", err.message);
            error_event(&ctx.recorder, obj.as_ref(), &err);
            record(obj.as_ref(), ctx, &err, true).await;
            Err(err)
        }
    }
}

/// The error a panicking reconcile turns into; the message is the panic's, cut to one line.
fn panicked(payload: &(dyn std::any::Any + Send)) -> ReconcileError {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    let what: String = what
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    tracing::error!(panic = %what, "a reconcile panicked; only its object is affected");
    ReconcileError::new(
        Category::Internal,
        format!(
            "the reconcile failed on an internal error ({what}); retrying with backoff. This is a bug: please report it"
        ),
    )
}

/// Test hooks, compiled in debug builds only (the end-to-end tests run a debug binary):
/// `CCS_DEBUG_PANIC_ON=<namespace>/<name>` makes every reconcile of that object panic inside the
/// reconcile (caught: the object alone reports `Internal`); `CCS_DEBUG_PANIC_UNCAUGHT_ON=<namespace>/<name>`
/// panics outside that guard, as an unforeseen bug in the frame would, to test that the process
/// exits when its controllers die.
#[cfg(debug_assertions)]
mod debug_hooks {
    use std::sync::OnceLock;

    fn target(var: &'static str, cell: &'static OnceLock<Option<String>>) -> Option<&'static str> {
        cell.get_or_init(|| std::env::var(var).ok().filter(|v| !v.is_empty()))
            .as_deref()
    }

    pub fn panic_if_asked(key: &str) {
        static TARGET: OnceLock<Option<String>> = OnceLock::new();
        if target("CCS_DEBUG_PANIC_ON", &TARGET) == Some(key) {
            panic!("CCS_DEBUG_PANIC_ON: test panic in the reconcile of {key}");
        }
    }

    pub fn panic_uncaught_if_asked(key: &str) {
        static TARGET: OnceLock<Option<String>> = OnceLock::new();
        if target("CCS_DEBUG_PANIC_UNCAUGHT_ON", &TARGET) == Some(key) {
            panic!("CCS_DEBUG_PANIC_UNCAUGHT_ON: test panic outside the reconcile guard for {key}");
        }
    }
}

/// Records a failed reconcile in status: `Reconciling`/`Stalled` ([`health::Progress::of_error`])
/// and, when `failed` (not a quiet wait), `Ready=False` and `Synced=False` with the category as
/// reason, plus the kind's own conditions ([`ConditionedStatus::on_error`]).
async fn record<K>(obj: &K, ctx: &Context, err: &ReconcileError, failed: bool)
where
    K: Reconciled,
    K::Status: ConditionedStatus,
{
    let now = ctx.now();
    let generation = obj.meta().generation;
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    // Start from the stored status, not the cached object: the failed reconcile may have written
    // status already (a Triggered threshold), and a server-side apply of an older status would undo it.
    let latest = match api.get_status(&obj.name_any()).await {
        Ok(latest) => latest,
        Err(kube::Error::Api(e)) if e.code == 404 => return,
        Err(read_err) => {
            tracing::warn!(kind = K::KIND, object = %object_key(obj), "could not read status: {read_err}");
            return;
        }
    };
    let mut status = latest.status().cloned().unwrap_or_default();
    let conditions = status.conditions_mut();
    health::set(conditions, generation, now, &health::Progress::of_error(err));
    if !failed {
        if let Err(write_err) = apply_status(&ctx.written, &api, obj, &status).await {
            tracing::warn!(kind = K::KIND, object = %object_key(obj), "could not record the wait in status: {write_err}");
        }
        return;
    }
    status.on_error(err, generation, now);
    let conditions = status.conditions_mut();
    conditions::on(conditions, generation, now).set(
        "Ready",
        Some(false),
        err.category.as_str(),
        &err.message,
    );
    conditions::on(conditions, generation, now).set(
        "Synced",
        Some(false),
        err.category.as_str(),
        &err.message,
    );
    if let Err(write_err) = apply_status(&ctx.written, &api, obj, &status).await {
        tracing::warn!(kind = K::KIND, object = %object_key(obj), "could not record the failure in status: {write_err}");
    }
}

/// What to do after a failed reconcile: terminal errors wait (re-checked at the slow `resync`, or
/// sooner on a change); others retry with per-object exponential backoff.
pub fn error_policy<K: Reconciled>(obj: &K, err: &ReconcileError, ctx: &Context, resync: Duration) -> Action
where
    K::Status: ConditionedStatus,
{
    if err.is_terminal() {
        Action::requeue(jitter(resync))
    } else {
        backoff(obj, ctx)
    }
}

/// The object's next exponential backoff delay (reset by a successful reconcile).
pub fn backoff<K: Reconciled>(obj: &K, ctx: &Context) -> Action
where
    K::Status: ConditionedStatus,
{
    Action::requeue(ctx.backoff.next_delay(&backoff_key(obj)))
}

/// Like [`error_policy`], but a missing or unready CloudContract is retried with backoff: the
/// contract's own watch may fire before the shared cache sees it Ready, and waiting a whole
/// resync for that race would be too long.
pub fn dependent_error_policy<K: Reconciled>(
    obj: &K,
    err: &ReconcileError,
    ctx: &Context,
    resync: Duration,
) -> Action
where
    K::Status: ConditionedStatus,
{
    if err.category == Category::ReferencePending {
        Action::requeue(ctx.pending_backoff.next_delay(&backoff_key(obj)))
    } else if err.category == Category::ReferenceNotFound {
        backoff(obj, ctx)
    } else {
        error_policy(obj, err, ctx, resync)
    }
}

/// `d` spread by ±10%, so objects created together do not poll together. Saturates instead of
/// panicking on a huge `d` (callers clamp their intervals; this is the last line).
pub fn jitter(d: Duration) -> Duration {
    Duration::try_from_secs_f64(d.as_secs_f64() * (0.9 + fastrand::f64() * 0.2)).unwrap_or(Duration::MAX)
}
