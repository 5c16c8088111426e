//! The resources the server knows: built-in kinds plus every served version of every CRD.

use super::admission::CrSchema;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where objects of a resource are stored: one map per group and plural, shared by its versions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct GroupResource {
    /// API group, "" for core.
    pub group: String,
    /// Plural name.
    pub resource: String,
}

impl GroupResource {
    /// Builds a key.
    pub fn new(group: &str, resource: &str) -> Self {
        Self {
            group: group.into(),
            resource: resource.into(),
        }
    }
}

/// Built-in kinds that need special handling; `None` for custom resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// core/v1 Namespace.
    Namespace,
    /// core/v1 ConfigMap.
    ConfigMap,
    /// core/v1 Secret.
    Secret,
    /// core/v1 Event (the storage form of events).
    Event,
    /// events.k8s.io/v1 Event (converted to and from the core form).
    EventV1,
    /// coordination.k8s.io/v1 Lease.
    Lease,
    /// apiextensions.k8s.io/v1 CustomResourceDefinition.
    Crd,
    /// rbac.authorization.k8s.io/v1 Role.
    Role,
    /// rbac.authorization.k8s.io/v1 RoleBinding.
    RoleBinding,
    /// rbac.authorization.k8s.io/v1 ClusterRole.
    ClusterRole,
    /// rbac.authorization.k8s.io/v1 ClusterRoleBinding.
    ClusterRoleBinding,
    /// authorization.k8s.io/v1 SubjectAccessReview (create only, answered from the RBAC kinds).
    SubjectAccessReview,
}

/// A printer column: a JSONPath into the object.
#[derive(Debug, Clone)]
pub struct Column {
    /// Column header.
    pub name: String,
    /// `string`, `integer`, `number`, `boolean` or `date`.
    pub type_: String,
    /// OpenAPI format.
    pub format: String,
    /// Description.
    pub description: String,
    /// 0 = shown by default; higher only with `-o wide`.
    pub priority: i64,
    /// JSONPath such as `.spec.replicas`.
    pub json_path: String,
    /// Computes the cell instead of `json_path` (built-in columns such as an event's OBJECT).
    pub render: Option<fn(&Value) -> Value>,
}

/// Everything the server knows about one resource at one version.
#[derive(Debug, Clone)]
pub struct ResourceInfo {
    /// API group ("" for core).
    pub group: String,
    /// Version.
    pub version: String,
    /// Plural name (URL segment).
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Kind.
    pub kind: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Short names (`kubectl get wd`).
    pub short_names: Vec<String>,
    /// Categories (`kubectl get all`).
    pub categories: Vec<String>,
    /// Whether `/status` is a subresource (the main endpoint then ignores status).
    pub status_subresource: bool,
    /// Printer columns, Name excluded.
    pub columns: Vec<Column>,
    /// The CRD's `openAPIV3Schema` for custom resources.
    pub schema: Option<Value>,
    /// Pruning, defaulting and validation for custom resources.
    pub cr_schema: Option<Arc<CrSchema>>,
    /// JSONPaths usable in field selectors besides metadata.name/namespace.
    pub selectable_fields: Vec<String>,
    /// Storage key.
    pub storage: GroupResource,
    /// Special handling of built-in kinds.
    pub builtin: Option<Builtin>,
}

impl ResourceInfo {
    /// A stand-in for a resource no longer in discovery (the custom resources of a CRD being
    /// deleted): enough to delete its objects.
    pub fn bare(storage: GroupResource) -> Self {
        Self {
            group: storage.group.clone(),
            version: String::new(),
            plural: storage.resource.clone(),
            singular: String::new(),
            kind: String::new(),
            namespaced: true,
            short_names: vec![],
            categories: vec![],
            status_subresource: false,
            columns: vec![],
            schema: None,
            cr_schema: None,
            selectable_fields: vec![],
            storage,
            builtin: None,
        }
    }

