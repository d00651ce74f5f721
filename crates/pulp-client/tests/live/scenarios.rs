//! The scenarios, each run once per layout.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use pulp_client::{
    ByteProgress, ChunkedOptions, ClientError, ConnectionSettings, GuardKind, Modify,
    NewDistribution, NewRemote, PackageQuery, PulpCliConfig, PulpClient, RepositoryFields, Secret,
    Serves, SessionMode, TaskError, TaskQuery, WaitOptions,
};
use url::Url;

use wheelgate_testkit::{sha256_file, unique, wheel, LocalPulp};

fn wait() -> WaitOptions {
    WaitOptions::with_timeout(std::time::Duration::from_secs(300))
}

async fn new_repo(c: &PulpClient, prefix: &str) -> pulp_client::Repository {
    c.create_repository(&RepositoryFields {
        name: Some(unique(prefix)),
        allow_package_substitution: Some(false),
        ..Default::default()
    })
    .await
    .unwrap()
}

fn index_url(d: &pulp_client::Distribution) -> Url {
    let base = d.base_url.clone().expect("distribution has a base_url");
    let base = if base.ends_with('/') {
        base
    } else {
        format!("{base}/")
    };
    Url::parse(&base).unwrap().join("simple/").unwrap()
}

#[derive(Default)]
struct Count(AtomicU64);
impl ByteProgress for Count {
    fn advance(&self, bytes: u64) {
        self.0.fetch_add(bytes, Ordering::SeqCst);
    }
}

pub async fn chunked_upload_modify_serve_unpin(p: &LocalPulp) {
    let c = &p.client;
    let dir = tempfile::tempdir().unwrap();
    let project = unique("bigwheel").replace('-', "_");
    let path = wheel(dir.path(), &project, "1.0.0", 50 * 1024 * 1024, 7);
    let local_sha = sha256_file(&path);
    let size = std::fs::metadata(&path).unwrap().len();

    // Chunked upload: 8 MiB chunks, 3 in flight.
    let progress = Arc::new(Count::default());
    let opts = ChunkedOptions {
        chunk_size: 8 * 1024 * 1024,
        parallel: 3,
    };
    let up = c
        .upload_chunked(&path, &opts, progress.clone())
        .await
        .unwrap();
    assert_eq!(up.sha256, local_sha);
    assert_eq!(up.size, size);
    assert_eq!(up.chunks, 7);
    assert!(
        up.peak_parallel >= 2,
        "chunks were not sent in parallel: {}",
        up.peak_parallel
    );
    assert_eq!(progress.0.load(Ordering::SeqCst), size);
    assert_eq!(c.upload(&up.href).await.unwrap().size, size);

    // Content from the uncommitted upload, checked against the whole-file sha256.
    let filename = path.file_name().unwrap().to_str().unwrap().to_owned();
    let task = c
        .start_create_package_from_upload(&up.href, &filename, &up.sha256)
        .await
        .unwrap();
    let task = c.wait_task(&task, &wait()).await.unwrap();
    let pkg_href = task
        .created()
        .find(|h| h.contains("/content/python/packages/"))
        .map(pulp_client::PackageHref::new)
        .expect("task created the package");
    let pkg = c.package(&pkg_href).await.unwrap();
    assert_eq!(pkg.sha256, local_sha, "sha256 Pulp reports");
    assert_eq!(pkg.filename, filename);
    let artifact = c
        .artifact_by_sha256(&local_sha)
        .await
        .unwrap()
        .expect("artifact");
    assert_eq!(artifact.size, Some(size));

    // modify → version 1.
    let repo = new_repo(c, "t-chunked").await;
    let out = c
        .modify(
            &repo.pulp_href,
            &Modify {
                add_content_units: vec![pkg_href.clone()],
                ..Default::default()
            },
            &wait(),
        )
        .await
        .unwrap();
    let v1 = out.new_version.expect("a new version");
    assert_eq!(v1.number(), Some(1));
    let version = c.repository_version(&v1).await.unwrap();
    assert_eq!(version.content_summary.packages_present(), 1);

    // A distribution pinned to version 1 serves it (PEP 691 JSON) with the right sha256.
    let name = unique("t-dist");
    let dist = c
        .create_distribution(
            &NewDistribution {
                name: name.clone(),
                base_path: format!("wheelgate-tests/{name}"),
                serves: Serves::Version(v1.clone()),
                pulp_labels: BTreeMap::new(),
                content_guard: None,
            },
            &wait(),
        )
        .await
        .unwrap();
    assert_eq!(dist.serves(), Serves::Version(v1.clone()));
    let index = index_url(&dist);
    // Read as customers do (the customer-side crate, not the admin client).
    let customers = wheelgate_index::IndexClient::new(Default::default()).unwrap();
    let name = wheelgate_index::PackageName::from_str(&project).unwrap();
    let page = customers
        .project(&index, &name)
        .await
        .unwrap()
        .expect("project page");
    assert_eq!(page.files.len(), 1);
    assert_eq!(page.files[0].filename, filename);
    assert_eq!(page.files[0].sha256(), Some(local_sha.clone()));
    let root = customers.root(&index).await.unwrap().expect("root page");
    assert!(root.projects.contains(&name), "{:?}", root.projects);

    // Pinning to version 0 removes it from the index.
    c.serve(
        &dist.pulp_href,
        &Serves::Version(repo.pulp_href.version(0)),
        &wait(),
    )
    .await
    .unwrap();
    assert!(customers.project(&index, &name).await.unwrap().is_none());
    // Pinning again to what it already serves is a success too (200 without task, or a task).
    c.serve(
        &dist.pulp_href,
        &Serves::Version(repo.pulp_href.version(0)),
        &wait(),
    )
    .await
    .unwrap();

    c.delete_distribution(&dist.pulp_href, &wait())
        .await
        .unwrap();
    c.delete_repository(&repo.pulp_href, &wait()).await.unwrap();
}

