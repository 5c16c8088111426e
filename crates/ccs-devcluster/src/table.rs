//! `meta.k8s.io/v1` Table and PartialObjectMetadata responses (what `kubectl get` prints).

use super::resource::{Column, ResourceInfo};
use serde_json::{Value, json};

/// Response shapes a client may ask for in `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Full objects.
    Object,
    /// A Table of printer columns.
    Table,
    /// Metadata only.
    Metadata,
}

impl Format {
    /// Picks the format from an `Accept` header.
    pub fn from_accept(accept: &str) -> Self {
        if accept.contains("as=Table") {
            Self::Table
        } else if accept.contains("as=PartialObjectMetadata") {
            Self::Metadata
        } else {
            Self::Object
        }
    }
}

/// Evaluates the JSONPath subset used by printer columns: `.a.b`, `[n]`, `[*]`, `[?(@.k=="v")]`.
pub fn json_path(object: &Value, path: &str) -> Vec<Value> {
    let path = path
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .trim_start_matches('$');
    let mut current = vec![object.clone()];
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let field = &r[..end];
            current = current.iter().filter_map(|v| v.get(field).cloned()).collect();
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let Some(end) = r.find(']') else { return vec![] };
            let inner = &r[..end];
            rest = &r[end + 1..];
            current = index(current, inner);
        } else {
            return vec![];
        }
    }
    current
}

fn index(values: Vec<Value>, inner: &str) -> Vec<Value> {
    let items = values
        .into_iter()
        .flat_map(|v| v.as_array().cloned().unwrap_or_default());
    if inner == "*" {
        return items.collect();
    }
    if let Ok(i) = inner.parse::<usize>() {
        return items.skip(i).take(1).collect();
    }
    // Filter `?(@.key=="value")` (also `==` with single quotes, and `!=`).
    let Some(expr) = inner.strip_prefix("?(@.").and_then(|e| e.strip_suffix(')')) else {
        return vec![];
    };
    let (key, negate, want) = match expr.split_once("!=") {
        Some((k, v)) => (k, true, v),
        None => match expr.split_once("==") {
            Some((k, v)) => (k, false, v),
            None => return items.filter(|i| !i[expr.trim()].is_null()).collect(),
        },
    };
    let want = want.trim().trim_matches(['"', '\'']);
    items
        .filter(|i| {
            let got = match &i[key.trim()] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (got == want) != negate
        })
        .collect()
}

/// Kubernetes' `HumanDuration` of the time since an RFC 3339 timestamp.
pub fn age(timestamp: &str) -> Option<String> {
    let t = chrono::DateTime::parse_from_rfc3339(timestamp).ok()?;
    let secs = (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds();
    Some(human_duration(secs))
}

/// Formats seconds like `k8s.io/apimachinery/pkg/util/duration.HumanDuration`.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    let secs = secs.max(0);
    let (m, h) = (secs / 60, secs / 3600);
    let with = |big: i64, unit: &str, small: i64, unit2: &str| {
        if small == 0 {
            format!("{big}{unit}")
        } else {
            format!("{big}{unit}{small}{unit2}")
        }
    };
    match () {
        _ if secs < 120 => format!("{secs}s"),
        _ if m < 10 => with(m, "m", secs % 60, "s"),
        _ if m < 180 => format!("{m}m"),
        _ if h < 8 => with(h, "h", m % 60, "m"),
        _ if h < 48 => format!("{h}h"),
        _ if h < 24 * 8 => with(h / 24, "d", h % 24, "h"),
        _ if h < 24 * 365 * 2 => format!("{}d", h / 24),
        _ if h < 24 * 365 * 8 => with(h / 24 / 365, "y", (h / 24) % 365, "d"),
        _ => format!("{}y", h / 24 / 365),
    }
}

fn cell(column: &Column, object: &Value) -> Value {
    if let Some(render) = column.render {
        return render(object);
    }
    let values = json_path(object, &column.json_path);
    let Some(first) = values.first() else {
        return Value::Null;
    };
    if column.type_ == "date" {
        return first
            .as_str()
            .and_then(age)
            .map(Value::String)
            .unwrap_or(Value::Null);
    }
    if values.len() > 1 {
        let parts: Vec<String> = values
            .iter()
            .map(|v| v.as_str().map(String::from).unwrap_or(v.to_string()))
            .collect();
        return Value::String(parts.join(","));
    }
    first.clone()
}

/// Metadata-only view of an object.
pub fn partial_metadata(object: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object["metadata"]})
}

/// Column definitions: Name, then the printer columns.
pub fn column_definitions(info: &ResourceInfo) -> Value {
    let mut defs = vec![json!({
        "name": "Name", "type": "string", "format": "name",
        "description": "Name must be unique within a namespace. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
        "priority": 0,
    })];
    defs.extend(info.columns.iter().map(|c| {
        json!({"name": c.name, "type": c.type_, "format": c.format, "description": c.description, "priority": c.priority})
    }));
    Value::Array(defs)
}

/// One Table row.
pub fn row(info: &ResourceInfo, object: &Value) -> Value {
    let mut cells = vec![object["metadata"]["name"].clone()];
    cells.extend(info.columns.iter().map(|c| cell(c, object)));
    json!({"cells": cells, "object": partial_metadata(object)})
}

/// A Table of `objects`; `with_columns` is false for watch events after the first.
pub fn table(info: &ResourceInfo, objects: &[Value], resource_version: &str, with_columns: bool) -> Value {
    let columns = if with_columns {
        column_definitions(info)
    } else {
        json!([])
    };
    json!({
        "kind": "Table", "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": columns,
        "rows": objects.iter().map(|o| row(info, o)).collect::<Vec<_>>(),
    })
}

/// One object (API view) in the requested format; `with_columns` as for [`table`].
pub fn render(info: &ResourceInfo, view: Value, format: Format, with_columns: bool) -> Value {
    match format {
        Format::Object => view,
        Format::Metadata => partial_metadata(&view),
        Format::Table => {
            let rv = view["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            table(info, std::slice::from_ref(&view), &rv, with_columns)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_path_filters_conditions() {
        let o = json!({"status": {"conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}]}});
        assert_eq!(
            json_path(&o, ".status.conditions[?(@.type==\"Ready\")].status"),
            vec![json!("True")]
        );
        assert_eq!(json_path(&o, ".status.conditions[0].type"), vec![json!("Synced")]);
        assert!(json_path(&o, ".spec.missing").is_empty());
    }

    #[test]
    fn human_durations() {
        for (s, want) in [
            (5, "5s"),
            (150, "2m30s"),
            (600, "10m"),
            (3 * 3600 + 60, "3h1m"),
            (50 * 3600, "2d2h"),
        ] {
            assert_eq!(human_duration(s), want);
        }
    }
}
