//! What vet reads of a staging version against the real local Pulp: the files replayed from
//! every version's additions and removals ([`state::files_with_origins`]) are exactly the
//! version's files as Pulp lists them, after appending builds, a replacing build and a pruned
//! (squashed) version, and each keeps the version that first held it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use pulp_client::PulpClient;
use wheelgate_core::{diff, state, Catalog};
use wheelgate_testkit::LocalPulp;

mod common;
use common::{five_versions, init_release};

/// (filename → origin version) replayed, and the filenames Pulp lists for version `n`.
async fn both(c: &PulpClient, catalog: &Catalog, n: u64) -> (BTreeMap<String, u64>, Vec<String>) {
    let repo = c
        .repository_by_name(&catalog.names("1.0", "cpu").repository)
        .await
        .unwrap()
        .unwrap();
    let replayed: BTreeMap<String, u64> = state::files_with_origins(c, &repo, n, None)
        .await
        .unwrap()
        .into_iter()
        .map(|(p, o)| (p.filename, o.version))
        .collect();
    let listed: Vec<String> = diff::version_files(c, &repo.pulp_href.version(n))
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.filename)
        .collect();
    (replayed, listed)
}

async fn replay_matches_the_listing(layout: &str) {
    let c = LocalPulp::new(layout).client;
    let catalog = init_release(&c, "o", &["cpu"]).await;
    let dir = tempfile::tempdir().unwrap();
    // Additions, a replacing build, a unit added again: common::five_versions.
    let [v1, v2, v3, v4, v5] = five_versions(&c, &catalog, dir.path()).await;

    for n in [v1, v2, v3, v4, v5] {
        let (replayed, listed) = both(&c, &catalog, n).await;
        assert_eq!(
            replayed.keys().cloned().collect::<Vec<_>>(),
            listed,
            "version {n}"
        );
    }
    let origin_of = |m: &BTreeMap<String, u64>, prefix: &str| {
        m.iter()
            .find(|(f, _)| f.starts_with(prefix))
            .map(|(_, v)| *v)
    };
    let (at5, _) = both(&c, &catalog, v5).await;
    assert_eq!(origin_of(&at5, "a"), Some(v1));
    assert_eq!(
        origin_of(&at5, "d"),
        Some(v2),
        "a unit added again keeps its first version"
    );
    assert_eq!(origin_of(&at5, "e"), Some(v3));
    assert_eq!(origin_of(&at5, "c"), None);

    // Pruning v3 squashes its changes into v4: the replay still gives every version's files.
    let repo = c
        .repository_by_name(&catalog.names("1.0", "cpu").repository)
        .await
        .unwrap()
        .unwrap();
    c.delete_version(&repo.pulp_href.version(v3), &Default::default())
        .await
        .unwrap();
    for n in [v2, v4, v5] {
        let (replayed, listed) = both(&c, &catalog, n).await;
        assert_eq!(
            replayed.keys().cloned().collect::<Vec<_>>(),
            listed,
            "version {n} after pruning version {v3}"
        );
    }
    let (at5, _) = both(&c, &catalog, v5).await;
    assert_eq!(
        origin_of(&at5, "e"),
        Some(v4),
        "e moves on to the next kept version"
    );
}

#[tokio::test]
async fn replay_matches_the_listing_plain() {
    replay_matches_the_listing("plain").await;
}

#[tokio::test]
async fn replay_matches_the_listing_hosted() {
    replay_matches_the_listing("hosted").await;
}
