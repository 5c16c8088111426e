//! Admission validation of custom resources against their CRD schema, worded like the real API server.
//!
//! One [`SchemaValidator`] per CRD version does what kube-apiserver does on create, update, patch and
//! apply: prune undeclared fields, apply defaults, check the OpenAPI constraints, then evaluate the CEL
//! `x-kubernetes-validations` rules (with `oldSelf` on update) through `kube-cel`. The embedded
//! dev-cluster calls it at admission, and the tests call it on manifests directly.

mod cel;
mod error;
mod openapi;
mod path;
mod prune;

pub use error::FieldError;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;

/// Fields at the root of every object that the schema does not own.
const ROOT_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// Validator for one CRD version, built once and reused for every object.
pub struct SchemaValidator {
    schema: Value,
    /// The schema as validated at the root (see [`openapi::root_schema`]).
    root: Value,
    /// Every `pattern`, compiled once: compiling them per object dominated admission.
    patterns: openapi::Patterns,
    cel: cel::CelRules,
}

impl std::fmt::Debug for SchemaValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaValidator").finish_non_exhaustive()
    }
}

impl SchemaValidator {
    /// Builds a validator from an `openAPIV3Schema` document.
    pub fn new(open_api_v3_schema: &Value) -> Self {
        let mut patterns = openapi::Patterns::new();
        openapi::compile_patterns(open_api_v3_schema, &mut patterns);
        Self {
            schema: open_api_v3_schema.clone(),
            root: openapi::root_schema(open_api_v3_schema),
            patterns,
            cel: cel::CelRules::compile(open_api_v3_schema),
        }
    }

    /// Builds the validator of the storage version (or the first served version) of a CRD.
    /// Returns `None` when the CRD carries no schema.
    pub fn for_crd(crd: &CustomResourceDefinition) -> Option<Self> {
        let version = crd
            .spec
            .versions
            .iter()
            .find(|v| v.storage)
            .or_else(|| crd.spec.versions.first())?;
        let schema = version.schema.as_ref()?.open_api_v3_schema.as_ref()?;
        Some(Self::new(&serde_json::to_value(schema).ok()?))
    }

    /// Removes the fields the schema does not declare (honouring `x-kubernetes-preserve-unknown-fields`
    /// and `x-kubernetes-embedded-resource`), then applies defaults. Returns the removed fields' paths,
    /// for `fieldValidation=Strict` (error) and `Warn` (warning).
    pub fn prune_and_default(&self, object: &mut Value) -> Vec<String> {
        let mut pruned = Vec::new();
        prune::prune_root(&self.schema, object, &mut pruned);
        prune::default_root(&self.schema, object);
        pruned
    }

    /// Checks an object (already pruned and defaulted) against the OpenAPI constraints and the CEL
    /// rules. `old` is the stored object on update, for transition rules. `metadata` is not checked.
    pub fn validate(&self, object: &Value, old: Option<&Value>) -> Vec<FieldError> {
        self.check(object, old, false)
    }

    /// Like [`Self::validate`] for an update, skipping the top-level fields the update leaves
    /// unchanged (their errors would be ratcheted away): a status write does not re-check the spec.
    /// The API server's admission uses it.
    pub fn validate_update(&self, object: &Value, old: &Value) -> Vec<FieldError> {
        self.check(object, Some(old), true)
    }

    fn check(&self, object: &Value, old: Option<&Value>, skip_unchanged: bool) -> Vec<FieldError> {
        let unchanged_from = if skip_unchanged { old } else { None };
        let mut errors = openapi::validate_root(&self.root, &self.patterns, object, unchanged_from);
        // As in kube-apiserver: CEL rules assume the types and sizes the schema declares, so they
        // are skipped while such an error stands.
        if errors.iter().any(FieldError::blocks_cel) {
            errors.push(FieldError::cel_not_checked());
        } else if skip_unchanged {
            errors.extend(self.cel.validate_changed(object, old));
        } else {
            errors.extend(self.cel.validate(object, old));
        }
        errors
    }

    /// Prunes, defaults and validates a copy of `object`, as admission would. Unknown fields are
    /// reported as errors (the behaviour of `kubectl apply`, which asks for strict field validation).
    pub fn admit(&self, object: &Value, old: Option<&Value>) -> Result<Value, Vec<FieldError>> {
        let mut admitted = object.clone();
        let mut errors: Vec<FieldError> = self
            .prune_and_default(&mut admitted)
            .into_iter()
            .map(FieldError::unknown_field)
            .collect();
        let old = old.map(|o| {
            let mut o = o.clone();
            self.prune_and_default(&mut o);
            o
        });
        errors.extend(self.validate(&admitted, old.as_ref()));
        if errors.is_empty() {
            Ok(admitted)
        } else {
            Err(errors)
        }
    }
}

