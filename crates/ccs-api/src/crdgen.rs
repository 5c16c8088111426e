//! Renders the CustomResourceDefinitions as YAML, for `ccs-operator crds` and the committed `crds/`.

use anyhow::Context;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use std::path::{Path, PathBuf};

/// File name of a CRD in `crds/`: `<plural>.<group>.yaml`.
pub fn file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}.{}.yaml", crd.spec.names.plural, crd.spec.group)
}

/// One CRD as a YAML document (without the leading `---`).
pub fn to_yaml(crd: &CustomResourceDefinition) -> anyhow::Result<String> {
    serde_saphyr::to_string(crd).context("serialising a CRD to YAML")
}

/// Every CRD as one multi-document YAML stream.
pub fn all_as_yaml() -> anyhow::Result<String> {
    let mut out = String::new();
    for crd in crate::all_crds() {
        out.push_str("---\n");
        out.push_str(&to_yaml(&crd)?);
    }
    Ok(out)
}

/// Writes one file per CRD into `dir` (created if missing) and returns the written paths.
pub fn write_all(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Vec::new();
    for crd in crate::all_crds() {
        let path = dir.join(file_name(&crd));
        std::fs::write(&path, to_yaml(&crd)?).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}
