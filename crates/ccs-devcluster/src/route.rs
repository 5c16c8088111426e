//! Parsing of request paths into routes.

/// What a path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/version`.
    Version,
    /// `/healthz`, `/livez`, `/readyz`.
    Health,
    /// `/api`.
    Api,
    /// `/apis`.
    Apis,
    /// `/apis/<group>`.
    Group(String),
    /// `/api/v1` or `/apis/<group>/<version>`.
    GroupVersion(String, String),
    /// `/openapi/v2` (Swagger 2.0).
    OpenApiV2,
    /// `/openapi/v3`.
    OpenApiIndex,
    /// `/openapi/v3/api/v1` or `/openapi/v3/apis/<group>/<version>`.
    OpenApiDoc(String, String),
    /// A resource collection, object or subresource.
    Resource(ResourcePath),
}

/// The parts of a resource path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePath {
    /// Group ("" for core).
    pub group: String,
    /// Version.
    pub version: String,
    /// Namespace from `/namespaces/<ns>/…`.
    pub namespace: Option<String>,
    /// Plural resource name.
    pub plural: String,
    /// Object name.
    pub name: Option<String>,
    /// Subresource (`status`).
    pub subresource: Option<String>,
}

fn resource(group: &str, version: &str, rest: &[&str]) -> Option<Route> {
    // `namespaces/<ns>/<plural>…` is a namespaced path unless the third segment is a
    // subresource of the namespace itself.
    let (namespace, rest) = match rest {
        ["namespaces", ns, third, more @ ..] if !matches!(*third, "status" | "finalize") => {
            (Some(ns.to_string()), [&[*third][..], more].concat())
        }
        _ => (None, rest.to_vec()),
    };
    let (plural, name, subresource) = match rest.as_slice() {
        [plural] => (plural, None, None),
        [plural, name] => (plural, Some(name.to_string()), None),
        [plural, name, sub] => (plural, Some(name.to_string()), Some(sub.to_string())),
        _ => return None,
    };
    if [Some(*plural), name.as_deref(), namespace.as_deref()]
        .iter()
        .flatten()
        .any(|s| s.is_empty())
    {
        return None;
    }
    Some(Route::Resource(ResourcePath {
        group: group.into(),
        version: version.into(),
        namespace,
        plural: plural.to_string(),
        name,
        subresource,
    }))
}

/// Parses a path (without query).
pub fn parse(path: &str) -> Option<Route> {
    let segments: Vec<&str> = path
        .trim_end_matches('/')
        .trim_start_matches('/')
        .split('/')
        .collect();
    match segments.as_slice() {
        ["version"] => Some(Route::Version),
        ["healthz" | "livez" | "readyz", ..] => Some(Route::Health),
        ["api"] => Some(Route::Api),
        ["apis"] => Some(Route::Apis),
        ["api", v] => Some(Route::GroupVersion(String::new(), v.to_string())),
        ["apis", g] => Some(Route::Group(g.to_string())),
        ["apis", g, v] => Some(Route::GroupVersion(g.to_string(), v.to_string())),
        ["api", v, rest @ ..] => resource("", v, rest),
        ["apis", g, v, rest @ ..] => resource(g, v, rest),
        ["openapi", "v2"] => Some(Route::OpenApiV2),
        ["openapi", "v3"] => Some(Route::OpenApiIndex),
        ["openapi", "v3", "api", v] => Some(Route::OpenApiDoc(String::new(), v.to_string())),
        ["openapi", "v3", "apis", g, v] => Some(Route::OpenApiDoc(g.to_string(), v.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(path: &str) -> ResourcePath {
        match parse(path) {
            Some(Route::Resource(r)) => r,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn namespaces_are_resources_and_scopes() {
        assert_eq!(res("/api/v1/namespaces/x").name.as_deref(), Some("x"));
        assert_eq!(
            res("/api/v1/namespaces/x/status").subresource.as_deref(),
            Some("status")
        );
        let cm = res("/api/v1/namespaces/x/configmaps/c");
        assert_eq!(
            (cm.namespace.as_deref(), cm.plural.as_str(), cm.name.as_deref()),
            (Some("x"), "configmaps", Some("c"))
        );
        let w = res("/apis/dev.example.com/v1/namespaces/d/widgets/w/status");
        assert_eq!(w.subresource.as_deref(), Some("status"));
        assert_eq!(parse("/apis/g/v/namespaces/d/widgets/w/status/extra"), None);
    }
}
