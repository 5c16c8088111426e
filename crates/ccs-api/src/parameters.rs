//! [`Parameters`]: the parameters of a ServiceOrder, a map of strings held as a sorted vector.
//!
//! Why not a `BTreeMap`: it allocates a node of 11 entries (544 bytes) for a single parameter,
//! and the operator's watch cache holds every ServiceOrder. With 10,000 of them that node alone
//! was 5 MiB of the operator's memory. In JSON and in the CRD schema it is the same map.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// Parameter names to values, sorted by name, each name once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Parameters(Vec<(String, String)>);

impl Parameters {
    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&String> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// The names, in order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    /// The names and values, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The same parameters as a `BTreeMap` (for the portal's request body).
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.0.iter().cloned().collect()
    }
}

impl From<BTreeMap<String, String>> for Parameters {
    fn from(map: BTreeMap<String, String>) -> Self {
        let mut entries: Vec<(String, String)> = map.into_iter().collect();
        entries.shrink_to_fit();
        Self(entries)
    }
}

/// Later values win over earlier ones of the same name, as in a map.
impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Parameters {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        iter.into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect::<BTreeMap<_, _>>()
            .into()
    }
}

impl Serialize for Parameters {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Parameters {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        BTreeMap::<String, String>::deserialize(deserializer).map(Self::from)
    }
}

/// The schema of a map of strings, exactly as for `BTreeMap<String, String>`.
impl JsonSchema for Parameters {
    fn inline_schema() -> bool {
        <BTreeMap<String, String>>::inline_schema()
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        <BTreeMap<String, String>>::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        <BTreeMap<String, String>>::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <BTreeMap<String, String>>::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_a_map_sorted_by_name() {
        let p: Parameters = serde_json::from_str(r#"{"zone": "b", "region": "eu", "size": "10"}"#).unwrap();
        assert_eq!(p.get("region").map(String::as_str), Some("eu"));
        assert_eq!(p.get("absent"), None);
        assert_eq!(
            p.keys().map(String::as_str).collect::<Vec<_>>(),
            ["region", "size", "zone"]
        );
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"region":"eu","size":"10","zone":"b"}"#
        );
    }

    #[test]
    fn a_repeated_name_keeps_the_last_value_as_a_map_does() {
        let p: Parameters = serde_json::from_str(r#"{"a": "1", "a": "2"}"#).unwrap();
        assert_eq!((p.len(), p.get("a").map(String::as_str)), (1, Some("2")));
        let p: Parameters = [("a", "1"), ("a", "3")].into_iter().collect();
        assert_eq!(p.to_map(), BTreeMap::from([("a".to_string(), "3".to_string())]));
    }

    #[test]
    fn the_schema_is_the_map_schema() {
        let ours = schemars::SchemaGenerator::default().into_root_schema_for::<Parameters>();
        let map = schemars::SchemaGenerator::default().into_root_schema_for::<BTreeMap<String, String>>();
        assert_eq!(
            ours.as_value()["additionalProperties"],
            map.as_value()["additionalProperties"]
        );
        assert_eq!(ours.as_value()["type"], map.as_value()["type"]);
    }

    #[test]
    fn one_parameter_allocates_one_entry() {
        let p: Parameters = serde_json::from_str(r#"{"region": "eu"}"#).unwrap();
        assert_eq!(p.0.capacity(), 1);
    }
}