    /// `group/version` or `v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `Widget.dev.example.com` (or just `ConfigMap`), as used in Invalid messages.
    pub fn kind_group(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    /// True for custom resources.
    pub fn is_custom(&self) -> bool {
        self.builtin.is_none()
    }

    /// `Subject` of an error about object `name`.
    pub fn subject<'a>(&'a self, name: &'a str) -> super::error::Subject<'a> {
        super::error::Subject {
            group: &self.group,
            plural: &self.plural,
            name,
        }
    }
}

fn col(name: &str, type_: &str, json_path: &str) -> Column {
    Column {
        name: name.into(),
        type_: type_.into(),
        format: String::new(),
        description: String::new(),
        priority: 0,
        json_path: json_path.into(),
        render: None,
    }
}

fn computed(name: &str, type_: &str, render: fn(&Value) -> Value) -> Column {
    Column {
        render: Some(render),
        ..col(name, type_, "")
    }
}

/// Number of entries of `data` plus `binaryData` (ConfigMap and Secret DATA columns).
fn data_count(o: &Value) -> Value {
    let count = |k: &str| o[k].as_object().map_or(0, |m| m.len());
    Value::from(count("data") + count("binaryData"))
}

/// `kind/name` of the object an event is about, as `kubectl get events` shows it.
fn event_object(o: &Value) -> Value {
    let r = &o["involvedObject"];
    Value::String(format!(
        "{}/{}",
        r["kind"].as_str().unwrap_or_default().to_lowercase(),
        r["name"].as_str().unwrap_or_default()
    ))
}

fn age() -> Column {
    col("Age", "date", ".metadata.creationTimestamp")
}

/// Built-in kinds served by every dev cluster.
pub fn builtins() -> Vec<ResourceInfo> {
    let mk = |group: &str, version: &str, plural: &str, kind: &str, namespaced: bool, builtin: Builtin| {
        ResourceInfo {
            group: group.into(),
            version: version.into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            kind: kind.into(),
            namespaced,
            short_names: vec![],
            categories: vec![],
            status_subresource: false,
            columns: vec![age()],
            schema: None,
            cr_schema: None,
            selectable_fields: vec![],
            storage: GroupResource::new(group, plural),
            builtin: Some(builtin),
        }
    };
    let mut ns = mk("", "v1", "namespaces", "Namespace", false, Builtin::Namespace);
    ns.short_names = vec!["ns".into()];
    ns.status_subresource = true;
    ns.columns = vec![col("Status", "string", ".status.phase"), age()];
    ns.selectable_fields = vec!["status.phase".into()];
    let mut cm = mk("", "v1", "configmaps", "ConfigMap", true, Builtin::ConfigMap);
    cm.short_names = vec!["cm".into()];
    cm.columns = vec![computed("Data", "integer", data_count), age()];
    let mut secret = mk("", "v1", "secrets", "Secret", true, Builtin::Secret);
    secret.columns = vec![
        col("Type", "string", ".type"),
        computed("Data", "integer", data_count),
        age(),
    ];
    secret.selectable_fields = vec!["type".into()];
    let mut event = mk("", "v1", "events", "Event", true, Builtin::Event);
    event.short_names = vec!["ev".into()];
    event.columns = vec![
        col("Last Seen", "date", ".lastTimestamp"),
        col("Type", "string", ".type"),
        col("Reason", "string", ".reason"),
        computed("Object", "string", event_object),
        col("Message", "string", ".message"),
    ];
    event.selectable_fields = [
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ]
    .map(String::from)
    .to_vec();
    let mut event_v1 = mk("events.k8s.io", "v1", "events", "Event", true, Builtin::EventV1);
    event_v1.short_names = vec!["ev".into()];
    event_v1.storage = GroupResource::new("", "events");
    event_v1.columns = event.columns.clone();
    let lease = mk(
        "coordination.k8s.io",
        "v1",
        "leases",
        "Lease",
        true,
        Builtin::Lease,
    );
    let mut crd = mk(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        false,
        Builtin::Crd,
    );
    crd.short_names = vec!["crd".into(), "crds".into()];
    crd.status_subresource = true;
    crd.columns = vec![col("Created At", "string", ".metadata.creationTimestamp")];
    let rbac = "rbac.authorization.k8s.io";
    let role = mk(rbac, "v1", "roles", "Role", true, Builtin::Role);
    let binding = mk(
        rbac,
        "v1",
        "rolebindings",
        "RoleBinding",
        true,
        Builtin::RoleBinding,
    );
    let cluster_role = mk(
        rbac,
        "v1",
        "clusterroles",
        "ClusterRole",
        false,
        Builtin::ClusterRole,
    );
    let cluster_binding = mk(
        rbac,
        "v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
        false,
        Builtin::ClusterRoleBinding,
    );
    let review = mk(
        "authorization.k8s.io",
        "v1",
        "subjectaccessreviews",
        "SubjectAccessReview",
        false,
        Builtin::SubjectAccessReview,
    );
    vec![
        ns,
        cm,
        secret,
        event,
        event_v1,
        lease,
        crd,
        role,
        binding,
        cluster_role,
        cluster_binding,
        review,
    ]
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

/// The served versions of a CRD object as resources (empty when the CRD is being deleted).
pub fn from_crd(crd: &Value) -> Vec<ResourceInfo> {
    let spec = &crd["spec"];
    let names = &spec["names"];
    let group = spec["group"].as_str().unwrap_or_default();
    let plural = names["plural"].as_str().unwrap_or_default();
    let kind = names["kind"].as_str().unwrap_or_default();
    if group.is_empty()
        || plural.is_empty()
        || kind.is_empty()
        || !crd["metadata"]["deletionTimestamp"].is_null()
    {
        return vec![];
    }
    let singular = names["singular"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| kind.to_lowercase());
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    versions
        .iter()
        .filter(|v| v["served"].as_bool().unwrap_or(true))
        .map(|v| {
            let schema = v["schema"]["openAPIV3Schema"].clone();
            let schema = (!schema.is_null()).then_some(schema);
            let mut columns: Vec<Column> = v["additionalPrinterColumns"]
                .as_array()
                .map(|cols| cols.iter().map(column_from_crd).collect())
                .unwrap_or_default();
            if columns.is_empty() {
                columns.push(age());
            }
            ResourceInfo {
                group: group.into(),
                version: v["name"].as_str().unwrap_or_default().into(),
                plural: plural.into(),
                singular: singular.clone(),
                kind: kind.into(),
                namespaced: spec["scope"].as_str() != Some("Cluster"),
                short_names: strings(&names["shortNames"]),
                categories: strings(&names["categories"]),
                status_subresource: v["subresources"]["status"].is_object(),
                columns,
                cr_schema: schema.as_ref().map(|s| Arc::new(CrSchema::new(s))),
                schema,
                selectable_fields: v["selectableFields"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|f| f["jsonPath"].as_str())
                            .map(|p| p.trim_start_matches('.').to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
                storage: GroupResource::new(group, plural),
                builtin: None,
            }
        })
        .collect()
}

fn column_from_crd(c: &Value) -> Column {
    let text = |k: &str| c[k].as_str().unwrap_or_default().to_string();
    Column {
        name: text("name"),
        type_: text("type"),
        format: text("format"),
        description: text("description"),
        priority: c["priority"].as_i64().unwrap_or(0),
        json_path: text("jsonPath"),
        render: None,
    }
}

/// All resources by (group, version, plural), rebuilt whenever a CRD changes.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    /// (group, version, plural) -> info.
    pub resources: BTreeMap<(String, String, String), Arc<ResourceInfo>>,
    /// Bumped on every rebuild; feeds the OpenAPI hash.
    pub generation: u64,
}

impl Registry {
    /// Built-ins plus the given CRD objects.
    pub fn build<'a>(crds: impl Iterator<Item = &'a Value>, generation: u64) -> Self {
        let mut resources = BTreeMap::new();
        for info in builtins().into_iter().chain(crds.flat_map(from_crd)) {
            let key = (info.group.clone(), info.version.clone(), info.plural.clone());
            resources.entry(key).or_insert_with(|| Arc::new(info));
        }
        Self {
            resources,
            generation,
        }
    }

    /// Looks up a resource by URL segments.
    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceInfo>> {
        self.resources
            .get(&(group.to_string(), version.to_string(), plural.to_string()))
            .cloned()
    }

    /// Any version serving the given storage (for GC and cleanup of arbitrary kinds).
    pub fn by_storage(&self, storage: &GroupResource) -> Option<Arc<ResourceInfo>> {
        self.resources
            .values()
            .find(|r| &r.storage == storage && r.builtin != Some(Builtin::EventV1))
            .cloned()
    }

    /// Groups with their versions, in registration order (core first).
    pub fn groups(&self) -> BTreeMap<String, Vec<String>> {
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (g, v, _) in self.resources.keys() {
            let versions = groups.entry(g.clone()).or_default();
            if !versions.contains(v) {
                versions.push(v.clone());
            }
        }
        groups
    }

    /// Resources of one group/version.
    pub fn in_group_version(&self, group: &str, version: &str) -> Vec<Arc<ResourceInfo>> {
        self.resources
            .values()
            .filter(|r| r.group == group && r.version == version)
            .cloned()
            .collect()
    }
}
