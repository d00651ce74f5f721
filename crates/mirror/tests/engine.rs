//! The engine against wiremock stub indexes (what a real Pulp cannot be made to serve: wrong
//! hashes, unsafe names); the real-Pulp proof is in the workspace's tests/mirror.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use url::Url;
use wheelgate_index::{IndexClient, IndexConfig};
use wheelgate_mirror::{
    mirror, Manifest, MirrorError, MirrorOptions, MirrorSummary, Reporter, VariantSource, LOCK_FILE,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Serve a variant `v` with `files` (project, filename, bytes, advertised sha256) as HTML.
async fn serve(server: &MockServer, v: &str, files: &[(&str, &str, &[u8], Option<String>)]) {
    let mut projects: Vec<&str> = files.iter().map(|f| f.0).collect();
    projects.dedup();
    let root: String = projects
        .iter()
        .map(|p| format!("<a href=\"{p}/\">{p}</a>"))
        .collect();
    Mock::given(method("GET"))
        .and(path(format!("/{v}/simple/")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(root, "text/html"))
        .mount(server)
        .await;
    for p in projects {
        let links: String = files
            .iter()
            .filter(|f| f.0 == p)
            .map(|(_, name, bytes, adv)| {
                let h = adv.clone().unwrap_or_else(|| sha(bytes));
                format!(
                    "<a href=\"/files/{}#sha256={h}\">{name}</a>\n",
                    name.replace("../", "up-")
                )
            })
            .collect();
        Mock::given(method("GET"))
            .and(path(format!("/{v}/simple/{p}/")))
            .respond_with(ResponseTemplate::new(200).set_body_raw(links, "text/html"))
            .mount(server)
            .await;
    }
    for (_, name, bytes, _) in files {
        Mock::given(method("GET"))
            .and(path(format!("/files/{}", name.replace("../", "up-"))))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(bytes.to_vec()))
            .mount(server)
            .await;
    }
}

fn opts(server: &MockServer, dest: &Path, variants: &[&str]) -> MirrorOptions {
    MirrorOptions {
        dest: dest.to_owned(),
        root: vec!["prod".into(), "3.0".into()],
        variants: variants
            .iter()
            .map(|v| VariantSource {
                name: (*v).into(),
                index_url: Url::parse(&format!("{}/{v}/simple/", server.uri())).unwrap(),
            })
            .collect(),
        jobs: 4,
        delete: false,
    }
}

/// One mirror run with the test client, reporting nothing.
async fn run(o: &MirrorOptions) -> Result<MirrorSummary, MirrorError> {
    mirror(&client(), o, &wheelgate_mirror::NoReporter).await
}

fn client() -> IndexClient {
    let mut c = IndexConfig::default();
    c.retry.max_elapsed = std::time::Duration::from_millis(200);
    IndexClient::new(c).unwrap()
}

#[derive(Default)]
struct Count(AtomicU64);

impl Reporter for Count {
    fn on_file(&self, _: &str, _: u64, downloaded: bool) {
        if downloaded {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn all_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn shared_files_are_stored_once_and_a_second_run_fetches_nothing() {
    let server = MockServer::start().await;
    let shared: &[u8] = b"shared wheel";
    serve(
        &server,
        "cpu",
        &[
            ("a", "a-1.0-py3-none-any.whl", shared, None),
            ("b", "b-1.0-py3-none-any.whl", b"b cpu", None),
        ],
    )
    .await;
    serve(
        &server,
        "gpu",
        &[
            ("a", "a-1.0-py3-none-any.whl", shared, None),
            ("c", "c-1.0-py3-none-any.whl", b"c gpu", None),
        ],
    )
    .await;
    let dest = tempfile::tempdir().unwrap();
    let o = opts(&server, dest.path(), &["cpu", "gpu"]);
    let count = Count::default();
    let s = mirror(&client(), &o, &count).await.unwrap();
    assert_eq!((s.files, s.downloaded, s.skipped), (3, 3, 0));
    assert_eq!(count.0.load(Ordering::Relaxed), 3);
    assert_eq!(s.bytes_downloaded, (shared.len() + 5 + 5) as u64);
    let root = dest.path().join("prod/3.0");
    let stored = root.join(format!("files/{}/a-1.0-py3-none-any.whl", sha(shared)));
    assert_eq!(std::fs::read(&stored).unwrap(), shared);
    // Both variants' pages link the one stored copy.
    for v in ["cpu", "gpu"] {
        let page = std::fs::read_to_string(root.join(v).join("simple/a/index.html")).unwrap();
        assert!(
            page.contains(&format!(
                "href=\"../../../files/{}/a-1.0-py3-none-any.whl#sha256={}\"",
                sha(shared),
                sha(shared)
            )),
            "{page}"
        );
        assert!(root.join(v).join("simple").is_symlink());
        assert!(root.join(v).join("simple/index.json").is_file());
    }
    let m = Manifest::load(&root.join("manifest.json")).unwrap();
    assert_eq!(m.variants["cpu"].files.len(), 2);
    assert_eq!(
        m.variants["gpu"].files[1].filename,
        "c-1.0-py3-none-any.whl"
    );

    let again = run(&o).await.unwrap();
    assert_eq!(
        (
            again.files,
            again.downloaded,
            again.skipped,
            again.bytes_downloaded
        ),
        (3, 0, 3, 0)
    );
    // One generation of pages per variant after the switch.
    let gens = std::fs::read_dir(root.join("cpu")).unwrap().count();
    assert_eq!(gens, 2, "simple + one .simple.<generation>");
}

#[tokio::test]
async fn a_sha256_mismatch_is_an_error_and_nothing_of_the_file_is_kept() {
    let server = MockServer::start().await;
    serve(
        &server,
        "cpu",
        &[(
            "a",
            "a-1.0-py3-none-any.whl",
            b"real bytes",
            Some(sha(b"other bytes")),
        )],
    )
    .await;
    let dest = tempfile::tempdir().unwrap();
    let e = run(&opts(&server, dest.path(), &["cpu"]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e.index_error(),
            Some(wheelgate_index::IndexError::HashMismatch { .. })
        ) && matches!(e, MirrorError::Download { .. }),
        "{e:?}"
    );
    // Only the store's lock file, which stays (an flock is released with the process).
    let left = all_files(dest.path());
    assert_eq!(
        left,
        [format!("prod/3.0/{LOCK_FILE}")],
        "left behind: {left:?}"
    );
    assert!(!dest.path().join("prod/3.0/cpu/simple").exists());
}

#[tokio::test]
async fn an_unsafe_name_is_refused_and_nothing_is_written_outside_dest() {
    let server = MockServer::start().await;
    serve(&server, "cpu", &[("a", "../evil.whl", b"evil", None)]).await;
    let outer = tempfile::tempdir().unwrap();
    let dest = outer.path().join("dest");
    std::fs::create_dir(&dest).unwrap();
    let e = run(&opts(&server, &dest, &["cpu"])).await.unwrap_err();
    assert!(
        matches!(&e, MirrorError::UnsafeName { name, .. } if name == "../evil.whl"),
        "{e:?}"
    );
    assert!(e.hint().is_some());
    assert_eq!(
        all_files(outer.path()),
        [format!("dest/prod/3.0/{LOCK_FILE}")]
    );
    assert!(!dest.join("prod/3.0/cpu/simple").exists());
}

#[tokio::test]
async fn delete_removes_only_files_no_variant_lists() {
    let server = MockServer::start().await;
    serve(
        &server,
        "cpu",
        &[("a", "a-1.0-py3-none-any.whl", b"a1", None)],
    )
    .await;
    let dest = tempfile::tempdir().unwrap();
    let o = opts(&server, dest.path(), &["cpu"]);
    run(&o).await.unwrap();
    // The index moves on: a-1.0 is gone, a-2.0 is new.
    server.reset().await;
    serve(
        &server,
        "cpu",
        &[("a", "a-2.0-py3-none-any.whl", b"a2", None)],
    )
    .await;
    let s = run(&o).await.unwrap();
    assert_eq!((s.downloaded, s.deleted), (1, 0));
    let old = dest.path().join(format!(
        "prod/3.0/files/{}/a-1.0-py3-none-any.whl",
        sha(b"a1")
    ));
    assert!(old.exists(), "never deleted without --delete");
    let page =
        std::fs::read_to_string(dest.path().join("prod/3.0/cpu/simple/a/index.html")).unwrap();
    assert!(!page.contains("a-1.0") && page.contains("a-2.0"), "{page}");
    let s = run(&MirrorOptions { delete: true, ..o }).await.unwrap();
    assert_eq!((s.downloaded, s.deleted), (0, 1));
    assert!(!old.exists() && !old.parent().unwrap().exists());
}

#[tokio::test]
async fn leftover_partial_downloads_are_discarded_and_a_corrupt_stored_file_is_fetched_again() {
    let server = MockServer::start().await;
    serve(
        &server,
        "cpu",
        &[("a", "a-1.0-py3-none-any.whl", b"good", None)],
    )
    .await;
    let dest = tempfile::tempdir().unwrap();
    let dir = dest.path().join(format!("prod/3.0/files/{}", sha(b"good")));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(".a-1.0-py3-none-any.whl.999.0.part"), b"go").unwrap();
    std::fs::write(dir.join("a-1.0-py3-none-any.whl"), b"bad!").unwrap();
    let s = run(&opts(&server, dest.path(), &["cpu"])).await.unwrap();
    assert_eq!(s.downloaded, 1);
    assert_eq!(
        std::fs::read(dir.join("a-1.0-py3-none-any.whl")).unwrap(),
        b"good"
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[test]
fn unsafe_directory_names_in_the_options_are_refused() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dest = tempfile::tempdir().unwrap();
    for (root, variant) in [
        (vec!["..".to_string()], "cpu"),
        (vec!["p".into()], "a/b"),
        (vec!["p".into()], "files"),
    ] {
        let o = MirrorOptions {
            dest: dest.path().to_owned(),
            root,
            variants: vec![VariantSource {
                name: variant.into(),
                index_url: Url::parse("http://127.0.0.1:9/simple/").unwrap(),
            }],
            jobs: 1,
            delete: false,
        };
        let e = rt.block_on(run(&o)).unwrap_err();
        assert!(e.is_bad_input(), "{e:?}");
    }
    assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);
}

/// A variant `cpu` whose pages carry ETags, as Pulp's do: the root `"v1"` (304 to
/// `If-None-Match: "v1"` or `W/"v1"`), project `a`'s page `page_etags` in turn (the last one
/// from then on).
async fn serve_with_etags(server: &MockServer, bytes: &[u8], page_etags: &[&str]) {
    use wiremock::matchers::header;
    for inm in ["\"v1\"", "W/\"v1\""] {
        Mock::given(method("GET"))
            .and(path("/cpu/simple/"))
            .and(header("If-None-Match", inm))
            .respond_with(ResponseTemplate::new(304).insert_header("ETag", "\"v1\""))
            .mount(server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/cpu/simple/"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("ETag", "W/\"v1\"")
                .set_body_raw("<a href=\"a/\">a</a>", "text/html"),
        )
        .mount(server)
        .await;
    let link = format!(
        "<a href=\"/files/a-1.0-py3-none-any.whl#sha256={}\">a-1.0-py3-none-any.whl</a>",
        sha(bytes)
    );
    for (i, e) in page_etags.iter().enumerate() {
        let m = Mock::given(method("GET"))
            .and(path("/cpu/simple/a/"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("ETag", *e)
                    .set_body_raw(link.clone(), "text/html"),
            );
        let m = if i + 1 < page_etags.len() {
            m.up_to_n_times(1)
        } else {
            m
        };
        m.mount(server).await;
    }
    Mock::given(method("GET"))
        .and(path("/files/a-1.0-py3-none-any.whl"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(bytes.to_vec()))
        .mount(server)
        .await;
}

async fn requests(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect()
}

#[tokio::test]
async fn an_unchanged_etag_skips_the_variant_with_one_request_and_nothing_rewritten() {
    let server = MockServer::start().await;
    serve_with_etags(&server, b"a wheel", &["\"v1\""]).await;
    let dest = tempfile::tempdir().unwrap();
    let o = opts(&server, dest.path(), &["cpu"]);
    let s = run(&o).await.unwrap();
    assert_eq!((s.files, s.downloaded), (1, 1));
    let root = dest.path().join("prod/3.0");
    let m = Manifest::load(&root.join("manifest.json")).unwrap();
    assert_eq!(m.variants["cpu"].etag.as_deref(), Some("W/\"v1\""));
    assert_eq!(m.variants["cpu"].projects, 1);
    assert!(m.variants["cpu"].files[0].mtime_ns.is_some());
    let generation = std::fs::read_link(root.join("cpu/simple")).unwrap();
    let manifest_time = std::fs::metadata(root.join("manifest.json"))
        .unwrap()
        .modified()
        .unwrap();

    server.reset().await;
    serve_with_etags(&server, b"a wheel", &["\"v1\""]).await;
    let again = run(&o).await.unwrap();
    assert_eq!(requests(&server).await, ["/cpu/simple/"], "one request");
    assert_eq!(
        (
            again.files,
            again.downloaded,
            again.skipped,
            again.bytes_downloaded
        ),
        (1, 0, 1, 0)
    );
    assert_eq!(again.variants[0].projects, 1);
    assert_eq!(again.variants[0].files, 1);
    assert_eq!(
        std::fs::read_link(root.join("cpu/simple")).unwrap(),
        generation,
        "not switched"
    );
    assert_eq!(
        std::fs::metadata(root.join("manifest.json"))
            .unwrap()
            .modified()
            .unwrap(),
        manifest_time,
        "manifest not rewritten"
    );

    // A stored file that is not what the manifest recorded: the variant is read in full and the
    // file fetched again.
    let stored = root.join(format!("files/{}/a-1.0-py3-none-any.whl", sha(b"a wheel")));
    std::fs::write(&stored, b"a wheeL!").unwrap();
    server.reset().await;
    serve_with_etags(&server, b"a wheel", &["\"v1\""]).await;
    let s = run(&o).await.unwrap();
    assert_eq!(s.downloaded, 1);
    assert_eq!(std::fs::read(&stored).unwrap(), b"a wheel");
    assert!(requests(&server)
        .await
        .contains(&"/cpu/simple/a/".to_owned()));
}

#[tokio::test]
async fn a_page_of_another_version_makes_the_variant_read_again() {
    let server = MockServer::start().await;
    // The first read of the page comes from another repository version.
    serve_with_etags(&server, b"a wheel", &["\"v0\"", "\"v1\""]).await;
    let dest = tempfile::tempdir().unwrap();
    let o = opts(&server, dest.path(), &["cpu"]);
    let s = run(&o).await.unwrap();
    assert_eq!((s.files, s.downloaded), (1, 1));
    let reqs = requests(&server).await;
    assert_eq!(
        reqs.iter().filter(|p| *p == "/cpu/simple/").count(),
        2,
        "{reqs:?}"
    );
    assert_eq!(
        reqs.iter().filter(|p| p.ends_with(".whl")).count(),
        1,
        "the file is fetched once: {reqs:?}"
    );

    // It never settles: nothing is switched, the run fails clearly.
    let server = MockServer::start().await;
    serve_with_etags(&server, b"a wheel", &["\"v2\""]).await;
    let dest = tempfile::tempdir().unwrap();
    let o = opts(&server, dest.path(), &["cpu"]);
    let e = run(&o).await.unwrap_err();
    assert!(
        matches!(&e, MirrorError::Inconsistent { variant, attempts: 3 } if variant == "cpu"),
        "{e:?}"
    );
    assert!(!dest.path().join("prod/3.0/cpu/simple").exists());
    assert!(!dest.path().join("prod/3.0/manifest.json").exists());
}

/// Serve variant `cpu` with one real wheel whose page advertises `advertised` as the sha256 of
/// its PEP 658 metadata file, which the server answers with `served`.
async fn serve_wheel_with_metadata(
    server: &MockServer,
    wheel: &[u8],
    filename: &str,
    advertised: &str,
    served: &[u8],
) {
    Mock::given(method("GET"))
        .and(path("/cpu/simple/"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<a href=\"a/\">a</a>", "text/html"))
        .mount(server)
        .await;
    let link = format!(
        "<a href=\"/files/{filename}#sha256={}\" data-dist-info-metadata=\"sha256={advertised}\" data-core-metadata=\"sha256={advertised}\">{filename}</a>",
        sha(wheel)
    );
    Mock::given(method("GET"))
        .and(path("/cpu/simple/a/"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(link, "text/html"))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/files/{filename}")))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(wheel.to_vec()))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/files/{filename}.metadata")))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(served.to_vec()))
        .mount(server)
        .await;
}

#[tokio::test]
async fn pep_658_metadata_comes_from_the_verified_wheel_when_its_hash_is_the_advertised_one() {
    let gen = tempfile::tempdir().unwrap();
    let wheel_path = wheelgate_fixtures::write_wheel(
        &wheelgate_fixtures::WheelSpec::new("a", "1.0"),
        gen.path(),
    )
    .unwrap();
    let filename = wheel_path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let wheel = std::fs::read(&wheel_path).unwrap();
    let metadata = wheelgate_wheel::core_metadata(&wheel_path)
        .unwrap()
        .unwrap();

    // The advertised hash is the wheel's METADATA: no request for the metadata file.
    let server = MockServer::start().await;
    serve_wheel_with_metadata(&server, &wheel, &filename, &sha(&metadata), b"unused").await;
    let dest = tempfile::tempdir().unwrap();
    let s = run(&opts(&server, dest.path(), &["cpu"])).await.unwrap();
    assert_eq!(s.bytes_downloaded, wheel.len() as u64, "the wheel only");
    let reqs = requests(&server).await;
    assert!(!reqs.iter().any(|p| p.ends_with(".metadata")), "{reqs:?}");
    let root = dest.path().join("prod/3.0");
    let stored = root.join(format!("files/{}/{filename}.metadata", sha(&wheel)));
    assert_eq!(std::fs::read(&stored).unwrap(), metadata);
    let page = std::fs::read_to_string(root.join("cpu/simple/a/index.html")).unwrap();
    assert!(
        page.contains(&format!("data-core-metadata=\"sha256={}\"", sha(&metadata))),
        "{page}"
    );

    // Another advertised hash: the metadata file is fetched and must match it.
    let server = MockServer::start().await;
    let other = b"Metadata-Version: 2.1\nName: a\nVersion: 1.0\n";
    serve_wheel_with_metadata(&server, &wheel, &filename, &sha(other), other).await;
    let dest = tempfile::tempdir().unwrap();
    let s = run(&opts(&server, dest.path(), &["cpu"])).await.unwrap();
    assert_eq!(s.bytes_downloaded, (wheel.len() + other.len()) as u64);
    let stored = dest.path().join(format!(
        "prod/3.0/files/{}/{filename}.metadata",
        sha(&wheel)
    ));
    assert_eq!(std::fs::read(&stored).unwrap(), other);

    // A wrong advertised hash (neither the wheel's METADATA nor the served file): an error
    // naming the metadata file, nothing switched.
    let server = MockServer::start().await;
    serve_wheel_with_metadata(&server, &wheel, &filename, &sha(b"wrong"), other).await;
    let dest = tempfile::tempdir().unwrap();
    let e = run(&opts(&server, dest.path(), &["cpu"]))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, MirrorError::Download { filename: f, .. } if *f == format!("{filename}.metadata"))
            && matches!(
                e.index_error(),
                Some(wheelgate_index::IndexError::HashMismatch { .. })
            ),
        "{e:?}"
    );
    assert!(!dest.path().join("prod/3.0/cpu/simple").exists());
}