pub async fn wrong_sha256_fails_as_typed_task_error(p: &LocalPulp) {
    let c = &p.client;
    let dir = tempfile::tempdir().unwrap();
    let path = wheel(
        dir.path(),
        &unique("badsha").replace('-', "_"),
        "1.0",
        300_000,
        3,
    );
    let up = c
        .upload_chunked(
            &path,
            &ChunkedOptions {
                chunk_size: 100_000,
                parallel: 2,
            },
            Arc::new(pulp_client::NoProgress),
        )
        .await
        .unwrap();
    let wrong = "0".repeat(64);
    let filename = path.file_name().unwrap().to_str().unwrap();
    let err = match c
        .start_create_package_from_upload(&up.href, filename, &wrong)
        .await
    {
        // Pulp may refuse at once (400) or fail the task: both must be typed and clear.
        Err(e) => e,
        Ok(task) => c.wait_task(&task, &wait()).await.unwrap_err(),
    };
    match &err {
        ClientError::Task(t) => {
            let TaskError::Failed {
                href, description, ..
            } = t.as_ref()
            else {
                panic!("expected a failed task, got {t:?}");
            };
            assert!(href.as_str().contains("/tasks/"));
            assert!(!description.is_empty());
            let msg = err.to_string();
            assert!(msg.contains(href.as_str()), "message names the task: {msg}");
            assert!(
                msg.contains(description.as_str()),
                "message has Pulp's words: {msg}"
            );
        }
        ClientError::Http { status, body, .. } => {
            assert_eq!(status.as_u16(), 400);
            assert!(!body.field_errors().is_empty(), "{err}");
        }
        other => panic!("unexpected error {other:?}"),
    }
    // Clean up the abandoned upload (may already be gone).
    let _ = c.delete_upload(&up.href).await;
}

