//! Field paths in the apiserver's notation: `spec.access[0].contract`, `spec.parameters[key]`.

/// Appends a property name to a path.
pub(crate) fn child(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// Appends a list index to a path.
pub(crate) fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// Appends a map key to a path.
pub(crate) fn key(parent: &str, k: &str) -> String {
    format!("{parent}[{k}]")
}
