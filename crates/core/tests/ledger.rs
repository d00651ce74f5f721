//! Reading the ledger through the cache against the real local Pulp: cold and warm reads give
//! what the whole listing gives after every append, whoever appended; the warm read does come
//! from the kept state and the change since; a corrupt state file is a miss; a kept state
//! whose version was deleted (retention), or that the change does not fit, is answered by the
//! whole listing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use pulp_client::{PulpClient, RepositoryVersionHref};
use wheelgate_core::cache::Cache;
use wheelgate_core::ledger::{encode_path, Event, EventKind, Ledger, Outcome};
use wheelgate_testkit::{both_layouts, LocalPulp};

mod common;
use common::init_release;

/// A vet event of variant `cpu` at second `n` of a fixed minute (distinct times, ordered).
fn event(n: u64) -> Event {
    Event {
        kind: EventKind::Vet,
        time: format!("2026-01-01T00:{:02}:{:02}.000Z", n / 60, n % 60),
        actor: "tester@ledger".into(),
        release: "1.0".into(),
        variant: "cpu".into(),
        from_version: None,
        to_version: n,
        digest: None,
        version_href: None,
        reason: None,
        outcome: Outcome::Ok,
        detail: None,
    }
}

async fn append(ledger: &Ledger, numbers: std::ops::Range<u64>) {
    for n in numbers {
        ledger.append(&event(n), &Default::default()).await.unwrap();
    }
}

/// The `to_version` of every event, oldest first: through `cache`, or listed whole.
async fn read(ledger: &Ledger, cache: Option<&Cache>) -> Vec<u64> {
    ledger
        .events(cache)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.to_version)
        .collect()
}

async fn latest(c: &PulpClient, ledger: &Ledger) -> RepositoryVersionHref {
    c.file_repository(&ledger.repository().pulp_href)
        .await
        .unwrap()
        .latest_version_href
        .unwrap()
}

/// The cache's ledger state files.
fn states(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir.join("ledgers-v1")) else {
        return Vec::new();
    };
    rd.map(|e| e.unwrap().path()).collect()
}

/// The one ledger state file of `dir`, as JSON.
fn state(dir: &Path) -> (PathBuf, serde_json::Value) {
    let files = states(dir);
    assert_eq!(files.len(), 1, "{files:?}");
    let v = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    (files[0].clone(), v)
}

/// Edit the kept state in place: a file Pulp never had, holding an event of `to_version`
/// `n` (what only a read from the kept state can show), and the version it claims.
fn tamper(dir: &Path, n: u64, version: Option<&RepositoryVersionHref>) {
    let (path, mut v) = state(dir);
    let fake = serde_json::json!({
        "pulp_href": "/pulp/api/v3/content/file/files/00000000-0000-0000-0000-000000000000/",
        "relative_path": encode_path(&event(n), "fake").unwrap(),
    });
    v["state"]["files"].as_array_mut().unwrap().push(fake);
    if let Some(version) = version {
        v["state"]["version"] = serde_json::json!(version);
    }
    std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
}

