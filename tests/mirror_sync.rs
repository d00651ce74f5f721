//! Issue 13's Pulp-to-Pulp path: the plain-layout local Pulp syncs the hosted layout's
//! production index through the hosted TLS front, with the customer's client certificate
//! (a python remote with `client_cert`, `client_key`, `ca_cert`), and its own index then
//! serves the same files with the same sha256. Without the client certificate the sync fails
//! with the front's 403; with `includes` it brings only the projects named.
//!
//! The remote's URL is the production distribution's base URL through the front, ending in
//! `/`: `<front><index prefix><base_path>/`. pulp_python (bandersnatch) reads
//! `<url>simple/`, `<url>pypi/<project>/json` and `<url>simple/<project>/` from it, and the
//! files at the URLs those pages give (the front rewrites them to itself).

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::Duration;

use futures::FutureExt;
use pulp_client::{
    ClientError, NewDistribution, NewRemote, PulpClient, RepositoryFields, Secret, Serves,
    TaskError, WaitOptions,
};
use url::Url;
use wheelgate_index::{IndexClient, IndexConfig, TlsSettings};
use wheelgate_testkit::front::Front;
use wheelgate_testkit::{sha256_file, LocalPulp};

use crate::util::{customers, files_of, Sandbox};

const VARIANT: &str = "cpu-ubi9";

fn front(layout: &str) -> Front {
    Front::find(layout).unwrap_or_else(|| {
        panic!("no TLS front for the {layout} layout: run `make front-up` (make test does)")
    })
}

fn wait() -> WaitOptions {
    WaitOptions::with_timeout(Duration::from_secs(300))
}

/// A file as an index lists it.
#[derive(Debug, Clone)]
struct Listed {
    project: String,
    sha256: String,
    metadata_sha256: Option<String>,
    url: Url,
}

/// Every file of a simple index, by filename (root page, then each project's page).
async fn index_files(client: &IndexClient, index: &Url) -> BTreeMap<String, Listed> {
    let root = client
        .root(index)
        .await
        .unwrap_or_else(|e| panic!("{index}: {e}"))
        .unwrap_or_else(|| panic!("{index}: not found"));
    let mut files = BTreeMap::new();
    for name in &root.projects {
        let page = client
            .project(index, name)
            .await
            .unwrap_or_else(|e| panic!("{index} {name}: {e}"))
            .unwrap_or_else(|| panic!("{index} {name}: not found"));
        for f in page.files {
            let listed = Listed {
                project: name.to_string(),
                sha256: f.sha256().unwrap_or_default(),
                metadata_sha256: f.metadata_sha256(),
                url: f.url.clone(),
            };
            assert!(
                files.insert(f.filename.clone(), listed).is_none(),
                "{} listed twice",
                f.filename
            );
        }
    }
    files
}

fn hashes(files: &BTreeMap<String, Listed>) -> BTreeMap<String, String> {
    files
        .iter()
        .map(|(n, l)| (n.clone(), l.sha256.clone()))
        .collect()
}

/// Read the upstream index (through the front) and the mirror's index, assert they list the
/// same files with the same sha256 and PEP 658 metadata hashes, and that the mirror serves its
/// files itself; the mirror's files.
async fn same_files(
    through_front: &IndexClient,
    upstream_index: &Url,
    mirror_index: &Url,
    front_url: &str,
) -> BTreeMap<String, Listed> {
    let upstream = index_files(through_front, upstream_index).await;
    let mirrored = index_files(&customers(), mirror_index).await;
    assert_eq!(
        hashes(&mirrored),
        hashes(&upstream),
        "{mirror_index} against {upstream_index}"
    );
    for (name, m) in &mirrored {
        assert!(
            !m.url.as_str().starts_with(front_url),
            "{name} is served by the mirror itself: {}",
            m.url
        );
        assert_eq!(
            m.metadata_sha256, upstream[name].metadata_sha256,
            "PEP 658 metadata of {name}"
        );
    }
    mirrored
}

