//! Captures what `ccs-operator --version` prints beyond the crate version: the git commit
//! (`CCS_GIT_COMMIT` if set, else `git rev-parse --short HEAD`, else `unknown`, as in the image
//! build, whose context has no `.git`) and the Kubernetes API version the CRDs and the client
//! target (the `v1_*` feature enabled on k8s-openapi).

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn main() {
    println!("cargo::rerun-if-env-changed=CCS_GIT_COMMIT");
    let commit = std::env::var("CCS_GIT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .map(|c| c.trim().chars().take(12).collect())
        .or_else(|| git(&["rev-parse", "--short", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    // Rebuild when HEAD moves: HEAD itself (a branch switch) and the branch it points to (a commit).
    for path in [
        git(&["rev-parse", "--git-path", "HEAD"]),
        git(&["symbolic-ref", "-q", "HEAD"]).and_then(|r| git(&["rev-parse", "--git-path", &r])),
        git(&["rev-parse", "--git-path", "packed-refs"]),
    ]
    .into_iter()
    .flatten()
    {
        if std::path::Path::new(&path).exists() {
            println!("cargo::rerun-if-changed={path}");
        }
    }
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-env=CCS_GIT_COMMIT={commit}");

    // k8s-openapi's build script publishes `0x0001_0000 | minor << 8` as its `version` metadata.
    let kubernetes = std::env::vars()
        .find(|(k, _)| k.starts_with("DEP_K8S_OPENAPI") && k.ends_with("_VERSION"))
        .and_then(|(_, v)| v.parse::<u32>().ok())
        .map(|v| format!("v{}.{}", v >> 16, (v >> 8) & 0xff))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo::rustc-env=CCS_KUBERNETES_API={kubernetes}");
}
