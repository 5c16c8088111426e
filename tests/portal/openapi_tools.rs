//! Every HTTP API document of the repository passes standard OpenAPI tooling no one here wrote
//! (issue 21): `openapi-spec-validator` (PyPI, in `.venv`) and `redocly lint` (npm `@redocly/cli`,
//! in `.ci/node`; rules in `redocly.yaml`), and its page rendered by `redocly build-docs`, served by
//! the simulator at `/docs`, is fresh. `.ci/test` installs both tools; a missing tool fails.
//!
//! The APIs are the `apis` of `redocly.yaml`: a new one (the Cloud Director's, say) is listed there,
//! its page goes to `crates/ccs-simulator/docs/<name>.html`, and every check below applies to it.
//! Regenerate the pages with `UPDATE_API_DOCS=1 cargo test --test portal openapi_tools`.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A tool installed by `.ci/test`; panics (never skips) when it is missing.
fn tool(relative: &str) -> PathBuf {
    let path = root().join(relative);
    assert!(
        path.exists(),
        "{} missing: run `bash .ci/test` once (it installs the OpenAPI validators)",
        path.display()
    );
    path
}

fn redocly() -> Command {
    let mut cmd = Command::new(tool(".ci/node/node_modules/.bin/redocly"));
    cmd.current_dir(root())
        .env("REDOCLY_TELEMETRY", "off")
        .env("REDOCLY_SUPPRESS_UPDATE_NOTICE", "true")
        .env("NO_COLOR", "1");
    cmd
}

fn spec_validator() -> Command {
    let mut cmd = Command::new(tool(".venv/bin/openapi-spec-validator"));
    cmd.current_dir(root());
    cmd
}

fn run(cmd: &mut Command) -> (bool, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("the tool runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr)
    );
    (status.success(), text)
}

/// The `apis` of `redocly.yaml`: (name, document path relative to the repository).
fn apis() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join("redocly.yaml")).unwrap();
    let config: Value = serde_saphyr::from_str(&text).unwrap();
    let apis: Vec<_> = config["apis"]
        .as_object()
        .expect("redocly.yaml lists the APIs")
        .iter()
        .map(|(name, api)| (name.clone(), api["root"].as_str().unwrap().to_string()))
        .collect();
    assert!(!apis.is_empty());
    apis
}

fn page(name: &str) -> PathBuf {
    root().join(format!("crates/ccs-simulator/docs/{name}.html"))
}

#[test]
fn every_openapi_document_of_config_is_checked() {
    let listed: Vec<_> = apis().into_iter().map(|(_, path)| path).collect();
    let mut found = 0;
    for entry in std::fs::read_dir(root().join("config")).unwrap() {
        let path = entry.unwrap().path();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if text.lines().any(|l| l.starts_with("openapi:")) {
            let relative = format!("config/{}", path.file_name().unwrap().to_string_lossy());
            assert!(
                listed.contains(&relative),
                "{relative} is an OpenAPI document: list it under `apis` in redocly.yaml"
            );
            found += 1;
        }
    }
    assert!(found >= 1);
}

#[test]
fn openapi_spec_validator_finds_no_error() {
    for (_, path) in apis() {
        let (ok, out) = run(spec_validator().arg(&path));
        assert!(ok, "openapi-spec-validator {path}:\n{out}");
        assert!(out.contains(": OK"), "{out}");
    }
}

#[test]
fn redocly_lint_finds_no_problem() {
    // `recommended-strict` (redocly.yaml): a warning of the recommended rules fails too.
    let (ok, out) = run(redocly().args(["lint", "--format=stylish"]));
    assert!(ok, "redocly lint:\n{out}");
    for (name, _) in apis() {
        assert!(
            out.contains(&format!("for api '{name}'")),
            "{name} not linted:\n{out}"
        );
    }
}

