//! Label and field selectors of list and watch requests.

use super::error::{ApiError, ApiResult};
use super::resource::ResourceInfo;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum LabelOp {
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    NotExists,
}

/// A parsed `labelSelector` (`=`, `==`, `!=`, `in (…)`, `notin (…)`, `k`, `!k`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector(Vec<(String, LabelOp)>);

/// Splits on commas outside parentheses.
fn split_top(s: &str) -> Vec<&str> {
    let (mut depth, mut start, mut parts) = (0i32, 0usize, vec![]);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

fn set_values(rest: &str) -> Option<Vec<String>> {
    let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(
        inner
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect(),
    )
}

impl LabelSelector {
    /// Parses the selector; errors are 400s worded like the server.
    pub fn parse(s: &str) -> ApiResult<Self> {
        let bad = || {
            ApiError::bad_request(format!(
                "unable to parse requirement: invalid label selector: {s:?}"
            ))
        };
        let mut reqs = vec![];
        for part in split_top(s) {
            let req = if let Some(k) = part.strip_prefix('!') {
                (k.trim().to_string(), LabelOp::NotExists)
            } else if let Some((k, v)) = part.split_once("!=") {
                (k.trim().to_string(), LabelOp::NotIn(vec![v.trim().to_string()]))
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                (k.trim().to_string(), LabelOp::In(vec![v.trim().to_string()]))
            } else if let Some((k, rest)) = part.split_once(" notin ") {
                (
                    k.trim().to_string(),
                    LabelOp::NotIn(set_values(rest).ok_or_else(bad)?),
                )
            } else if let Some((k, rest)) = part.split_once(" in ") {
                (
                    k.trim().to_string(),
                    LabelOp::In(set_values(rest).ok_or_else(bad)?),
                )
            } else if part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
            {
                (part.to_string(), LabelOp::Exists)
            } else {
                return Err(bad());
            };
            if req.0.is_empty() {
                return Err(bad());
            }
            reqs.push(req);
        }
        Ok(Self(reqs))
    }

    /// Does the object carry matching labels?
    pub fn matches(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        self.0.iter().all(|(k, op)| {
            let v = labels.get(k).and_then(Value::as_str);
            match op {
                LabelOp::In(vals) => v.is_some_and(|v| vals.iter().any(|x| x == v)),
                LabelOp::NotIn(vals) => v.is_none_or(|v| !vals.iter().any(|x| x == v)),
                LabelOp::Exists => v.is_some(),
                LabelOp::NotExists => v.is_none(),
            }
        })
    }
}

/// A parsed `fieldSelector` (`=`, `==`, `!=` on supported fields).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

/// Value of a dotted field path as the string a field selector compares.
fn field_value(object: &Value, path: &str) -> String {
    let v = path.split('.').fold(object, |v, seg| &v[seg]);
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl FieldSelector {
    /// Parses and checks the fields against what the resource supports.
    pub fn parse(s: &str, info: &ResourceInfo) -> ApiResult<Self> {
        let mut reqs = vec![];
        for part in split_top(s) {
            let (k, eq, v) = if let Some((k, v)) = part.split_once("!=") {
                (k, false, v)
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                (k, true, v)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            let k = k.trim();
            let supported = k == "metadata.name"
                || k == "metadata.namespace"
                || info.selectable_fields.iter().any(|f| f == k);
            if !supported {
                return Err(ApiError::bad_request(format!("field label not supported: {k}")));
            }
            reqs.push((k.to_string(), eq, v.trim().to_string()));
        }
        Ok(Self(reqs))
    }

    /// Does the object match every requirement?
    pub fn matches(&self, object: &Value) -> bool {
        self.0
            .iter()
            .all(|(k, eq, v)| (field_value(object, k) == *v) == *eq)
    }
}

/// Both selectors of a request.
#[derive(Debug, Clone, Default)]
pub struct Selectors {
    /// Labels.
    pub labels: LabelSelector,
    /// Fields.
    pub fields: FieldSelector,
}

impl Selectors {
    /// Parses the optional query values.
    pub fn parse(labels: Option<&str>, fields: Option<&str>, info: &ResourceInfo) -> ApiResult<Self> {
        Ok(Self {
            labels: labels.map(LabelSelector::parse).transpose()?.unwrap_or_default(),
            fields: fields
                .map(|f| FieldSelector::parse(f, info))
                .transpose()?
                .unwrap_or_default(),
        })
    }

    /// Does the object match both?
    pub fn matches(&self, object: &Value) -> bool {
        self.labels.matches(object) && self.fields.matches(object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selector_syntax() {
        let o = json!({"metadata": {"labels": {"app": "kp", "tier": "web"}}});
        for (sel, want) in [
            ("app=kp", true),
            ("app==kp", true),
            ("app!=kp", false),
            ("app in (a, kp)", true),
            ("app notin (a,kp)", false),
            ("tier", true),
            ("!tier", false),
            ("!missing,app=kp", true),
            ("app=kp,tier=db", false),
        ] {
            assert_eq!(LabelSelector::parse(sel).unwrap().matches(&o), want, "{sel}");
        }
    }
}
