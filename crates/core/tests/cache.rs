//! The cache of version changes against the real local Pulp: reads through a cold and a warm
//! cache give what Pulp lists, a version that Pulp squashed (its predecessor deleted) is read
//! again instead of served from the stale entry, a corrupt entry is a miss, and a
//! whole-version read either replays cached changes or lists the version, filling nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pulp_client::{PulpClient, Repository};
use wheelgate_core::cache::Cache;
use wheelgate_core::{diff, state, Catalog};
use wheelgate_testkit::{both_layouts, LocalPulp};

mod common;
use common::{five_versions, init_release, up, wheels};

async fn repository(c: &PulpClient, catalog: &Catalog) -> Repository {
    c.repository_by_name(&catalog.names("1.0", "cpu").repository)
        .await
        .unwrap()
        .unwrap()
}

/// filename → (sha256, origin version), replayed (through `cache`, if any).
async fn replayed(
    c: &PulpClient,
    repo: &Repository,
    n: u64,
    cache: Option<&Cache>,
) -> BTreeMap<String, (String, u64)> {
    state::files_with_origins(c, repo, n, cache)
        .await
        .unwrap()
        .into_iter()
        .map(|(p, o)| (p.filename, (p.sha256, o.version)))
        .collect()
}

/// filename → sha256 as Pulp lists version `n`.
async fn listed(c: &PulpClient, repo: &Repository, n: u64) -> BTreeMap<String, String> {
    diff::version_files(c, &repo.pulp_href.version(n))
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.filename, f.sha256))
        .collect()
}

fn without_origins(m: &BTreeMap<String, (String, u64)>) -> BTreeMap<String, String> {
    m.iter().map(|(f, (s, _))| (f.clone(), s.clone())).collect()
}

/// The cache's entry files.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir.join("versions-v1")) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd.map(|e| e.unwrap().path()).collect();
    v.sort();
    v
}

/// Rename the first added unit whose file name starts with `prefix` in whichever entry holds
/// it, in place (a valid entry with other contents: what a cache hit would show).
fn tamper(dir: &Path, prefix: &str) {
    for path in entries(dir) {
        let mut e: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        if e["side"] != "added" {
            continue;
        }
        let Some(units) = e["units"].as_array_mut() else {
            continue;
        };
        if let Some(u) = units
            .iter_mut()
            .find(|u| u["filename"].as_str().unwrap().starts_with(prefix))
        {
            u["filename"] = "tampered-1.0-py3-none-any.whl".into();
            std::fs::write(&path, serde_json::to_vec(&e).unwrap()).unwrap();
            return;
        }
    }
    panic!("no cached unit {prefix}*");
}

async fn cold_and_warm_reads_match_the_listing(layout: &'static str) {
    let c = LocalPulp::new(layout).client;
    let catalog = init_release(&c, "k", &["cpu"]).await;
    let dir = tempfile::tempdir().unwrap();
    // Additions, a replacing build, a unit added again: common::five_versions.
    let [v1, v2, v3, v4, v5] = five_versions(&c, &catalog, dir.path()).await;
    let repo = repository(&c, &catalog).await;

    let cache_dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(cache_dir.path());
    // Cold: every version read from Pulp and kept; warm: read from the cache.
    let uncached = replayed(&c, &repo, v5, None).await;
    let cold = replayed(&c, &repo, v5, Some(&cache)).await;
    assert_eq!(cold, uncached, "cold cache, origins included");
    assert_eq!(without_origins(&cold), listed(&c, &repo, v5).await);
    // v1, v2, v4, v5 added (4), v3 added and removed (2).
    assert_eq!(entries(cache_dir.path()).len(), 6);
    let warm = replayed(&c, &repo, v5, Some(&cache)).await;
    assert_eq!(warm, uncached, "warm cache");
    for n in [v1, v2, v3, v4] {
        let r = replayed(&c, &repo, n, Some(&cache)).await;
        assert_eq!(
            without_origins(&r),
            listed(&c, &repo, n).await,
            "version {n}"
        );
        assert_eq!(r, replayed(&c, &repo, n, None).await, "version {n}");
    }
    assert_eq!(entries(cache_dir.path()).len(), 6, "nothing new to keep");

    // Whole-version reads: replayed from the warm cache, the same as the listing.
    for n in [v1, v3, v5] {
        let href = repo.pulp_href.version(n);
        assert_eq!(
            state::version_files(&c, Some(&cache), &href).await.unwrap(),
            diff::version_files(&c, &href).await.unwrap(),
            "version {n}"
        );
    }

    // The warm read does come from the cache: an entry edited on disk shows through.
    tamper(cache_dir.path(), "f");
    let shown = replayed(&c, &repo, v5, Some(&cache)).await;
    assert!(shown.contains_key("tampered-1.0-py3-none-any.whl"));
    let whole = state::version_files(&c, Some(&cache), &repo.pulp_href.version(v5))
        .await
        .unwrap();
    assert!(whole
        .iter()
        .any(|f| f.filename == "tampered-1.0-py3-none-any.whl"));

    // Corrupt entries are misses: read again from Pulp, and written again.
    for path in entries(cache_dir.path()) {
        std::fs::write(&path, b"{\"format\": 1, \"units\": [").unwrap();
    }
    assert_eq!(replayed(&c, &repo, v5, Some(&cache)).await, uncached);
    for path in entries(cache_dir.path()) {
        let e: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(e["format"], 1, "{}", path.display());
    }

    // A whole-version read with an empty cache lists the version (one listing costs Pulp
    // less than all the changes) and keeps nothing.
    let empty = tempfile::tempdir().unwrap();
    let href = repo.pulp_href.version(v5);
    assert_eq!(
        state::version_files(&c, Some(&Cache::new(empty.path())), &href)
            .await
            .unwrap(),
        diff::version_files(&c, &href).await.unwrap()
    );
    assert!(entries(empty.path()).is_empty());
}

