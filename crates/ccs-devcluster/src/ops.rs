//! Write operations (create, update, patch, apply, delete) and reads, independent of HTTP.

use super::admission::{self, FieldValidation};
use super::builtin;
use super::error::{ApiError, ApiResult, Cause};
use super::gc::Deletion;
use super::managed::{self, Operation};
use super::meta::{self, meta_mut, meta_str};
use super::patch::{self, CR_PATCH_TYPES, PatchType};
use super::resource::{Builtin, ResourceInfo};
use super::store::{Inner, ObjKey, Store};
use super::view::{present, to_storage};
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

/// The object (or collection) a request addresses.
#[derive(Debug, Clone)]
pub struct Target {
    /// The resource and version.
    pub info: Arc<ResourceInfo>,
    /// Namespace ("" for cluster-scoped requests).
    pub namespace: String,
    /// Object name ("" for collections).
    pub name: String,
    /// `status` for the status subresource.
    pub subresource: Option<String>,
}

impl Target {
    fn key(&self) -> ObjKey {
        (self.namespace.clone(), self.name.clone())
    }

    fn is_status(&self) -> bool {
        self.subresource.as_deref() == Some("status")
    }
}

/// Query options of writes.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// `dryRun=All`: do everything but persist.
    pub dry_run: bool,
    /// `fieldManager` (empty when not given).
    pub field_manager: String,
    /// `fieldValidation`.
    pub field_validation: FieldValidation,
    /// `force=true`: server-side apply takes over conflicting fields.
    pub force: bool,
}

impl WriteOptions {
    fn manager(&self) -> &str {
        if self.field_manager.is_empty() {
            "unknown"
        } else {
            &self.field_manager
        }
    }
}

/// A successful write: HTTP code, response body, Warning headers.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// 200 or 201.
    pub code: StatusCode,
    /// Response body.
    pub body: Value,
    /// `Warning` header texts.
    pub warnings: Vec<String>,
}

impl Outcome {
    fn ok(info: &ResourceInfo, object: &Value, warnings: Vec<String>) -> Self {
        Self {
            code: StatusCode::OK,
            body: present(info, object),
            warnings,
        }
    }
}

/// DeleteOptions (body and query).
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `propagationPolicy` (Orphan also from `orphanDependents=true`).
    pub propagation: super::gc::Propagation,
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
}

fn invalid(info: &ResourceInfo, name: &str, field: &str, reason: &str, message: String) -> ApiError {
    let cause = Cause {
        reason: reason.into(),
        message,
        field: field.into(),
    };
    ApiError::invalid(&info.kind_group(), info.subject(name), vec![cause])
}

/// Checks the namespace of the body against the URL and that it exists and is not terminating.
fn check_namespace(t: &Target, object: &mut Value) -> ApiResult<()> {
    if !t.info.namespaced {
        meta_mut(object).remove("namespace");
        return Ok(());
    }
    match meta_str(object, "namespace") {
        Some(ns) if !ns.is_empty() && ns != t.namespace => {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        _ => {
            meta_mut(object).insert("namespace".into(), json!(t.namespace));
        }
    }
    Ok(())
}

fn check_namespace_open(inner: &Inner, t: &Target, name: &str) -> ApiResult<()> {
    if !t.info.namespaced {
        return Ok(());
    }
    let ns = inner.get(&super::gc::namespaces(), &(String::new(), t.namespace.clone()));
    match ns {
        None => Err(ApiError::not_found(super::error::Subject {
            group: "",
            plural: "namespaces",
            name: &t.namespace,
        })),
        Some(ns) if meta::is_terminating(&ns) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!(
                "{} \"{name}\" is forbidden: unable to create new content in namespace {} because it is being terminated",
                t.info.subject(name).qualified(),
                t.namespace
            ),
        )),
        Some(_) => Ok(()),
    }
}

/// Runs schema processing: typed decoding and defaults of built-ins, the CRD schema for custom
/// resources. Returns Warning texts.
fn admit(t: &Target, object: &mut Value, old: Option<&Value>, o: &WriteOptions) -> ApiResult<Vec<String>> {
    builtin::normalize(&t.info, object, old)?;
    match t.info.builtin {
        Some(kind) => {
            let unknown = super::typed::prune(kind, object)?;
            admission::unknown_fields(&t.info, &unknown, o.field_validation)
        }
        None => admission::admit(&t.info, object, old, o.field_validation),
    }
}

