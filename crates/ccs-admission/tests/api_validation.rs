//! The admission validator against the invalid-manifest table and the samples.
//!
//! Each file in `tests/fixtures/invalid/` holds one manifest breaking one rule (or, for transition
//! rules, the stored object then the rejected update) and says in its header which field must be
//! named and what the message must contain. The dev-cluster's kubectl tests replay the same files.

use ccs_admission::admit_manifest;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn yaml_files(dir: &str) -> Vec<PathBuf> {
    // The fixtures and samples live at the repository root, beside the CRDs they exercise.
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("read fixture");
    serde_saphyr::from_multiple::<Value>(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn header(path: &Path, key: &str) -> String {
    let text = std::fs::read_to_string(path).expect("read fixture");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("# {key}: ")))
        .unwrap_or_else(|| panic!("{} has no '# {key}:' header", path.display()))
        .to_string()
}

#[test]
fn every_invalid_manifest_is_rejected_naming_its_field() {
    let files = yaml_files("tests/fixtures/invalid");
    assert!(
        files.len() >= 20,
        "the table needs at least 20 invalid manifests, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for file in &files {
        let docs = documents(file);
        let (old, new) = match docs.as_slice() {
            [new] => (None, new),
            [old, new] => (Some(old), new),
            _ => panic!("{}: expected one or two documents", file.display()),
        };
        let field = header(file, "expect-field");
        let expect = header(file, "expect");
        if let Some(old) = old {
            assert!(
                matches!(admit_manifest(old, None), Some(Ok(_))),
                "{}: the stored object must itself be valid",
                file.display()
            );
        }
        match admit_manifest(new, old) {
            Some(Err(errors)) => {
                let hit = errors
                    .iter()
                    .any(|e| e.field == field && e.to_string().contains(&expect));
                if !hit {
                    let got: Vec<String> = errors.iter().map(ToString::to_string).collect();
                    failures.push(format!(
                        "{}: wanted '{field}: ...{expect}...', got {got:?}",
                        file.display()
                    ));
                }
            }
            other => failures.push(format!("{}: accepted or not ours: {other:?}", file.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_sample_is_valid_and_reads_back_as_its_type() {
    let mut ours = 0;
    for file in yaml_files("config/samples") {
        for doc in documents(&file) {
            let Some(result) = admit_manifest(&doc, None) else {
                continue;
            };
            let admitted = result.unwrap_or_else(|e| panic!("{} is invalid: {e:?}", file.display()));
            ours += 1;
            let kind = admitted["kind"].as_str().unwrap_or_default().to_string();
            let typed = match kind.as_str() {
                "CloudContract" => serde_json::from_value::<ccs_api::CloudContract>(admitted).map(|_| ()),
                "PortalUser" => serde_json::from_value::<ccs_api::PortalUser>(admitted).map(|_| ()),
                "BudgetAlert" => serde_json::from_value::<ccs_api::BudgetAlert>(admitted).map(|_| ()),
                "ServiceOrder" => serde_json::from_value::<ccs_api::ServiceOrder>(admitted).map(|_| ()),
                other => panic!("unexpected kind {other}"),
            };
            typed.unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        }
    }
    assert_eq!(ours, 4, "one sample per kind");
}

#[test]
fn defaults_are_applied_at_admission() {
    let doc = &documents(&yaml_files("tests/fixtures/invalid")[0])[0];
    let mut order = serde_json::json!({
        "apiVersion": "customerspace.io/v1alpha1", "kind": "ServiceOrder",
        "metadata": {"name": "o", "namespace": "default"},
        "spec": {"contract": "acme-prod", "catalogItem": "FE-EVS-SSD", "unknown": 1}
    });
    assert_eq!(doc["kind"], "CloudContract");
    let errors = admit_manifest(&order, None)
        .expect("ours")
        .expect_err("unknown field rejected");
    assert_eq!(errors.len(), 1, "{errors:?}");
    order["spec"].as_object_mut().expect("spec").remove("unknown");
    let admitted = admit_manifest(&order, None).expect("ours").expect("valid");
    assert_eq!(admitted["spec"]["quantity"], 1);
    assert_eq!(admitted["spec"]["cancelOnDelete"], false);
}
