//! The generated CRDs: committed copies are fresh, and every kind carries what `kubectl` users see.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ccs-operator"))
}

fn committed_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crds")
}

fn sorted_files(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| {
            let path = e.expect("entry").path();
            let name = path.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).expect("read"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn committed_crds_are_what_the_binary_generates() {
    let out = tempfile::tempdir().expect("tempdir");
    let status = binary()
        .args(["crds", "--out-dir"])
        .arg(out.path())
        .status()
        .expect("run binary");
    assert!(status.success());
    let generated = sorted_files(out.path());
    let committed = sorted_files(&committed_dir());
    let names: Vec<&str> = generated.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "billingexports.customerspace.io.yaml",
            "budgetalerts.customerspace.io.yaml",
            "cloudcontracts.customerspace.io.yaml",
            "consoleaccesses.customerspace.io.yaml",
            "portalusers.customerspace.io.yaml",
            "serviceorders.customerspace.io.yaml"
        ]
    );
    assert!(
        generated == committed,
        "crds/ is stale: run `cargo run -- crds --out-dir crds` and commit the result"
    );
}

#[test]
fn crds_subcommand_prints_every_crd_as_one_stream() {
    let output = binary().arg("crds").output().expect("run binary");
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).expect("utf8");
    let expected: String = sorted_files(&committed_dir())
        .into_iter()
        .map(|(_, body)| format!("---\n{body}"))
        .collect();
    assert_eq!(stdout, expected);
    let docs: Vec<Value> = serde_saphyr::from_multiple(&stdout).expect("valid multi-document YAML");
    assert_eq!(docs.len(), ccs_operator::api::all_crds().len());
}

fn crd(kind: &str) -> Value {
    let crd = ccs_operator::api::all_crds()
        .into_iter()
        .find(|c| c.spec.names.kind == kind)
        .expect("kind exists");
    serde_json::to_value(crd).expect("json")
}

#[test]
fn every_kind_has_its_names_columns_and_status_subresource() {
    let expected = [
        (
            "CloudContract",
            "ccontract",
            vec![
                "Contract",
                "Offer",
                "Weather",
                "Incidents",
                "Spend",
                "Ready",
                "Age",
            ],
        ),
        (
            "PortalUser",
            "puser",
            vec!["Email", "State", "Contracts", "Ready", "Age"],
        ),
        (
            "BudgetAlert",
            "budget",
            vec!["Contract", "Budget", "Spend", "Used", "State", "Ready", "Age"],
        ),
        (
            "ServiceOrder",
            "sorder",
            vec!["Contract", "Item", "State", "Request", "Ready", "Age"],
        ),
        (
            "BillingExport",
            "bexport",
            vec!["Contract", "Destination", "Last Period", "Files", "Ready", "Age"],
        ),
    ];
    for (kind, short, columns) in expected {
        let crd = crd(kind);
        let spec = &crd["spec"];
        assert_eq!(spec["group"], "customerspace.io");
        assert_eq!(spec["scope"], "Namespaced", "{kind}");
        assert_eq!(spec["names"]["shortNames"], serde_json::json!([short]), "{kind}");
        assert_eq!(
            spec["names"]["categories"],
            serde_json::json!(["customerspace"]),
            "{kind}"
        );
        let version = &spec["versions"][0];
        assert_eq!(version["name"], "v1alpha1");
        assert_eq!(version["subresources"]["status"], serde_json::json!({}), "{kind}");
        let names: Vec<&str> = version["additionalPrinterColumns"]
            .as_array()
            .expect("columns")
            .iter()
            .map(|c| c["name"].as_str().expect("name"))
            .collect();
        assert_eq!(names, columns, "{kind}");
    }
}

/// Walks every schema node below `spec` and `status`, collecting the paths that break a rule.
fn walk(node: &Value, at: &str, problems: &mut Vec<String>) {
    let preserves = node.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
        || node.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    if node.get("type").is_none() && !preserves {
        problems.push(format!("{at}: no type (non-structural schema)"));
    }
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        for (name, child) in props {
            let child_at = format!("{at}.{name}");
            if child
                .get("description")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                problems.push(format!(
                    "{child_at}: no description (kubectl explain would be empty)"
                ));
            }
            walk(child, &child_at, problems);
        }
    }
    if let Some(items) = node.get("items") {
        walk(items, &format!("{at}[]"), problems);
    }
    if let Some(additional) = node.get("additionalProperties").filter(|a| a.is_object()) {
        walk(additional, &format!("{at}{{}}"), problems);
    }
}

#[test]
fn schemas_are_structural_and_every_field_is_documented() {
    let mut problems = Vec::new();
    for kind in [
        "CloudContract",
        "PortalUser",
        "BudgetAlert",
        "ServiceOrder",
        "BillingExport",
    ] {
        let schema = &crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        for part in ["spec", "status"] {
            let node = &schema["properties"][part];
            assert!(node.is_object(), "{kind} has a {part}");
            walk(node, &format!("{kind}.{part}"), &mut problems);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_production_binary_carries_no_development_tools() {
    let output = binary().arg("--help").output().expect("run binary");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("run") && help.contains("crds"), "{help}");
    for tool in ["demo", "dev-cluster", "simulator", "bench"] {
        assert!(
            !help.contains(tool),
            "`ccs-operator --help` offers `{tool}`: {help}"
        );
    }
}