/// Creates an object (POST, or an apply that finds nothing).
pub fn create(
    inner: &mut Inner,
    t: &Target,
    body: Value,
    o: &WriteOptions,
    applied: Option<&Value>,
) -> ApiResult<Outcome> {
    let info = &t.info;
    meta::ensure_object(&body)?;
    let mut view = body;
    meta::set_type(info, &mut view)?;
    let mut object = to_storage(info, view);
    check_namespace(t, &mut object)?;
    let mut name = meta_str(&object, "name").unwrap_or_default().to_string();
    if name.is_empty() {
        let prefix = meta_str(&object, "generateName").unwrap_or_default().to_string();
        if prefix.is_empty() {
            return Err(invalid(
                info,
                "",
                "metadata.name",
                "FieldValueRequired",
                "Required value: name or generateName is required".into(),
            ));
        }
        name = format!("{prefix}{}", meta::random_suffix());
        meta_mut(&mut object).insert("name".into(), json!(name));
    }
    meta::validate_name(info, &name)?;
    check_namespace_open(inner, t, &name)?;
    if meta_str(&object, "resourceVersion").is_some_and(|rv| !rv.is_empty()) {
        return Err(ApiError::bad_request(
            "resourceVersion should not be set on objects to be created",
        ));
    }
    let key = (
        if info.namespaced {
            t.namespace.clone()
        } else {
            String::new()
        },
        name.clone(),
    );
    if inner.get(&info.storage, &key).is_some() {
        return Err(ApiError::already_exists(info.subject(&name)));
    }
    if info.status_subresource
        && let Some(m) = object.as_object_mut()
    {
        m.remove("status");
    }
    let m = meta_mut(&mut object);
    for k in [
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "resourceVersion",
        "managedFields",
        "selfLink",
    ] {
        m.remove(k);
    }
    m.insert("uid".into(), json!(meta::new_uid()));
    m.insert("creationTimestamp".into(), json!(meta::now()));
    m.insert("generation".into(), json!(1));
    if info.builtin == Some(Builtin::Namespace)
        && let Some(labels) = m.entry("labels").or_insert_with(|| json!({})).as_object_mut()
    {
        labels.insert("kubernetes.io/metadata.name".into(), json!(name));
    }
    let warnings = admit(t, &mut object, None, o)?;
    let op = if applied.is_some() {
        Operation::Apply
    } else {
        Operation::Update
    };
    managed::record(None, &mut object, o.manager(), op, None, applied);
    let stored = if o.dry_run {
        Arc::new(object)
    } else {
        inner.put(&info.storage, object)
    };
    Ok(Outcome {
        code: StatusCode::CREATED,
        body: present(info, &stored),
        warnings,
    })
}