async fn cold_and_warm_reads_match_the_listing(layout: &'static str) {
    let c = LocalPulp::new(layout).client;
    let catalog = init_release(&c, "lg", &["cpu"]).await;
    let ledger = Ledger::open(&c, &catalog, "1.0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path());
    // An empty ledger: nothing to read, nothing kept.
    assert!(read(&ledger, Some(&cache)).await.is_empty());

    append(&ledger, 1..4).await;
    let whole = read(&ledger, None).await;
    assert_eq!(whole, vec![1, 2, 3]);
    assert_eq!(read(&ledger, Some(&cache)).await, whole, "cold");
    let (_, kept) = state(dir.path());
    assert_eq!(
        kept["state"]["version"],
        serde_json::json!(latest(&c, &ledger).await)
    );
    assert_eq!(
        read(&ledger, Some(&cache)).await,
        whole,
        "warm, same version"
    );

    // Appends, one and several at a time: each warm read is the whole listing.
    for (from, to) in [(4, 5), (5, 8)] {
        append(&ledger, from..to).await;
        let whole = read(&ledger, None).await;
        assert_eq!(whole, (1..to).collect::<Vec<_>>());
        assert_eq!(
            read(&ledger, Some(&cache)).await,
            whole,
            "warm after {from}..{to}"
        );
        let (_, kept) = state(dir.path());
        assert_eq!(
            kept["state"]["version"],
            serde_json::json!(latest(&c, &ledger).await)
        );
    }

    // The warm read does come from the kept state plus the change since: a file only the
    // state has shows through, next to what was appended since.
    tamper(dir.path(), 900, None);
    append(&ledger, 8..9).await;
    assert_eq!(
        read(&ledger, Some(&cache)).await,
        vec![1, 2, 3, 4, 5, 6, 7, 8, 900]
    );
    assert_eq!(read(&ledger, None).await, (1..9).collect::<Vec<_>>());

    // Another machine (its own cache, or none) appends: this one's warm read sees it, and so
    // does the other's.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Cache::new(other_dir.path());
    assert_eq!(
        read(&ledger, Some(&other)).await,
        (1..9).collect::<Vec<_>>()
    );
    let elsewhere = Ledger::open(&c, &catalog, "1.0").await.unwrap();
    append(&elsewhere, 9..11).await;
    assert_eq!(
        read(&elsewhere, Some(&other)).await,
        (1..11).collect::<Vec<_>>()
    );
    append(&elsewhere, 11..12).await;
    let mut expected: Vec<u64> = (1..12).collect();
    expected.push(900);
    assert_eq!(
        read(&ledger, Some(&cache)).await,
        expected,
        "the tampered file stays"
    );

    // A corrupt state file is a miss: the whole listing, kept again.
    let (path, _) = state(dir.path());
    std::fs::write(&path, b"{\"format\": 1, \"state\": {\"server\"").unwrap();
    assert_eq!(
        read(&ledger, Some(&cache)).await,
        (1..12).collect::<Vec<_>>()
    );
    let (_, kept) = state(dir.path());
    assert_eq!(kept["format"], 1);
    assert_eq!(
        kept["state"]["version"],
        serde_json::json!(latest(&c, &ledger).await)
    );
    assert_eq!(
        read(&ledger, Some(&cache)).await,
        (1..12).collect::<Vec<_>>()
    );
}

async fn a_state_pulp_cannot_continue_is_listed_whole(layout: &'static str) {
    let c = LocalPulp::new(layout).client;
    let catalog = init_release(&c, "lh", &["cpu"]).await;
    let ledger = Ledger::open(&c, &catalog, "1.0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path());
    append(&ledger, 1..3).await;
    let first = latest(&c, &ledger).await;
    assert_eq!(read(&ledger, Some(&cache)).await, vec![1, 2]);
    // The kept state is marked (an event Pulp never had) so only a read from it shows it.
    tamper(dir.path(), 900, None);
    append(&ledger, 3..5).await;

    // The kept version is deleted (as retention would): Pulp refuses the change since it, and
    // the ledger is listed whole (the mark is gone) and kept at the latest version.
    c.delete_version(&first, &Default::default()).await.unwrap();
    assert_eq!(read(&ledger, Some(&cache)).await, vec![1, 2, 3, 4]);
    let (_, kept) = state(dir.path());
    assert_eq!(
        kept["state"]["version"],
        serde_json::json!(latest(&c, &ledger).await)
    );

    // A state claiming an older version than its files are of: the change since adds files
    // the state already has, which does not fit; the ledger is listed whole.
    let second = latest(&c, &ledger).await;
    append(&ledger, 5..6).await;
    let older = ledger
        .repository()
        .pulp_href
        .version(second.number().unwrap() - 1);
    tamper(dir.path(), 900, Some(&older));
    assert_eq!(read(&ledger, Some(&cache)).await, vec![1, 2, 3, 4, 5]);
    let (_, kept) = state(dir.path());
    assert_eq!(
        kept["state"]["version"],
        serde_json::json!(latest(&c, &ledger).await)
    );
    assert_eq!(read(&ledger, Some(&cache)).await, vec![1, 2, 3, 4, 5]);
}

both_layouts!(
    cold_and_warm_reads_match_the_listing,
    a_state_pulp_cannot_continue_is_listed_whole
);