/// The validators reject the document as it was before issue 21 (a `$ref` to a map of headers
/// where a map of Header objects belongs), and a response without a 4xx: the checks above bite.
#[test]
fn both_validators_reject_an_invalid_document() {
    let (_, path) = apis()
        .into_iter()
        .find(|(name, _)| name == "customer-space")
        .unwrap();
    let good = std::fs::read_to_string(root().join(&path)).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let paged = "headers:\n            X-Total-Count: { $ref: '#/components/headers/TotalCount' }\n            X-Result-Count: { $ref: '#/components/headers/ResultCount' }";
    assert!(good.contains(paged), "the paging headers moved: update this test");
    let broken = good.replace(paged, "headers: { $ref: '#/components/headers/TotalCount' }");
    let broken_path = dir.path().join("broken.yaml");
    std::fs::write(&broken_path, broken).unwrap();
    let (ok, out) = run(spec_validator().arg(&broken_path));
    assert!(!ok, "openapi-spec-validator accepted it:\n{out}");
    let problems = lint_problems(&broken_path);
    assert!(
        problems.iter().any(|(rule, _)| rule == "struct"),
        "redocly accepted it: {problems:?}"
    );

    // Structurally valid, but admin operations without a 4xx: a recommended warning, an error here.
    let no_4xx = good.replace(
        "        '404': { $ref: '#/components/responses/AdminDisabled' }\n",
        "",
    );
    let no_4xx_path = dir.path().join("no-4xx.yaml");
    std::fs::write(&no_4xx_path, no_4xx).unwrap();
    let (ok, out) = run(spec_validator().arg(&no_4xx_path));
    assert!(ok, "{out}");
    let problems = lint_problems(&no_4xx_path);
    let expected = (
        "operation-4xx-response".to_string(),
        "#/paths/~1admin~1calls/get/responses".to_string(),
    );
    assert!(problems.contains(&expected), "redocly accepted it: {problems:?}");
}

/// `redocly lint` of a file outside `apis` (the rules of redocly.yaml, not its exceptions): fails,
/// and the (rule, JSON pointer) of each problem.
fn lint_problems(path: &Path) -> Vec<(String, String)> {
    let out = redocly()
        .args(["lint", "--format=json"])
        .arg(path)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let rule = p["ruleId"].as_str().unwrap_or_default().to_string();
            let pointer = p["location"][0]["pointer"].as_str().unwrap_or_default();
            (rule, pointer.to_string())
        })
        .collect()
}

/// The page the simulator serves at `/docs` is `redocly build-docs` of the current document.
/// It is committed because the crates build offline without node; this test keeps it fresh.
#[test]
fn the_rendered_pages_are_fresh() {
    let update = std::env::var_os("UPDATE_API_DOCS").is_some();
    let dir = tempfile::tempdir().unwrap();
    for (name, path) in apis() {
        let built = dir.path().join(format!("{name}.html"));
        let (ok, out) = run(redocly()
            .args(["build-docs", &name, "--inlineBundle", "--output"])
            .arg(&built));
        assert!(ok, "redocly build-docs {name}:\n{out}");
        let built = std::fs::read(&built).unwrap();
        let committed = page(&name);
        if update {
            std::fs::write(&committed, &built).unwrap();
            continue;
        }
        let current = std::fs::read(&committed).unwrap_or_default();
        assert!(
            current == built,
            "{} is not `redocly build-docs` of {path}: regenerate it with \
             `UPDATE_API_DOCS=1 cargo test --test portal openapi_tools`",
            committed.display()
        );
    }
}

#[test]
fn the_simulator_serves_the_cloud_director_page() {
    let committed = std::fs::read_to_string(page("cloud-director")).unwrap();
    assert!(committed == ccs_simulator::VCD_OPENAPI_DOCS);
    assert!(committed.contains("Cloud Director CloudAPI subset"));
}

#[test]
fn the_simulator_serves_the_customer_space_page() {
    let committed = std::fs::read_to_string(page("customer-space")).unwrap();
    assert!(committed == ccs_simulator::OPENAPI_DOCS);
    assert!(committed.contains("Cloud Customer Space API"));
}
