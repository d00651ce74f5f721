//! Typed hrefs: a repository href cannot be passed where a distribution href is expected.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! href_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wrap an href as Pulp returned it (an absolute path such as `/pulp/api/v3/...`).
            pub fn new(href: impl Into<String>) -> Self {
                Self(href.into())
            }

            /// The href as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(h: $name) -> String {
                h.0
            }
        }
    };
}

href_type!(
    /// A python repository.
    RepositoryHref
);
href_type!(
    /// One immutable version of a repository.
    RepositoryVersionHref
);
href_type!(
    /// A python package content unit.
    PackageHref
);
href_type!(
    /// An artifact (stored file).
    ArtifactHref
);
href_type!(
    /// A (chunked) upload.
    UploadHref
);
href_type!(
    /// A python distribution.
    DistributionHref
);
href_type!(
    /// A content guard of any kind.
    ContentGuardHref
);
href_type!(
    /// A python remote.
    RemoteHref
);
href_type!(
    /// A task.
    TaskHref
);
href_type!(
    /// A domain.
    DomainHref
);
href_type!(
    /// A publication (wheelgate never creates them, but Pulp may report them).
    PublicationHref
);

impl RepositoryVersionHref {
    /// The version number at the end of the href (`.../versions/3/` → 3).
    pub fn number(&self) -> Option<u64> {
        self.0
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .and_then(|n| n.parse().ok())
    }

    /// The href of the repository this version belongs to.
    pub fn repository(&self) -> Option<RepositoryHref> {
        let trimmed = self.0.trim_end_matches('/');
        let idx = trimmed.rfind("/versions/")?;
        Some(RepositoryHref(format!("{}/", &trimmed[..idx])))
    }
}

impl RepositoryHref {
    /// The href of version `number` of this repository.
    pub fn version(&self, number: u64) -> RepositoryVersionHref {
        let base = self.0.trim_end_matches('/');
        RepositoryVersionHref(format!("{base}/versions/{number}/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_href_parts() {
        let v = RepositoryVersionHref::new(
            "/pulp/api/v3/repositories/python/python/0190-ab/versions/12/",
        );
        assert_eq!(v.number(), Some(12));
        assert_eq!(
            v.repository(),
            Some(RepositoryHref::new(
                "/pulp/api/v3/repositories/python/python/0190-ab/"
            ))
        );
        let repo = RepositoryHref::new("/api/pulp/dom/api/v3/repositories/python/python/x/");
        assert_eq!(
            repo.version(0).as_str(),
            "/api/pulp/dom/api/v3/repositories/python/python/x/versions/0/"
        );
        assert_eq!(RepositoryVersionHref::new("/nonsense/").number(), None);
    }

    #[test]
    fn hrefs_are_transparent_in_json() {
        let h: TaskHref = serde_json::from_str(r#""/pulp/api/v3/tasks/1/""#).unwrap();
        assert_eq!(h.as_str(), "/pulp/api/v3/tasks/1/");
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            r#""/pulp/api/v3/tasks/1/""#
        );
    }
}
