//! The end-to-end sandbox: the test kit's [`wheelgate_testkit::Sandbox`] running the `wheelgate`
//! binary, with the e2e catalog (release 3.0, variants, allowlist) and its names.

use std::ops::Deref;

use futures::TryStreamExt;
pub use wheelgate_testkit::{seed_of, sha256_file, Run, FILTERS};

/// Snapshot a run's exit code, stdout and stderr (redacted) under `name`, the same for both
/// layouts. `CI=true` makes a missing or different snapshot fail instead of being written.
#[macro_export]
macro_rules! snapshot {
    ($sb:expr, $name:expr, $run:expr) => {
        insta::with_settings!({
            filters => $crate::util::FILTERS.to_vec(),
            omit_expression => true,
        }, {
            insta::assert_snapshot!($name, $sb.redact(&$run));
        })
    };
}

/// Generate one test per layout from an async scenario `fn(&'static str)`.
macro_rules! both_layouts {
    ($($t:tt)*) => {
        wheelgate_testkit::both_layouts!($($t)*);
    };
}

/// (filename, sha256) of everything in a repository version, as Pulp's admin API lists it.
pub async fn files_of(
    client: &pulp_client::PulpClient,
    version: &pulp_client::RepositoryVersionHref,
) -> std::collections::BTreeMap<String, String> {
    client
        .packages(&pulp_client::PackageQuery {
            repository_version: Some(version.clone()),
            ..Default::default()
        })
        .await
        .unwrap()
        .map_ok(|p| (p.filename, p.sha256))
        .try_collect()
        .await
        .unwrap()
}

/// The index read as pip reads it, anonymously at Pulp's base_url (the TLS front's tests are
/// in customer.rs).
pub fn customers() -> wheelgate_index::IndexClient {
    wheelgate_index::IndexClient::new(Default::default()).unwrap()
}

/// A project name as the index client takes it.
pub fn name(project: &str) -> wheelgate_index::PackageName {
    project.parse().unwrap()
}

pub const DEFAULT_ALLOW: &str = r#"["wg-*", "torch", "numpy"]"#;

/// One test's world (see [`wheelgate_testkit::Sandbox`]) with the e2e catalog.
pub struct Sandbox(wheelgate_testkit::Sandbox);

impl Deref for Sandbox {
    type Target = wheelgate_testkit::Sandbox;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Sandbox {
    pub fn new(layout: &'static str) -> Self {
        Self::with_allow(layout, DEFAULT_ALLOW)
    }

    pub fn with_allow(layout: &'static str, allow: &str) -> Self {
        let sb =
            wheelgate_testkit::Sandbox::new(layout, env!("CARGO_BIN_EXE_wheelgate"), |product| {
                format!(
                    r#"product = "{product}"

[variants.cpu-ubi9]
python = ["cp312"]
platforms = ["linux_x86_64", "linux_aarch64"]

[variants."cuda12.9-ubi9"]
python = ["cp312"]
platforms = ["linux_x86_64"]

[variants."rocm6.4-ubi9"]
python = ["cp312"]
platforms = ["linux_x86_64"]

[variants.pure]
python = ["py3"]
platforms = ["any"]

[releases."3.0"]
variants = ["cpu-ubi9", "cuda12.9-ubi9", "rocm6.4-ubi9"]

# Only for the test of a variant whose dependency closure cannot be evaluated.
[releases."1.0-pure"]
variants = ["pure"]

[vet]
external = ["nvidia-*"]

[packages]
allow = {allow}
"#
                )
            });
        // The default actor is <user>@<host>.
        let host = wheelgate_core::actor::host_name();
        Self(sb.redacting(format!("@{host}"), "@[HOST]"))
    }

    /// A unique project name on the allowlist.
    pub fn project(&self, n: usize) -> String {
        format!("wg-{}-{n}", self.id)
    }

    pub fn names(&self, variant: &str) -> (String, String, String) {
        let base = format!("{}-3.0-{variant}", self.product);
        (base.clone(), format!("{base}-test"), base)
    }

    /// (filename, sha256) of everything in a version of a variant's staging repository.
    pub async fn version_files(
        &self,
        variant: &str,
        number: u64,
    ) -> std::collections::BTreeMap<String, String> {
        let repo = self
            .client
            .repository_by_name(&self.names(variant).0)
            .await
            .unwrap()
            .unwrap();
        files_of(&self.client, &repo.pulp_href.version(number)).await
    }

    /// The latest version number of a variant's staging repository.
    pub async fn latest_version(&self, variant: &str) -> Option<u64> {
        let repo = self
            .client
            .repository_by_name(&self.names(variant).0)
            .await
            .unwrap()?;
        repo.latest_version_href.and_then(|h| h.number())
    }

    pub fn init(&self) {
        self.run(&["init", "--release", "3.0"]).success();
    }
}