pub async fn validation_errors_carry_field_errors(p: &LocalPulp) {
    let c = &p.client;
    let repo = new_repo(c, "t-valid").await;
    let err = c
        .create_repository(&RepositoryFields {
            name: Some(repo.name.clone()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    let fields = err.body().unwrap().field_errors();
    assert!(fields.iter().any(|(f, _)| f == "name"), "{fields:?}");
    assert!(err.to_string().contains("name:"), "{err}");
    // A PATCH with an invalid value names the field too.
    let err = c
        .update_repository(
            &repo.pulp_href,
            &RepositoryFields {
                retain_repo_versions: Some(Some(0)),
                ..Default::default()
            },
            &wait(),
        )
        .await
        .unwrap_err();
    assert!(
        err.body()
            .unwrap()
            .field_errors()
            .iter()
            .any(|(f, _)| f == "retain_repo_versions"),
        "{err}"
    );
    // Retention settings round-trip.
    c.update_repository(
        &repo.pulp_href,
        &RepositoryFields {
            retain_repo_versions: Some(Some(5)),
            description: Some("changed".into()),
            ..Default::default()
        },
        &wait(),
    )
    .await
    .unwrap();
    let again = c.repository(&repo.pulp_href).await.unwrap();
    assert_eq!(again.retain_repo_versions, Some(5));
    assert_eq!(again.allow_package_substitution, Some(false));
    assert_eq!(
        c.repository_by_name(&repo.name)
            .await
            .unwrap()
            .unwrap()
            .pulp_href,
        repo.pulp_href
    );
    c.delete_repository(&repo.pulp_href, &wait()).await.unwrap();
    assert!(c
        .repository(&repo.pulp_href)
        .await
        .unwrap_err()
        .is_not_found());
}

pub async fn pagination_of_250_units(p: &LocalPulp) {
    let c = &p.client;
    let dir = tempfile::tempdir().unwrap();
    let tag = unique("pg").replace('-', "_");
    let paths: Vec<_> = (0..250)
        .map(|i| wheel(dir.path(), &format!("{tag}_{i}"), "1.0", 64, i))
        .collect();
    let pkgs: Vec<_> = futures::stream::iter(paths.iter())
        .map(|path| c.upload_package_sync(path, Arc::new(pulp_client::NoProgress)))
        .buffer_unordered(8)
        .try_collect()
        .await
        .unwrap();
    let repo = new_repo(c, "t-page").await;
    let out = c
        .modify(
            &repo.pulp_href,
            &Modify {
                add_content_units: pkgs.iter().map(|p| p.pulp_href.clone()).collect(),
                ..Default::default()
            },
            &wait(),
        )
        .await
        .unwrap();
    let v1 = out.new_version.unwrap();
    let query = PackageQuery {
        repository_version: Some(v1.clone()),
        limit: Some(100),
        ..Default::default()
    };
    let first = c.packages_page(&query).await.unwrap();
    assert_eq!(first.count, 250);
    assert_eq!(first.results.len(), 100);
    assert!(first.next.is_some());
    let all: Vec<_> = c
        .packages(&query)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 250);
    let distinct: BTreeSet<_> = all.iter().map(|p| p.filename.clone()).collect();
    assert_eq!(distinct.len(), 250, "no duplicates across pages");
    let expected: BTreeSet<_> = pkgs.iter().map(|p| p.filename.clone()).collect();
    assert_eq!(distinct, expected);
    // Diff filters: everything was added between version 0 and 1.
    let added = c
        .packages_added_between(&repo.pulp_href.version(0), &v1)
        .await
        .unwrap();
    assert_eq!(added.len(), 250);
    c.delete_repository(&repo.pulp_href, &wait()).await.unwrap();
}

/// `packages_by_name`: the packages of one version of the projects asked for, newest first,
/// at most `rows` a batch; and what this Pulp (pulp_python 3.36) matches: the PEP 503-normalized
/// name, so `foo_bar` (the file name's spelling) finds a package whose `METADATA` says
/// `Foo.Bar`. An older pulp_python compares the name as written; wheelgate's upload does not
/// rely on either (what the name look-up misses is looked up by filename).
pub async fn packages_by_name_of_a_version(p: &LocalPulp) {
    let c = &p.client;
    let dir = tempfile::tempdir().unwrap();
    let tag = unique("pn").replace('-', "_");
    let spec = |name: String, filename_name: Option<String>, version: &str, seed: u64| {
        wheelgate_fixtures::WheelSpec {
            filename_name,
            payload_bytes: 64,
            seed,
            ..wheelgate_fixtures::WheelSpec::new(name, version)
        }
    };
    let dotted = spec(
        format!("Pn.{tag}.Dotted"),
        Some(format!("pn_{tag}_dotted")),
        "1.0",
        1,
    );
    let plain_1 = spec(format!("{tag}_plain"), None, "1.0", 2);
    let plain_2 = spec(format!("{tag}_plain"), None, "2.0", 3);
    let other = spec(format!("{tag}_other"), None, "1.0", 4);
    let outside = spec(format!("{tag}_outside"), None, "1.0", 5);
    let mut pkgs = Vec::new();
    // One at a time: the newest-first order below is the order of creation.
    for s in [&dotted, &plain_1, &plain_2, &other, &outside] {
        let path = wheelgate_testkit::write_wheel(dir.path(), s);
        pkgs.push(
            c.upload_package_sync(&path, Arc::new(pulp_client::NoProgress))
                .await
                .unwrap(),
        );
    }
    assert_eq!(
        pkgs[0].name,
        format!("Pn.{tag}.Dotted"),
        "stored as METADATA says"
    );
    let repo = new_repo(c, "t-byname").await;
    let v1 = c
        .modify(
            &repo.pulp_href,
            &Modify {
                // Not the last one: in Pulp, not in the version.
                add_content_units: pkgs[..4].iter().map(|p| p.pulp_href.clone()).collect(),
                ..Default::default()
            },
            &wait(),
        )
        .await
        .unwrap()
        .new_version
        .unwrap();
    let names: Vec<String> = [
        format!("pn_{tag}_dotted"),
        format!("{tag}_plain"),
        format!("{tag}_outside"),
    ]
    .into();
    let found = c
        .packages_by_name(&v1, &names, &["filename", "sha256"], 1000)
        .await
        .unwrap();
    let filenames: BTreeSet<String> = found.iter().map(|p| p.filename.clone()).collect();
    let expected: BTreeSet<String> = [&dotted, &plain_1, &plain_2]
        .iter()
        .map(|s| s.filename())
        .collect();
    assert_eq!(
        filenames, expected,
        "the projects' files in the version, no other"
    );
    for p in &found {
        let uploaded = pkgs.iter().find(|u| u.filename == p.filename).unwrap();
        assert_eq!(p.sha256, uploaded.sha256);
        assert_eq!(p.pulp_href, uploaded.pulp_href);
    }
    // At most `rows` a batch, newest first.
    let capped = c
        .packages_by_name(&v1, &names[1..2], &["filename"], 1)
        .await
        .unwrap();
    let capped: Vec<String> = capped.into_iter().map(|p| p.filename).collect();
    assert_eq!(capped, [plain_2.filename()]);
    // `packages_of_projects`: every file of the projects, however many names are asked for.
    // Names that match nothing spread the three real ones over several `name__in` batches (the
    // request line's budget), and a page of one row makes each batch paginate.
    let mut many: Vec<String> = (0..400).map(|i| format!("{tag}_absent_{i:04}")).collect();
    many.insert(0, names[0].clone());
    many.insert(200, names[1].clone());
    many.push(names[2].clone());
    let batches = pulp_client::name_batches(&many);
    assert!(batches.len() >= 3, "{} batches", batches.len());
    assert!(!batches[0].contains(&names[1]) && batches[0].contains(&names[0]));
    let all = c
        .packages_of_projects(&v1, &many, &["filename", "sha256"], 1)
        .await
        .unwrap();
    let mut listed: Vec<String> = all.iter().map(|p| p.filename.clone()).collect();
    listed.sort();
    let expected: Vec<String> = expected.into_iter().collect();
    assert_eq!(
        listed, expected,
        "each file once, every page of every batch"
    );
    c.delete_repository(&repo.pulp_href, &wait()).await.unwrap();
}

pub async fn wrong_password_is_a_clear_401(p: &LocalPulp) {
    let mut cfg = p.config.clone();
    let username = match &cfg.auth {
        pulp_client::Auth::Basic { username, .. } => username.clone(),
        other => panic!("local Pulp uses basic auth, got {other:?}"),
    };
    cfg.auth = pulp_client::Auth::Basic {
        username,
        password: Secret::new("definitely-not-the-password"),
    };
    let c = PulpClient::new(cfg).unwrap();
    let err = c.repository_by_name("anything").await.unwrap_err();
    assert!(matches!(err, ClientError::Auth { .. }), "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    let msg = err.to_string();
    assert!(msg.contains("authentication failed"), "{msg}");
    assert!(!msg.contains("definitely-not-the-password"), "{msg}");
}

pub async fn pulp_cli_profile_is_read(p: &LocalPulp) {
    let real = std::fs::read_to_string(&p.cli_toml).unwrap();
    let table: toml::Table = real.parse().unwrap();
    let mut cli = table["cli"].as_table().unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cli.toml");
    let mut doc = toml::Table::new();
    doc.insert(
        "cli".into(),
        toml::Value::Table(toml::toml! { base_url = "http://127.0.0.1:9" }),
    );
    cli.insert("format".into(), "json".into());
    doc.insert("cli-wheelgate".into(), toml::Value::Table(cli));
    std::fs::write(&file, toml::to_string(&doc).unwrap()).unwrap();

    let cfg = PulpCliConfig::load(&file).unwrap();
    assert_eq!(cfg.profiles(), vec!["wheelgate".to_owned()]);
    let settings = ConnectionSettings::default()
        .or(cfg.settings(Some("wheelgate")).unwrap())
        .into_config()
        .unwrap();
    let c = PulpClient::new(settings).unwrap();
    let status = c.status().await.unwrap();
    assert!(status.component("python").is_some());
    assert!(!status.online_workers.is_empty());
    // The domain from the profile is used for resource URLs.
    let url = c.api_url("repositories/").await.unwrap();
    if p.layout == "hosted" {
        assert!(url.path().starts_with("/api/pulp/"), "{url}");
        assert!(status.domain_enabled);
        assert!(!url.path().contains("/default/"), "{url}");
    } else {
        assert_eq!(url.path(), "/pulp/api/v3/repositories/");
    }
}

pub async fn labels_tasks_and_noop_modify(p: &LocalPulp) {
    let c = &p.client;
    let repo = new_repo(c, "t-labels").await;
    c.set_label(repo.pulp_href.as_str(), "wheelgate.build", "b-1")
        .await
        .unwrap();
    let r = c.repository(&repo.pulp_href).await.unwrap();
    assert_eq!(
        r.pulp_labels.get("wheelgate.build").map(String::as_str),
        Some("b-1")
    );
    let found = c
        .list_repositories(&[
            ("pulp_label_select", "wheelgate.build=b-1"),
            ("name", &repo.name),
        ])
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    c.unset_label(repo.pulp_href.as_str(), "wheelgate.build")
        .await
        .unwrap();
    assert!(c
        .repository(&repo.pulp_href)
        .await
        .unwrap()
        .pulp_labels
        .is_empty());

    // A modify that changes nothing completes without a new version.
    let out = c
        .modify(&repo.pulp_href, &Modify::default(), &wait())
        .await
        .unwrap();
    assert!(out.new_version.is_none());
    let tasks = c
        .list_tasks(&TaskQuery {
            reserved_resources: Some(repo.pulp_href.to_string()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(tasks.iter().any(|t| t.pulp_href == out.task.pulp_href));
    // Cancelling a finished task is refused with 409.
    let err = c.cancel_task(&out.task.pulp_href).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(409), "{err}");
    let versions = c.list_versions(&repo.pulp_href).await.unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].number, 0);
    c.delete_repository(&repo.pulp_href, &wait()).await.unwrap();
}

pub async fn sync_upload_is_idempotent_by_sha256(p: &LocalPulp) {
    let c = &p.client;
    let dir = tempfile::tempdir().unwrap();
    let path = wheel(
        dir.path(),
        &unique("syncup").replace('-', "_"),
        "2.0",
        10_000,
        11,
    );
    let sha = sha256_file(&path);
    assert!(c.package_by_sha256(&sha).await.unwrap().is_none());
    let first = c
        .upload_package_sync(&path, Arc::new(pulp_client::NoProgress))
        .await
        .unwrap();
    assert_eq!(first.sha256, sha);
    let again = c
        .upload_package_sync(&path, Arc::new(pulp_client::NoProgress))
        .await
        .unwrap();
    assert_eq!(again.pulp_href, first.pulp_href);
    let found = c.package_by_sha256(&sha).await.unwrap().unwrap();
    assert_eq!(found.pulp_href, first.pulp_href);
    // Batched lookup: only the known digest comes back.
    let batch = c
        .packages_by_sha256(&[sha.clone(), "0".repeat(64), "1".repeat(64)])
        .await
        .unwrap();
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].pulp_href, first.pulp_href);
    // Not a zip: Pulp answers with an error, surfaced with status and body.
    let bogus = dir.path().join("bogus-1.0-py3-none-any.whl");
    std::fs::write(&bogus, b"not a zip").unwrap();
    let err = c
        .upload_package_sync(&bogus, Arc::new(pulp_client::NoProgress))
        .await
        .unwrap_err();
    assert!(err.status().is_some(), "{err:?}");
}

pub async fn guards_and_remotes(p: &LocalPulp) {
    let c = &p.client;
    let ca = include_str!("test-ca.pem");
    let name = unique("t-guard");
    let g = c
        .create_cert_guard(GuardKind::X509, &name, ca)
        .await
        .unwrap();
    let found = c
        .guard_by_name(GuardKind::X509, &name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.pulp_href, g.pulp_href);
    let comp = c
        .create_composite_guard(&unique("t-comp"), std::slice::from_ref(&g.pulp_href))
        .await
        .unwrap();
    assert_eq!(
        comp.guards.as_deref(),
        Some(std::slice::from_ref(&g.pulp_href))
    );
    c.delete_guard(&comp.pulp_href).await.unwrap();
    c.delete_guard(&g.pulp_href).await.unwrap();
    assert!(c.guard(&g.pulp_href).await.unwrap_err().is_not_found());

    let rname = unique("t-remote");
    let r = c
        .create_remote(&NewRemote {
            name: rname.clone(),
            url: "https://pypi.org/".into(),
            policy: Some("on_demand".into()),
            includes: vec!["shelf-reader".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        c.remote_by_name(&rname).await.unwrap().unwrap().pulp_href,
        r.pulp_href
    );
    c.delete_remote(&r.pulp_href, &wait()).await.unwrap();
}

/// The real Pulp accepts the session for every method (its CSRF and origin checks pass, so
/// nothing falls back to the slow per-request password check), and logout ends it.
pub async fn session_covers_every_method_then_logout(p: &LocalPulp) {
    let c = PulpClient::new(p.config.clone()).unwrap();
    assert_eq!(
        c.session_mode(),
        SessionMode::Off,
        "no login before a request"
    );
    let repo = new_repo(&c, "session").await; // POST
    assert_eq!(c.session_mode(), SessionMode::All);
    c.update_repository(
        &repo.pulp_href,
        &RepositoryFields {
            description: Some("via session".into()),
            ..Default::default()
        },
        &wait(),
    )
    .await
    .unwrap(); // PATCH
    c.set_label(repo.pulp_href.as_str(), "k", "v")
        .await
        .unwrap(); // POST
    c.delete_repository(&repo.pulp_href, &wait()).await.unwrap(); // DELETE
    assert_eq!(
        c.session_mode(),
        SessionMode::All,
        "POST, PATCH and DELETE passed the CSRF check; no fallback to basic auth"
    );
    c.logout().await.unwrap();
    assert_eq!(c.session_mode(), SessionMode::Off);
    // Later requests authenticate with the password again.
    assert!(c.repository_by_name(&repo.name).await.unwrap().is_none());
}
