//! `--mask-emails`: every email address in the output becomes `a***@domain`.

use regex::Regex;
use std::sync::LazyLock;

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([A-Za-z0-9!#$%&'*+/=?^_`{|}~-])[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]*@([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+)")
        .expect("email pattern")
});

/// Masks the local part of every email address in `text`, keeping its first character.
pub fn emails(text: &str) -> String {
    EMAIL.replace_all(text, "$1***@$2").into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn local_parts_are_masked_domains_kept() {
        assert_eq!(
            super::emails("add jane.doe@acme.example and b@x.io; not @handles or a@b"),
            "add j***@acme.example and b***@x.io; not @handles or a@b"
        );
    }
}