/// Applies `change` to the current object and commits the result with the update rules.
fn update_with(
    inner: &mut Inner,
    t: &Target,
    o: &WriteOptions,
    require_rv: bool,
    op: Operation,
    applied: Option<&Value>,
    change: impl FnOnce(&Value) -> ApiResult<Value>,
) -> ApiResult<Outcome> {
    let info = t.info.clone();
    let old = inner
        .get(&info.storage, &t.key())
        .ok_or_else(|| ApiError::not_found(info.subject(&t.name)))?;
    let mut view = change(&present(&info, &old))?;
    meta::ensure_object(&view)?;
    meta::set_type(&info, &mut view)?;
    let mut new = to_storage(&info, view);
    if let Some(n) = meta_str(&new, "name").filter(|n| *n != t.name) {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({n}) does not match the name on the URL ({})",
            t.name
        )));
    }
    meta_mut(&mut new).insert("name".into(), json!(t.name));
    check_namespace(t, &mut new)?;
    let old_rv = meta_str(&old, "resourceVersion").unwrap_or_default();
    match meta_str(&new, "resourceVersion").filter(|rv| !rv.is_empty()) {
        Some(rv) if rv != old_rv => {
            return Err(ApiError::conflict(
                info.subject(&t.name),
                "the object has been modified; please apply your changes to the latest version and try again",
            ));
        }
        None if require_rv && info.is_custom() => {
            return Err(invalid(
                &info,
                &t.name,
                "metadata.resourceVersion",
                "FieldValueInvalid",
                "Invalid value: 0x0: must be specified for an update".into(),
            ));
        }
        _ => {}
    }
    if t.is_status() {
        // Only status changes through /status; everything else comes from the stored object.
        let status = new.get("status").cloned();
        new = (*old).clone();
        match status {
            Some(s) => new["status"] = s,
            None => {
                new.as_object_mut().map(|m| m.remove("status"));
            }
        }
    } else if info.status_subresource {
        match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                new.as_object_mut().map(|m| m.remove("status"));
            }
        }
    }
    meta::keep_system_meta(&old, &mut new);
    meta_mut(&mut new).insert("resourceVersion".into(), json!(old_rv));
    if meta::is_terminating(&old) {
        let before = meta::finalizers(&old);
        let added: Vec<String> = meta::finalizers(&new)
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
        if !added.is_empty() {
            return Err(invalid(
                &info,
                &t.name,
                "metadata.finalizers",
                "FieldValueForbidden",
                format!(
                    "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"
                ),
            ));
        }
    }
    let warnings = admit(t, &mut new, Some(&old), o)?;
    if let Some(config) = applied.filter(|_| !o.force) {
        // Conflicts are judged on the admitted result, so defaults re-applied are no change.
        let conflicts = managed::conflicts(&old, &new, config, o.manager(), t.subresource.as_deref());
        if !conflicts.is_empty() {
            return Err(ApiError::apply_conflicts(&conflicts));
        }
    }
    if meta::generation_changes(&info, &old, &new) {
        let g = old["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
        meta_mut(&mut new).insert("generation".into(), json!(g));
    }
    if new["metadata"].get("managedFields").is_none()
        && let Some(mf) = old["metadata"].get("managedFields")
    {
        meta_mut(&mut new).insert("managedFields".into(), mf.clone());
    }
    let managed_changed = old["metadata"]["managedFields"] != new["metadata"]["managedFields"];
    if meta::is_noop(&old, &new) && !managed_changed {
        return Ok(Outcome::ok(&info, &old, warnings));
    }
    if !managed_changed {
        managed::record(
            Some(&old),
            &mut new,
            o.manager(),
            op,
            t.subresource.as_deref(),
            applied,
        );
    }
    if o.dry_run {
        return Ok(Outcome::ok(&info, &new, warnings));
    }
    if meta::is_terminating(&new) && meta::finalizers(&new).is_empty() {
        let last = inner
            .remove(&info.storage, &t.key())
            .expect("object read under the same lock");
        inner.after_removal(&info.storage, &last);
        return Ok(Outcome::ok(&info, &last, warnings));
    }
    let stored = inner.put(&info.storage, new);
    Ok(Outcome::ok(&info, &stored, warnings))
}

impl Store {
    /// Reads one object (or its status view, which is the whole object).
    pub fn get_object(&self, t: &Target) -> ApiResult<Value> {
        let inner = self.read();
        let object = inner
            .get(&t.info.storage, &t.key())
            .ok_or_else(|| ApiError::not_found(t.info.subject(&t.name)))?;
        Ok(present(&t.info, &object))
    }

    /// POST.
    pub fn create(&self, t: &Target, body: Value, o: &WriteOptions) -> ApiResult<Outcome> {
        if t.subresource.is_some() {
            return Err(ApiError::method_not_allowed());
        }
        create(&mut self.write(), t, body, o, None)
    }

    /// PUT (main resource or /status).
    pub fn replace(&self, t: &Target, body: Value, o: &WriteOptions) -> ApiResult<Outcome> {
        self.injected_status_fault(t, &body)?;
        update_with(&mut self.write(), t, o, true, Operation::Update, None, |_| {
            Ok(body)
        })
    }

