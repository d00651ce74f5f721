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

/// What an href returned by Pulp points at, read from its path after `api/v3/` (in both
/// layouts, with or without a domain). Used instead of matching hrefs by substring, e.g. to
/// pick the new repository version out of a task's `created_resources`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// `repositories/<plugin>/<type>/<id>/versions/<n>/`.
    RepositoryVersion(RepositoryVersionHref),
    /// `repositories/<plugin>/<type>/<id>/`.
    Repository(RepositoryHref),
    /// `content/python/packages/<id>/`.
    Package(PackageHref),
    /// `distributions/<plugin>/<type>/<id>/`.
    Distribution(DistributionHref),
    /// `publications/<plugin>/<type>/<id>/`.
    Publication(PublicationHref),
    /// `contentguards/<plugin>/<type>/<id>/`.
    ContentGuard(ContentGuardHref),
    /// `remotes/<plugin>/<type>/<id>/`.
    Remote(RemoteHref),
    /// `tasks/<id>/`.
    Task(TaskHref),
    /// `uploads/<id>/`.
    Upload(UploadHref),
    /// `artifacts/<id>/`.
    Artifact(ArtifactHref),
    /// `domains/<id>/`.
    Domain(DomainHref),
    /// Anything else (other content types, resources this client does not model), kept as is.
    Other(String),
}

impl Resource {
    /// Sort an href by what it points at.
    pub fn parse(href: &str) -> Self {
        let owned = || href.to_owned();
        let Some(at) = href.find("/api/v3/") else {
            return Self::Other(owned());
        };
        let rest = &href[at + "/api/v3/".len()..];
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
        match parts.as_slice() {
            ["repositories", _, _, _, "versions", n] if n.parse::<u64>().is_ok() => {
                Self::RepositoryVersion(RepositoryVersionHref::new(owned()))
            }
            ["repositories", _, _, _] => Self::Repository(RepositoryHref::new(owned())),
            ["content", "python", "packages", _] => Self::Package(PackageHref::new(owned())),
            ["distributions", _, _, _] => Self::Distribution(DistributionHref::new(owned())),
            ["publications", _, _, _] => Self::Publication(PublicationHref::new(owned())),
            ["contentguards", _, _, _] => Self::ContentGuard(ContentGuardHref::new(owned())),
            ["remotes", _, _, _] => Self::Remote(RemoteHref::new(owned())),
            ["tasks", _] => Self::Task(TaskHref::new(owned())),
            ["uploads", _] => Self::Upload(UploadHref::new(owned())),
            ["artifacts", _] => Self::Artifact(ArtifactHref::new(owned())),
            ["domains", _] => Self::Domain(DomainHref::new(owned())),
            _ => Self::Other(owned()),
        }
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

    #[test]
    fn resources_are_sorted_by_path_in_both_layouts() {
        let plain = "/pulp/api/v3/";
        let hosted = "/api/pulp/my-domain/api/v3/";
        for root in [plain, hosted] {
            let r = |rest: &str| Resource::parse(&format!("{root}{rest}"));
            assert!(matches!(
                r("repositories/python/python/0190-ab/versions/3/"),
                Resource::RepositoryVersion(v) if v.number() == Some(3)
            ));
            assert!(matches!(
                r("repositories/file/file/0190-ab/versions/0/"),
                Resource::RepositoryVersion(_)
            ));
            assert!(matches!(
                r("repositories/python/python/0190-ab/"),
                Resource::Repository(_)
            ));
            assert!(matches!(
                r("content/python/packages/0190-cd/"),
                Resource::Package(_)
            ));
            assert!(matches!(
                r("distributions/python/pypi/0190-ef/"),
                Resource::Distribution(_)
            ));
            assert!(matches!(r("tasks/0190-aa/"), Resource::Task(_)));
            assert!(matches!(
                r("content/file/files/0190-cd/"),
                Resource::Other(_)
            ));
            // A version's content list is not a version.
            assert!(matches!(
                r("repositories/python/python/0190-ab/versions/3/content/"),
                Resource::Other(_)
            ));
        }
        assert!(matches!(
            Resource::parse("http://h:1/pulp/api/v3/uploads/1/"),
            Resource::Upload(_)
        ));
        assert!(matches!(Resource::parse("/not/pulp/"), Resource::Other(_)));
    }
}
