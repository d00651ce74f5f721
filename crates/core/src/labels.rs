//! The labels wheelgate puts on Pulp objects, and the build-id record.

use std::collections::BTreeMap;

use crate::catalog::{Catalog, Names};

/// Label key: product.
pub const PRODUCT: &str = "wheelgate.product";
/// Label key: release.
pub const RELEASE: &str = "wheelgate.release";
/// Label key: variant.
pub const VARIANT: &str = "wheelgate.variant";
/// Label key: role of the object.
pub const ROLE: &str = "wheelgate.role";
/// Role of the staging repository.
pub const ROLE_STAGING: &str = "staging";
/// Role of the staging distribution.
pub const ROLE_STAGING_INDEX: &str = "staging-index";
/// Role of the production distribution.
pub const ROLE_PRODUCTION: &str = "production";

/// Prefix of the per-version build id labels on a staging repository
/// (`wheelgate.build.v12 = <build id>`): repository versions carry no labels themselves.
pub const BUILD_PREFIX: &str = "wheelgate.build.v";

/// The labels of one object.
pub fn object_labels(catalog: &Catalog, names: &Names, role: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (PRODUCT.to_owned(), catalog.product.clone()),
        (RELEASE.to_owned(), names.release.clone()),
        (VARIANT.to_owned(), names.variant.clone()),
        (ROLE.to_owned(), role.to_owned()),
    ])
}

/// The label key recording which build made version `n`.
pub fn build_key(version: u64) -> String {
    format!("{BUILD_PREFIX}{version}")
}

/// Whether a build id can be stored as a label value (and read back unambiguously).
pub fn valid_build_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:+-@/".contains(&b))
}

/// The build ids recorded on a repository, by version number.
pub fn builds(labels: &BTreeMap<String, String>) -> BTreeMap<u64, String> {
    labels
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(BUILD_PREFIX)?.parse().ok()?, v.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_labels_round_trip() {
        let mut l = BTreeMap::new();
        l.insert(build_key(3), "ci-123".to_owned());
        l.insert(build_key(12), "2026-11-28T17:00:00Z".to_owned());
        l.insert("other".to_owned(), "x".to_owned());
        let b = builds(&l);
        assert_eq!(b.len(), 2);
        assert_eq!(b[&12], "2026-11-28T17:00:00Z");
        assert!(valid_build_id("ci-123"));
        assert!(valid_build_id("2026-11-28T17:00:00Z"));
        assert!(!valid_build_id("bad (id)"));
        assert!(!valid_build_id(""));
    }
}