/// The case the counts of a version's content summary cannot tell apart: v2 replaces U by V,
/// v3 replaces V by W. Deleting v2 squashes it into v3, which then removes U instead of V:
/// the same counts (1 added, 1 removed, 2 present), the same href and `pulp_created`. Only
/// the predecessor in the key (v1 now, v2 before) tells the entries apart.
async fn a_squashed_version_is_read_again(layout: &'static str) {
    let c = LocalPulp::new(layout).client;
    let catalog = init_release(&c, "q", &["cpu"]).await;
    let dir = tempfile::tempdir().unwrap();
    let x = wheels(dir.path(), &["x"]);
    let u = wheels(dir.path(), &["u"]);
    let v = wheels(dir.path(), &["v"]);
    let w = wheels(dir.path(), &["w"]);
    let v1 = up(&c, &catalog, [x.clone(), u].concat(), false).await;
    let v2 = up(&c, &catalog, [x.clone(), v].concat(), true).await;
    let v3 = up(&c, &catalog, [x, w].concat(), true).await;
    let repo = repository(&c, &catalog).await;
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(cache_dir.path());
    let before = replayed(&c, &repo, v3, Some(&cache)).await;
    assert_eq!(without_origins(&before), listed(&c, &repo, v3).await);
    let kept = entries(cache_dir.path()).len();
    assert_eq!(kept, 5, "v1 added, v2 and v3 added and removed");
    let counts = |v: &pulp_client::RepositoryVersion| {
        let s = &v.content_summary;
        let n = |m: &BTreeMap<String, pulp_client::ContentCount>| {
            m.get("python.python").map(|c| c.count).unwrap_or(0)
        };
        (n(&s.added), n(&s.removed), n(&s.present))
    };
    let v3_before = c
        .repository_version(&repo.pulp_href.version(v3))
        .await
        .unwrap();

    c.delete_version(&repo.pulp_href.version(v2), &Default::default())
        .await
        .unwrap();
    let v3_after = c
        .repository_version(&repo.pulp_href.version(v3))
        .await
        .unwrap();
    assert_eq!(
        counts(&v3_before),
        counts(&v3_after),
        "the squash keeps v3's counts"
    );
    assert_eq!(v3_before.pulp_created, v3_after.pulp_created);
    assert_ne!(
        listed(&c, &repo, v1).await,
        listed(&c, &repo, v3).await,
        "a real change"
    );

    let after = replayed(&c, &repo, v3, Some(&cache)).await;
    assert_eq!(without_origins(&after), listed(&c, &repo, v3).await);
    assert_eq!(after, replayed(&c, &repo, v3, None).await);
    // v3 was read again under its new key (two new entries), not served from the old one
    // and caught by the count check (which would rewrite the old entries: none new).
    assert_eq!(entries(cache_dir.path()).len(), kept + 2);
    assert_eq!(
        state::version_files(&c, Some(&cache), &repo.pulp_href.version(v3))
            .await
            .unwrap(),
        diff::version_files(&c, &repo.pulp_href.version(v3))
            .await
            .unwrap()
    );
}

both_layouts!(
    cold_and_warm_reads_match_the_listing,
    a_squashed_version_is_read_again
);
