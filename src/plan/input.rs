//! Reading manifests: files, directories (their `.yaml`, `.yml` and `.json` files, recursively, in
//! name order) and `-` for stdin; multi-document YAML; `v1` `List`s unwrapped.

use anyhow::{Context as _, bail};
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The kinds `plan` understands.
pub const KINDS: [&str; 4] = ["CloudContract", "PortalUser", "BudgetAlert", "ServiceOrder"];
/// Their API group and version.
pub const API_VERSION: &str = "customerspace.io/v1alpha1";

/// One object read from a manifest.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    /// `file#document` (documents from 1; `-` is stdin).
    pub source: String,
    /// The object as written.
    pub object: Value,
}

impl Manifest {
    /// Its kind.
    pub fn kind(&self) -> &str {
        self.object["kind"].as_str().unwrap_or_default()
    }

    /// Its name.
    pub fn name(&self) -> &str {
        self.object["metadata"]["name"].as_str().unwrap_or_default()
    }
}

/// Reads every path (`-`: stdin). Fails on a path that does not exist, a document that is not
/// YAML or JSON, an object without `kind` or `metadata.name`, or a kind that is not one of ours.
pub fn read_all(paths: &[PathBuf]) -> anyhow::Result<Vec<Manifest>> {
    if paths.is_empty() {
        bail!("no manifest given; pass -f FILE, -f DIRECTORY or -f - (stdin)");
    }
    let mut out = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading manifests from stdin")?;
            parse(&text, "-", &mut out)?;
        } else if path.is_dir() {
            for file in files_under(path)? {
                read_file(&file, &mut out)?;
            }
        } else {
            read_file(path, &mut out)?;
        }
    }
    Ok(out)
}

fn read_file(path: &Path, out: &mut Vec<Manifest>) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text, &path.display().to_string(), out)
}

fn files_under(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading directory {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading directory {}", dir.display()))?;
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            files.extend(files_under(&entry)?);
        } else if entry
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        {
            files.push(entry);
        }
    }
    Ok(files)
}

/// Parses multi-document YAML (JSON is YAML) from `origin` into `out`.
pub fn parse(text: &str, origin: &str, out: &mut Vec<Manifest>) -> anyhow::Result<()> {
    // The parser's default budget stops at 1,024 documents; a repository of manifests has more.
    // The other limits (depth, aliases) keep their defaults against YAML bombs.
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_documents: 1_000_000,
            max_nodes: 50_000_000,
            max_events: 200_000_000,
        },
    };
    let documents: Vec<Value> = serde_saphyr::from_multiple_with_options(text, options)
        .map_err(|e| anyhow::anyhow!("{origin}: not valid YAML or JSON: {e}"))?;
    for (i, document) in documents.into_iter().enumerate() {
        let source = format!("{origin}#{}", i + 1);
        push(document, &source, out)?;
    }
    Ok(())
}

fn push(document: Value, source: &str, out: &mut Vec<Manifest>) -> anyhow::Result<()> {
    match &document {
        Value::Null => Ok(()), // an empty document, such as after a trailing `---`
        Value::Object(map) => {
            let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default();
            if kind == "List" || (kind.ends_with("List") && map.get("items").is_some_and(Value::is_array)) {
                let items = map
                    .get("items")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for (j, item) in items.into_iter().enumerate() {
                    push(item, &format!("{source}.items[{j}]"), out)?;
                }
                return Ok(());
            }
            if kind.is_empty() {
                bail!("{source}: no kind; every object needs apiVersion, kind and metadata.name");
            }
            if !KINDS.contains(&kind) {
                bail!(
                    "{source}: kind {kind} is not one of {}; plan reads only the customerspace.io kinds",
                    KINDS.join(", ")
                );
            }
            let api_version = map.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
            if api_version != API_VERSION {
                bail!("{source}: {kind} has apiVersion {api_version:?}; expected {API_VERSION}");
            }
            let named = map
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty());
            if !named {
                bail!("{source}: {kind} has no metadata.name (generateName is not supported by plan)");
            }
            out.push(Manifest {
                source: source.to_string(),
                object: document,
            });
            Ok(())
        }
        other => bail!(
            "{source}: expected an object, found {}",
            match other {
                Value::Array(_) => "a list",
                Value::String(_) => "a string",
                _ => "a scalar",
            }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> anyhow::Result<Vec<Manifest>> {
        let mut out = Vec::new();
        parse(text, "t.yaml", &mut out)?;
        Ok(out)
    }

    const USER: &str = "apiVersion: customerspace.io/v1alpha1\nkind: PortalUser\nmetadata: {name: a}\nspec: {email: a@b.example}\n";

    #[test]
    fn multi_document_yaml_with_empty_documents() {
        let text = format!("---\n{USER}---\n{}---\n", USER.replace("name: a", "name: b"));
        let m = read(&text).expect("parsed");
        assert_eq!(m.iter().map(Manifest::name).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(m[1].source, "t.yaml#2");
    }

    #[test]
    fn more_documents_than_the_parser_default_budget() {
        let text = USER.replace("name: a", "name: x") + "---\n";
        let many = text.repeat(3000);
        assert_eq!(read(&many).expect("parsed").len(), 3000);
    }

    #[test]
    fn v1_list_in_json_is_unwrapped() {
        let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": API_VERSION, "kind": "BudgetAlert", "metadata": {"name": "x"}},
            {"apiVersion": API_VERSION, "kind": "ServiceOrder", "metadata": {"name": "y"}}
        ]});
        let m = read(&list.to_string()).expect("parsed");
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].source, "t.yaml#1.items[1]");
        assert_eq!(m[1].kind(), "ServiceOrder");
    }

    #[test]
    fn clear_errors() {
        let err = |t: &str| read(t).expect_err("refused").to_string();
        assert!(
            err("kind: Secret\napiVersion: v1\nmetadata: {name: s}\n").contains("kind Secret is not one of")
        );
        assert!(err("apiVersion: v1\nmetadata: {name: s}\n").contains("no kind"));
        assert!(err(&USER.replace("name: a", "generateName: a")).contains("no metadata.name"));
        assert!(err(&USER.replace("v1alpha1", "v9")).contains("expected customerspace.io/v1alpha1"));
        assert!(err("a: [").contains("not valid YAML"));
        assert!(err("- 1\n- 2\n").contains("expected an object"));
        let missing = read_all(&[PathBuf::from("/nonexistent/x.yaml")]).expect_err("missing");
        assert!(format!("{missing:#}").contains("/nonexistent/x.yaml"));
    }
}