    /// PATCH of any type.
    pub fn patch(&self, t: &Target, kind: PatchType, body: Value, o: &WriteOptions) -> ApiResult<Outcome> {
        self.injected_status_fault(t, &body)?;
        if kind == PatchType::Strategic && t.info.is_custom() {
            return Err(ApiError::unsupported_media_type(CR_PATCH_TYPES));
        }
        let mut inner = self.write();
        match kind {
            PatchType::Merge => update_with(&mut inner, t, o, false, Operation::Update, None, |old| {
                patch::merge_patch(old, &body)
            }),
            PatchType::Json => update_with(&mut inner, t, o, false, Operation::Update, None, |old| {
                patch::json_patch(old, &body)
            }),
            PatchType::Strategic => update_with(&mut inner, t, o, false, Operation::Update, None, |old| {
                patch::strategic_merge_patch(old, &body)
            }),
            PatchType::Apply => apply(&mut inner, t, body, o),
        }
    }

    /// The 500 of a status write made to fail by [`Store::fail_status_writes`].
    fn injected_status_fault(&self, t: &Target, body: &Value) -> ApiResult<()> {
        if t.is_status() && self.status_write_fails(&t.info.kind, body) {
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "injected fault: status write refused",
            ));
        }
        Ok(())
    }

    /// DELETE of one object.
    pub fn delete(&self, t: &Target, d: &DeleteOptions) -> ApiResult<Outcome> {
        let mut inner = self.write();
        let info = &t.info;
        let old = inner
            .get(&info.storage, &t.key())
            .ok_or_else(|| ApiError::not_found(info.subject(&t.name)))?;
        let precondition = |field: &str, want: &Option<String>| match want {
            Some(w) if meta_str(&old, field) != Some(w.as_str()) => Err(ApiError::conflict(
                info.subject(&t.name),
                &format!(
                    "Precondition failed: {} in precondition: {w}, {} in object meta: {}",
                    if field == "uid" { "UID" } else { "ResourceVersion" },
                    if field == "uid" { "UID" } else { "ResourceVersion" },
                    meta_str(&old, field).unwrap_or_default()
                ),
            )),
            _ => Ok(()),
        };
        precondition("uid", &d.uid)?;
        precondition("resourceVersion", &d.resource_version)?;
        let deletion = if d.dry_run {
            Deletion::DryRun(old)
        } else {
            inner.delete_object(info, &t.key(), d.propagation)
        };
        Ok(match deletion {
            Deletion::Pending(obj) => Outcome::ok(info, &obj, vec![]),
            Deletion::Removed(obj) | Deletion::DryRun(obj) if info.builtin == Some(Builtin::Namespace) => {
                Outcome::ok(info, &obj, vec![])
            }
            Deletion::Removed(obj) | Deletion::DryRun(obj) => Outcome {
                code: StatusCode::OK,
                body: json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                    "details": {"name": t.name, "group": info.group, "kind": info.plural, "uid": obj["metadata"]["uid"]}}),
                warnings: vec![],
            },
        })
    }
}

/// Server-side apply: upsert on the main resource, merge with ownership tracking.
fn apply(inner: &mut Inner, t: &Target, config: Value, o: &WriteOptions) -> ApiResult<Outcome> {
    if o.field_manager.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "fieldManager: Required value: is required for apply patch",
        ));
    }
    meta::ensure_object(&config)?;
    if config.get("apiVersion").is_none() || config.get("kind").is_none() {
        return Err(ApiError::bad_request(
            "apiVersion and kind must be set in an apply configuration",
        ));
    }
    let exists = inner.get(&t.info.storage, &t.key()).is_some();
    if !exists {
        if t.is_status() {
            return Err(ApiError::not_found(t.info.subject(&t.name)));
        }
        let mut object = managed::apply_merge(None, &config, &o.field_manager, None);
        meta_mut(&mut object).insert("name".into(), json!(t.name));
        return create(inner, t, object, o, Some(&config));
    }
    let sub = t.subresource.clone();
    update_with(inner, t, o, false, Operation::Apply, Some(&config), |old| {
        Ok(managed::apply_merge(
            Some(old),
            &config,
            &o.field_manager,
            sub.as_deref(),
        ))
    })
}