/// The objects this test makes in the plain Pulp, by name (so they can be found and deleted
/// even when the test stopped half-way).
struct PlainNames {
    /// Remote + repository + distribution synced with the client certificate.
    full: String,
    /// Remote + repository without the client certificate.
    nocert: String,
    /// Remote + repository with `includes`.
    subset: String,
}

impl PlainNames {
    fn new(product: &str) -> Self {
        Self {
            full: format!("{product}-p2p-full"),
            nocert: format!("{product}-p2p-nocert"),
            subset: format!("{product}-p2p-subset"),
        }
    }

    fn all(&self) -> [&str; 3] {
        [&self.full, &self.nocert, &self.subset]
    }
}

/// Delete what the test made in the plain Pulp (distribution, repository, remote of each
/// name), best effort: every failure is printed, none stops the rest. The names left.
async fn clean_plain(plain: &PulpClient, names: &PlainNames) -> Vec<String> {
    let w = wait();
    let mut left = Vec::new();
    for name in names.all() {
        if let Ok(Some(d)) = plain.distribution_by_name(name).await {
            if let Err(e) = plain.delete_distribution(&d.pulp_href, &w).await {
                eprintln!("cleanup: distribution {name}: {e}");
                left.push(format!("distribution {name}"));
            }
        }
        if let Ok(Some(r)) = plain.repository_by_name(name).await {
            if let Err(e) = plain.delete_repository(&r.pulp_href, &w).await {
                eprintln!("cleanup: repository {name}: {e}");
                left.push(format!("repository {name}"));
            }
        }
        if let Ok(Some(r)) = plain.remote_by_name(name).await {
            if let Err(e) = plain.delete_remote(&r.pulp_href, &w).await {
                eprintln!("cleanup: remote {name}: {e}");
                left.push(format!("remote {name}"));
            }
        }
    }
    left
}

async fn new_repo(plain: &PulpClient, name: &str) -> pulp_client::Repository {
    plain
        .create_repository(&RepositoryFields {
            name: Some(name.to_owned()),
            ..Default::default()
        })
        .await
        .unwrap()
}

