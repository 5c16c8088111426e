//! Cloud Director's list conventions: `page` (from 1) and `pageSize` (at most 128) in the query,
//! `{resultTotal, pageCount, page, pageSize, associations, values}` in the answer, and FIQL
//! filters such as `(username==jane.doe)` or `name==a;enabled==true` (`;` is AND, `*` a wildcard).

use super::routes::VcdError;
use serde_json::{Value, json};
use std::collections::HashMap;

const MAX_PAGE_SIZE: usize = 128;

/// One condition `field==value` or `field!=value`.
struct Condition {
    field: String,
    value: String,
    equal: bool,
}

fn parse_filter(filter: &str) -> Result<Vec<Condition>, VcdError> {
    let trimmed = filter.trim();
    let inner = trimmed
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or(trimmed);
    inner
        .split(';')
        .map(|part| {
            let (field, value, equal) = if let Some((f, v)) = part.split_once("!=") {
                (f, v, false)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, v, true)
            } else {
                return Err(VcdError::bad_request(format!(
                    "invalid filter expression {part:?}: expected field==value"
                )));
            };
            Ok(Condition {
                field: field.trim().to_string(),
                value: value.trim().to_string(),
                equal,
            })
        })
        .collect()
}

fn matches_value(pattern: &str, actual: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == actual,
        Some((prefix, suffix)) => {
            actual.len() >= prefix.len() + suffix.len()
                && actual.starts_with(prefix)
                && actual.ends_with(suffix)
        }
    }
}

/// The field's value as a string (`roleEntityRef.name` reaches into a reference).
fn field_text(item: &Value, field: &str) -> Option<String> {
    let v = field.split('.').try_fold(item, |v, k| v.get(k))?;
    Some(match v {
        Value::String(s) => s.clone(),
        Value::Null => return None,
        other => other.to_string(),
    })
}

/// The page of `items` the query asks for, filtered.
pub fn page(items: Vec<Value>, q: &HashMap<String, String>) -> Result<Value, VcdError> {
    let number = |key: &str, default: usize| -> Result<usize, VcdError> {
        match q.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| VcdError::bad_request(format!("{key} must be a positive integer"))),
        }
    };
    let page = number("page", 1)?;
    let page_size = number("pageSize", 25)?;
    if page_size > MAX_PAGE_SIZE {
        return Err(VcdError::bad_request(format!(
            "pageSize must be at most {MAX_PAGE_SIZE}"
        )));
    }
    let conditions = match q.get("filter") {
        Some(f) => parse_filter(f)?,
        None => vec![],
    };
    let selected: Vec<Value> = items
        .into_iter()
        .filter(|item| {
            conditions.iter().all(|c| {
                let hit = field_text(item, &c.field).is_some_and(|a| matches_value(&c.value, &a));
                hit == c.equal
            })
        })
        .collect();
    let total = selected.len();
    let page_count = total.div_ceil(page_size);
    let values: Vec<Value> = selected
        .into_iter()
        .skip((page - 1) * page_size)
        .take(page_size)
        .collect();
    Ok(json!({
        "resultTotal": total,
        "pageCount": page_count,
        "page": page,
        "pageSize": page_size,
        "associations": null,
        "values": values,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn pages_and_filters_like_cloud_director() {
        let items: Vec<Value> = (0..30)
            .map(|i| json!({"username": format!("u{i}"), "roleEntityRef": {"name": if i % 2 == 0 {"A"} else {"B"}}}))
            .collect();
        let p = page(items.clone(), &q(&[("page", "2"), ("pageSize", "25")])).unwrap();
        assert_eq!(p["resultTotal"], 30);
        assert_eq!(p["pageCount"], 2);
        assert_eq!(p["values"].as_array().unwrap().len(), 5);
        let p = page(items.clone(), &q(&[("filter", "(username==u7)")])).unwrap();
        assert_eq!(p["values"][0]["username"], "u7");
        assert_eq!(p["resultTotal"], 1);
        let p = page(
            items.clone(),
            &q(&[("filter", "roleEntityRef.name==A;username==u1*")]),
        )
        .unwrap();
        assert_eq!(p["resultTotal"], 5); // u10 u12 u14 u16 u18
        assert!(page(items.clone(), &q(&[("pageSize", "500")])).is_err());
        assert!(page(items, &q(&[("filter", "username")])).is_err());
    }
}