/// Validates a manifest against the CRD of its kind from this crate's API, as admission would.
/// Returns `None` when the manifest is not one of this crate's kinds.
pub fn admit_manifest(object: &Value, old: Option<&Value>) -> Option<Result<Value, Vec<FieldError>>> {
    let kind = object.get("kind")?.as_str()?;
    let crd = ccs_api::all_crds()
        .into_iter()
        .find(|crd| crd.spec.names.kind == kind)?;
    let validator = SchemaValidator::for_crd(&crd)?;
    Some(validator.admit(object, old))
}

#[cfg(test)]
mod tests {
    use super::SchemaValidator;
    use serde_json::{Value, json};

    fn assert_send_sync<T: Send + Sync>() {}

    fn widget_schema() -> Value {
        json!({"type": "object", "properties": {
            "spec": {"type": "object", "required": ["size"], "properties": {
                "size": {"type": "integer", "minimum": 1, "maximum": 10, "exclusiveMaximum": true},
                "port": {"x-kubernetes-int-or-string": true},
                "note": {"type": "string", "nullable": true, "maxLength": 3},
                "when": {"type": "string", "format": "date-time"},
                "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
                "labels": {"type": "object", "additionalProperties": {"type": "string", "default": "x"}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                         "properties": {"known": {"type": "string", "default": "k"}}},
                "embedded": {"type": "object", "x-kubernetes-embedded-resource": true,
                             "properties": {"data": {"type": "string"}}},
                "mode": {"type": "string", "default": "auto"},
                "nested": {"type": "object", "properties": {"depth": {"type": "integer", "default": 3}}}
            },
            "x-kubernetes-validations": [{"rule": "self.size < 5 || self.mode == 'big'", "message": "big sizes need mode big"}]}
        }})
    }

    fn errors_of(object: Value) -> Vec<String> {
        let v = SchemaValidator::new(&widget_schema());
        let mut object = object;
        v.prune_and_default(&mut object);
        v.validate(&object, None)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn validator_can_be_shared_between_threads() {
        assert_send_sync::<SchemaValidator>();
    }

    #[test]
    fn prunes_unknown_fields_but_keeps_preserved_and_embedded_ones() {
        let v = SchemaValidator::new(&widget_schema());
        let mut object = json!({"apiVersion": "x/v1", "kind": "W", "metadata": {"name": "w", "odd": 1},
            "spec": {"size": 2, "bogus": true, "free": {"anything": [1]},
                     "embedded": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "junk": 1}},
            "extra": 1});
        let pruned = v.prune_and_default(&mut object);
        assert_eq!(pruned, vec!["spec.embedded.junk", "spec.bogus", "extra"]);
        assert_eq!(
            object["metadata"]["odd"], 1,
            "metadata is the server's business, not the schema's"
        );
        assert_eq!(object["spec"]["free"]["anything"], json!([1]));
        assert_eq!(object["spec"]["embedded"]["kind"], "ConfigMap");
        assert_eq!(object["spec"]["mode"], "auto");
        assert_eq!(
            object["spec"]["free"]["known"], "k",
            "defaults apply below preserved objects too"
        );
        assert!(
            object["spec"].get("nested").is_none(),
            "no default for an absent parent"
        );
    }

    #[test]
    fn nulls_on_non_nullable_fields_are_pruned_then_defaulted() {
        let v = SchemaValidator::new(&widget_schema());
        let mut object = json!({"spec": {"size": 2, "mode": null, "note": null, "nested": {}}});
        assert!(v.prune_and_default(&mut object).is_empty());
        assert_eq!(object["spec"]["mode"], "auto");
        assert_eq!(object["spec"]["note"], Value::Null, "nullable keeps its null");
        assert_eq!(object["spec"]["nested"]["depth"], 3);
        assert!(v.validate(&object, None).is_empty());
    }