fn access_log_lines(front: &Front, needle: &str) -> Vec<String> {
    let log = std::fs::read_to_string(front.get("FRONT_ACCESS_LOG").unwrap()).unwrap();
    log.lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

async fn plain_pulp_syncs_hosted_production_through_the_front(
    sb: &Sandbox,
    front: &Front,
    plain: &PulpClient,
    names: &PlainNames,
) {
    // 1. The hosted layout: a release whose production index serves 3 projects, one of them in
    //    two versions.
    sb.init();
    let dir = sb.wheels_dir("build");
    let (a, b, c) = (sb.project(1), sb.project(2), sb.project(3));
    let mut built = BTreeMap::new();
    for (project, version, size) in [
        (&a, "1.0", 1500),
        (&a, "2.0", 1600),
        (&b, "1.0", 1700),
        (&c, "1.0", 1800),
    ] {
        let w = sb.wheel(&dir, project, version, "py3-none-any", size);
        let name = w.file_name().unwrap().to_string_lossy().into_owned();
        built.insert(name, sha256_file(&w));
    }
    let args = ["--release", "3.0", "--variant", VARIANT];
    sb.run(&[&["upload"], &args[..], &[dir.to_str().unwrap()]].concat())
        .success();
    sb.run(&[&["vet"], &args[..]].concat()).success();
    sb.run(&[&["promote"], &args[..], &["--yes"]].concat())
        .success();

    let production = sb
        .client
        .distribution_by_name(&sb.names(VARIANT).2)
        .await
        .unwrap()
        .expect("the production distribution");
    assert!(
        matches!(production.serves(), Serves::Version(_)),
        "{production:?}"
    );
    let base_path = production.base_path.trim_matches('/').to_owned();

    // What customers get at the front, with the client certificate: exactly what was built.
    let through_front = IndexClient::new(IndexConfig {
        tls: TlsSettings {
            client_cert: Some(front.client_cert.clone()),
            ca_bundle: Some(front.ca_bundle.clone()),
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    let upstream_index = Url::parse(&front.index_url(&base_path)).unwrap();
    let upstream = index_files(&through_front, &upstream_index).await;
    assert_eq!(hashes(&upstream), built, "the hosted production index");

    // 2. The plain layout's Pulp syncs it through the front, with the customer's certificate.
    let upstream_url = format!("{}{}{base_path}/", front.url, front.index_prefix);
    // As docs/mirroring.md says: the entitlement's certificate and key (separate PEM files),
    // and the front's CA.
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    let (cert, key) = (
        read(&front.pki.entitlement_cert),
        read(&front.pki.entitlement_key),
    );
    let ca = read(&front.ca_bundle);
    let remote = |name: &str, with_cert: bool, includes: Vec<String>| NewRemote {
        name: name.to_owned(),
        url: upstream_url.clone(),
        policy: Some("immediate".into()),
        includes,
        client_cert: with_cert.then(|| cert.clone()),
        client_key: with_cert.then(|| Secret::new(key.clone())),
        ca_cert: Some(ca.clone()),
        tls_validation: Some(true),
    };
    let full = plain
        .create_remote(&remote(&names.full, true, Vec::new()))
        .await
        .unwrap();
    assert_eq!(full.url, upstream_url);
    assert!(full.has_client_key(), "{:?}", full.hidden_fields);
    let repo = new_repo(plain, &names.full).await;
    let synced = plain
        .sync(&repo.pulp_href, &full.pulp_href, true, &wait())
        .await
        .unwrap();
    let version = synced.new_version.expect("the sync made a version");
    assert_eq!(files_of(plain, &version).await, built);

    // A distribution following the repository, as the docs set it up.
    let dist = plain
        .create_distribution(
            &NewDistribution {
                name: names.full.clone(),
                base_path: format!("{}/p2p/full", sb.product),
                serves: Serves::Latest(repo.pulp_href.clone()),
                pulp_labels: BTreeMap::new(),
                content_guard: None,
            },
            &wait(),
        )
        .await
        .unwrap();

    // 3. The plain layout's own index (no guard, no front) serves the same files.
    let base_url = dist.base_url.clone().expect("the distribution's base_url");
    let mirror_index = Url::parse(&base_url).unwrap().join("simple/").unwrap();
    let same = || same_files(&through_front, &upstream_index, &mirror_index, &front.url);
    let mirrored = same().await;
    let (name, file) = mirrored
        .iter()
        .find(|(n, _)| n.contains("-2.0-"))
        .expect("the second version of the first project");
    let dest = sb.dir.path().join(name);
    let got = customers().download(&file.url, &dest, None).await.unwrap();
    assert_eq!(got.sha256, upstream[name].sha256, "{}", file.url);
    assert_eq!(got.sha256, sha256_file(Path::new(&dest)));
    assert_eq!(got.sha256, built[name]);

    // The sync went through the front with the certificate: project JSON and files.
    let lines = access_log_lines(front, &format!("/{base_path}/"));
    for path in [
        format!("/{base_path}/simple/ "),
        format!("/{base_path}/pypi/{a}/json/ "),
        format!("/{base_path}/{name} "),
    ] {
        assert!(
            lines.iter().any(|l| l.contains(&path)
                && l.contains(" 200 ")
                && l.contains("verify=\"SUCCESS\"")),
            "no 200 for {path} in the front's log:\n{}",
            lines.join("\n")
        );
    }

    // A new promotion: the same sync picks up the new file.
    let dir2 = sb.wheels_dir("build2");
    let newer = sb.wheel(&dir2, &c, "2.0", "py3-none-any", 1900);
    let newer = newer.file_name().unwrap().to_string_lossy().into_owned();
    sb.run(&[&["upload"], &args[..], &[dir2.to_str().unwrap()]].concat())
        .success();
    sb.run(&[&["vet"], &args[..]].concat()).success();
    sb.run(&[&["promote"], &args[..], &["--yes"]].concat())
        .success();
    let resynced = plain
        .sync(&repo.pulp_href, &full.pulp_href, true, &wait())
        .await
        .unwrap();
    assert!(resynced.new_version.is_some(), "{:?}", resynced.task);
    let mirrored = same().await;
    assert_eq!(mirrored.len(), built.len() + 1);
    assert!(mirrored.contains_key(&newer), "{mirrored:?}");

    // A rollback upstream: a mirror-mode sync removes what production no longer serves.
    sb.run(&[&["rollback"], &args[..], &["--yes"]].concat())
        .success();
    plain
        .sync(&repo.pulp_href, &full.pulp_href, true, &wait())
        .await
        .unwrap();
    let mirrored = same().await;
    assert_eq!(hashes(&mirrored), built);

    // 4. Without the client certificate the front refuses, and the sync task fails with it.
    let nocert = plain
        .create_remote(&remote(&names.nocert, false, Vec::new()))
        .await
        .unwrap();
    assert!(!nocert.has_client_key());
    let repo2 = new_repo(plain, &names.nocert).await;
    let err = plain
        .sync(&repo2.pulp_href, &nocert.pulp_href, true, &wait())
        .await
        .unwrap_err();
    match &err {
        ClientError::Task(t) => match t.as_ref() {
            TaskError::Failed { description, .. } => assert!(
                description.contains("403") && description.contains(&front.url),
                "{description}"
            ),
            other => panic!("expected a failed task, got {other}"),
        },
        other => panic!("expected a failed task, got {other}"),
    }
    let repo2 = plain.repository(&repo2.pulp_href).await.unwrap();
    assert_eq!(
        repo2.latest_version_href.and_then(|v| v.number()),
        Some(0),
        "a failed sync makes no version"
    );
    assert!(
        access_log_lines(front, &format!("/{base_path}/simple/ "))
            .iter()
            .any(|l| l.contains(" 403 ") && l.contains("refusal=no-certificate")),
        "the front refused the sync without a certificate"
    );

    // 5. `includes`: only the project named.
    let subset = plain
        .create_remote(&remote(&names.subset, true, vec![b.clone()]))
        .await
        .unwrap();
    let repo3 = new_repo(plain, &names.subset).await;
    let synced = plain
        .sync(&repo3.pulp_href, &subset.pulp_href, false, &wait())
        .await
        .unwrap();
    let v3 = synced.new_version.expect("the subset sync made a version");
    let want: BTreeMap<String, String> = upstream
        .iter()
        .filter(|(_, l)| l.project == b)
        .map(|(n, l)| (n.clone(), l.sha256.clone()))
        .collect();
    assert_eq!(want.len(), 1, "{upstream:?}");
    assert_eq!(files_of(plain, &v3).await, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_pulp_mirrors_hosted_production_through_the_front() {
    let front = front("hosted");
    let sb = Sandbox::new("hosted");
    let plain = LocalPulp::new("plain").client;
    let names = PlainNames::new(&sb.product);
    let outcome = AssertUnwindSafe(plain_pulp_syncs_hosted_production_through_the_front(
        &sb, &front, &plain, &names,
    ))
    .catch_unwind()
    .await;
    let left = clean_plain(&plain, &names).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    assert!(
        left.is_empty(),
        "not cleaned up in the plain Pulp: {left:?}"
    );
    for name in names.all() {
        assert!(
            plain.remote_by_name(name).await.unwrap().is_none(),
            "{name}"
        );
        assert!(
            plain.repository_by_name(name).await.unwrap().is_none(),
            "{name}"
        );
        assert!(
            plain.distribution_by_name(name).await.unwrap().is_none(),
            "{name}"
        );
    }
}