    #[test]
    fn reports_constraints_in_the_apiservers_words() {
        let errors = errors_of(json!({"spec": {"size": 10, "port": true, "note": "long",
            "when": "yesterday", "tags": ["a", "a"], "labels": {"k": 1}}}));
        // Fields are visited in key order, as serde_json keeps them.
        assert_eq!(
            errors,
            vec![
                "spec.labels[k]: Invalid value: \"integer\": spec.labels[k] in body must be of type string: \"integer\"",
                "spec.note: Too long: may not be more than 3 bytes",
                "spec.port: Invalid value: \"boolean\": spec.port in body must be of type integer or string: \"boolean\"",
                "spec.size: Invalid value: 10: spec.size in body should be less than 10",
                "spec.tags[1]: Duplicate value: \"a\"",
                "spec.when: Invalid value: \"yesterday\": spec.when in body must be of type date-time: \"yesterday\"",
                "<nil>: Invalid value: \"null\": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
            ]
        );
    }

    #[test]
    fn cel_rules_run_once_the_schema_holds() {
        assert_eq!(
            errors_of(json!({"spec": {"size": 7}})),
            vec!["spec: Invalid value: \"object\": big sizes need mode big"]
        );
        assert!(errors_of(json!({"spec": {"size": 7, "mode": "big", "port": "http"}})).is_empty());
        // A missing required field would make rules fail with "no such key": they wait for it.
        assert_eq!(errors_of(json!({"spec": {}}))[0], "spec.size: Required value");
        assert_eq!(errors_of(json!({"spec": {}})).len(), 2);
    }

    #[test]
    fn updates_skip_the_rules_of_unchanged_fields_and_name_nested_paths() {
        let schema = json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "email": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "immutable"}]},
                "items": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "integer"}},
                          "x-kubernetes-validations": [{"rule": "self.n > 0", "message": "n must be positive"}]}}}},
            "status": {"type": "object", "properties": {"phase": {"type": "string"}}}}});
        let v = SchemaValidator::new(&schema);
        let detail = |errors: Vec<super::FieldError>| -> Vec<String> {
            errors
                .into_iter()
                .map(|e| format!("{}: {}", e.field, e.detail))
                .collect()
        };
        let old = json!({"spec": {"email": "a@b.c", "items": [{"n": 0}]}, "status": {"phase": "A"}});
        // The stored spec already breaks a rule: a status write need not fix it.
        let status_write = json!({"spec": {"email": "a@b.c", "items": [{"n": 0}]}, "status": {"phase": "B"}});
        assert!(v.validate_update(&status_write, &old).is_empty());
        assert_eq!(detail(v.validate(&status_write, Some(&old))).len(), 1);
        // A changed spec runs every rule of the spec, transition rules included, with full paths.
        let changed = json!({"spec": {"email": "x@b.c", "items": [{"n": 0}]}});
        let mut got = detail(v.validate_update(&changed, &old));
        got.sort();
        assert_eq!(
            got,
            vec![
                "spec.email: Invalid value: \"string\": immutable",
                "spec.items[0]: Invalid value: \"object\": n must be positive",
            ]
        );
    }

    #[test]
    fn updates_do_not_recheck_unchanged_fields_against_the_schema() {
        let schema = json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {"name": {"type": "string", "pattern": "^[a-z]+$"}}},
            "status": {"type": "object", "properties": {"phase": {"type": "string", "enum": ["A", "B"]}}}}});
        let v = SchemaValidator::new(&schema);
        let old = json!({"spec": {"name": "Bad Name"}, "status": {"phase": "A"}});
        let fields =
            |errors: Vec<super::FieldError>| -> Vec<String> { errors.into_iter().map(|e| e.field).collect() };
        // A status write leaves the stored, invalid spec alone; its own field is still checked.
        assert!(
            v.validate_update(
                &json!({"spec": {"name": "Bad Name"}, "status": {"phase": "B"}}),
                &old
            )
            .is_empty()
        );
        let status_only = fields(v.validate_update(
            &json!({"spec": {"name": "Bad Name"}, "status": {"phase": "C"}}),
            &old,
        ));
        assert!(
            status_only.contains(&"status.phase".to_string()),
            "{status_only:?}"
        );
        assert!(
            !status_only.iter().any(|f| f.starts_with("spec")),
            "{status_only:?}"
        );
        let spec_changed = fields(v.validate_update(
            &json!({"spec": {"name": "Other Bad"}, "status": {"phase": "A"}}),
            &old,
        ));
        assert!(
            spec_changed.contains(&"spec.name".to_string()),
            "{spec_changed:?}"
        );
    }
}
