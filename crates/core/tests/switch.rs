//! Production switches against the real local Pulp: a distribution that disappears between
//! planning and applying makes every switch roll back; the customer-path verification notices
//! an index that does not serve exactly the expected files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use pulp_client::{PulpClient, Serves};
use wheelgate_core::ledger::{Event, EventKind, Ledger, Outcome};
use wheelgate_core::{diff, promote, upload, Catalog, Error};
use wheelgate_testkit::{unique_id, LocalPulp};

mod common;
use common::init_release;

fn client(layout: &str) -> PulpClient {
    LocalPulp::new(layout).client
}

async fn revert_when_the_last_switch_fails(layout: &str) {
    let c = client(layout);
    let id = unique_id();
    let dir = tempfile::tempdir().unwrap();
    let catalog = init_release(&c, "s", &["a", "b", "c"]).await;
    let ledger = Ledger::open(&c, &catalog, "1.0").await.unwrap();
    for v in ["a", "b", "c"] {
        let spec = wheelgate_fixtures::WheelSpec {
            seed: 1,
            payload_bytes: 100,
            ..wheelgate_fixtures::WheelSpec::new(format!("p{id}-{v}"), "1.0")
        };
        let path = wheelgate_fixtures::write_wheel(&spec, dir.path()).unwrap();
        let opts = upload::UploadOptions::new(&catalog, "1.0", v, vec![path]);
        let r = upload::upload(&c, &catalog, &opts, Arc::new(upload::Silent))
            .await
            .unwrap();
        assert_eq!(r.version, Some(1));
        // Mark version 1 vetted, unbound: promote reads it whole to compare the digest.
        record_vetted(&c, &catalog, &ledger, v, 1, Bound::No).await;
    }
    let plan = promote::plan_promote(
        &c,
        &catalog,
        &promote::PromoteOptions {
            release: "1.0".into(),
            variants: vec![],
            version: None,
            expect_current: None,
            diff: Default::default(),
            cache: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(plan.switches.len(), 3);
    // Between plan and apply, the third production distribution is deleted.
    let third = c
        .distribution_by_name(&catalog.names("1.0", "c").production_distribution)
        .await
        .unwrap()
        .unwrap();
    c.delete_distribution(&third.pulp_href, &Default::default())
        .await
        .unwrap();
    let opts = promote::ApplyOptions {
        actor: "test".into(),
        reason: Some("all or nothing".into()),
        wait: Default::default(),
        verify_timeout: std::time::Duration::from_secs(5),
        verify: promote::VerifyScope::Full,
        customer: anonymous_index(),
        cache: None,
    };
    let err = promote::apply(&c, &catalog, &plan, &opts)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Switch(_)), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("switching c to version 1 failed"), "{msg}");
    assert!(msg.contains("switched back: b, a"), "{msg}");
    for v in ["a", "b"] {
        let d = c
            .distribution_by_name(&catalog.names("1.0", v).production_distribution)
            .await
            .unwrap()
            .unwrap();
        let repo = c
            .repository_by_name(&catalog.names("1.0", v).repository)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            d.serves(),
            Serves::Version(repo.pulp_href.version(0)),
            "{v} serves what it served before"
        );
    }
    let events = ledger.events(None).await.unwrap();
    let outcomes: Vec<(String, Outcome)> = events
        .iter()
        .filter(|e| e.kind == EventKind::Promote)
        .map(|e| (e.variant.clone(), e.outcome))
        .collect();
    assert!(
        outcomes.contains(&("c".into(), Outcome::Failed)),
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&("a".into(), Outcome::Reverted)),
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&("b".into(), Outcome::Reverted)),
        "{outcomes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_revert_when_the_last_switch_fails() {
    revert_when_the_last_switch_fails("plain").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosted_revert_when_the_last_switch_fails() {
    revert_when_the_last_switch_fails("hosted").await;
}

/// Upload wheels for `(project, version)` pairs as one new staging version of variant `a`.
async fn upload_build(
    c: &PulpClient,
    catalog: &Catalog,
    wheels: &[(String, &str)],
    seed: u64,
) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let paths = wheels
        .iter()
        .map(|(name, version)| {
            let spec = wheelgate_fixtures::WheelSpec {
                seed,
                payload_bytes: 64,
                ..wheelgate_fixtures::WheelSpec::new(name.clone(), *version)
            };
            wheelgate_fixtures::write_wheel(&spec, dir.path()).unwrap()
        })
        .collect();
    let opts = upload::UploadOptions::new(catalog, "1.0", "a", paths);
    let r = upload::upload(c, catalog, &opts, Arc::new(upload::Silent))
        .await
        .unwrap();
    r.version.unwrap()
}

/// Two builds of variant `a` as versions 1 and 2: the staging repository and the files of
/// each version.
async fn two_builds(
    c: &PulpClient,
    catalog: &Catalog,
    build1: &[(String, &str)],
    build2: &[(String, &str)],
) -> (
    pulp_client::Repository,
    Vec<diff::FileEntry>,
    Vec<diff::FileEntry>,
) {
    assert_eq!(upload_build(c, catalog, build1, 1).await, 1);
    assert_eq!(upload_build(c, catalog, build2, 2).await, 2);
    let repo = c
        .repository_by_name(&catalog.names("1.0", "a").repository)
        .await
        .unwrap()
        .unwrap();
    let v1 = diff::version_files(c, &repo.pulp_href.version(1))
        .await
        .unwrap();
    let v2 = diff::version_files(c, &repo.pulp_href.version(2))
        .await
        .unwrap();
    (repo, v1, v2)
}

/// The index read anonymously at Pulp's own base_url (the local Pulp has no TLS front here).
fn anonymous_index() -> wheelgate_core::customer::CustomerIndex {
    wheelgate_core::customer::CustomerAccess {
        index_host: None,
        tls: Default::default(),
        source: wheelgate_core::customer::CustomerSource::PulpConnection,
    }
    .connect(std::time::Duration::from_secs(5))
    .unwrap()
}

async fn verification_sees_what_customers_see(layout: &str) {
    use std::time::Duration;
    use wheelgate_core::promote::{pages_to_verify, VerifyScope};
    use wheelgate_core::verify::verify_index;

    let c = client(layout);
    let id = unique_id();
    let catalog = init_release(&c, "v", &["a"]).await;
    // Build 1: twelve projects. Build 2 adds a new version of one and a new project.
    let build1: Vec<(String, &str)> = (0..12).map(|i| (format!("q{id}-{i:02}"), "1.0")).collect();
    let build2 = vec![(format!("q{id}-03"), "2.0"), (format!("q{id}-new"), "1.0")];
    let (repo, v1, v2) = two_builds(&c, &catalog, &build1, &build2).await;
    let names = catalog.names("1.0", "a");
    let dist = c
        .distribution_by_name(&names.production_distribution)
        .await
        .unwrap()
        .unwrap();
    c.serve(
        &dist.pulp_href,
        &Serves::Version(repo.pulp_href.version(1)),
        &Default::default(),
    )
    .await
    .unwrap();
    let index = format!("{}/simple/", dist.base_url.unwrap().trim_end_matches('/'));
    let quick = Duration::from_millis(600);
    let ic = anonymous_index().client;

    // Production serves version 1: verifying it as version 1 passes, in both scopes.
    let back = diff::diff(&v2, &v1);
    let pages = pages_to_verify(VerifyScope::Changed, &v1, &back).unwrap();
    assert!(pages.contains(&format!("q{id}-03")) && pages.contains(&format!("q{id}-new")));
    assert_eq!(pages.len(), 2 + promote::UNCHANGED_SAMPLE, "{pages:?}");
    let read = verify_index(&ic, &index, &v1, Some(&pages), quick, 8)
        .await
        .unwrap();
    assert_eq!(read, pages.len());
    let read = verify_index(&ic, &index, &v1, None, quick, 8)
        .await
        .unwrap();
    assert_eq!(read, 12, "every project page read");

    // Expecting version 2 while version 1 is served: the root lacks the new project.
    let forward = diff::diff(&v1, &v2);
    let pages = pages_to_verify(VerifyScope::Changed, &v2, &forward);
    let err = verify_index(&ic, &index, &v2, pages.as_ref(), quick, 8)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("missing: [") && err.contains(&format!("q{id}-new")),
        "{err}"
    );

    // Same projects, one file with other bytes than expected: the changed page shows it.
    let mut tampered = v1.clone();
    let victim = tampered
        .iter_mut()
        .find(|f| f.project == format!("q{id}-03"))
        .unwrap();
    victim.sha256 = "0".repeat(64);
    let victim_name = victim.filename.clone();
    let pages = pages_to_verify(VerifyScope::Changed, &tampered, &diff::diff(&v1, &tampered));
    assert!(pages.as_ref().unwrap().contains(&format!("q{id}-03")));
    for scope_pages in [pages.as_ref(), None] {
        let err = verify_index(&ic, &index, &tampered, scope_pages, quick, 8)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("wrong sha256") && err.contains(&victim_name),
            "{err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_verification_sees_what_customers_see() {
    verification_sees_what_customers_see("plain").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosted_verification_sees_what_customers_see() {
    verification_sees_what_customers_see("hosted").await;
}

/// Whether a test's vetting record holds the version's href (as vet writes them) or not (as
/// records written before vet bound them).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bound {
    Yes,
    No,
}

/// Record a vetting of staging version `n` of `variant`, with the digest of its files (the vet
/// checks themselves are tested elsewhere). The digest.
async fn record_vetted(
    c: &PulpClient,
    catalog: &Catalog,
    ledger: &Ledger,
    variant: &str,
    n: u64,
    bound: Bound,
) -> String {
    let repo = c
        .repository_by_name(&catalog.names("1.0", variant).repository)
        .await
        .unwrap()
        .unwrap();
    let href = repo.pulp_href.version(n);
    let files = diff::version_files(c, &href).await.unwrap();
    let digest = promote::digest(&files);
    ledger
        .append(
            &Event {
                kind: EventKind::Vet,
                time: wheelgate_core::time::rfc3339_now(),
                actor: "test".into(),
                release: "1.0".into(),
                variant: variant.into(),
                from_version: None,
                to_version: n,
                digest: Some(digest.clone()),
                version_href: (bound == Bound::Yes).then(|| href.to_string()),
                reason: None,
                outcome: Outcome::Ok,
                detail: None,
            },
            &Default::default(),
        )
        .await
        .unwrap();
    digest
}

/// A diff as its JSON, to compare two.
fn json(d: &diff::Diff) -> serde_json::Value {
    serde_json::to_value(d).unwrap()
}

/// A switch already confirmed works its diff out while it is applied: the plan has none, the
/// report has exactly the diff a planned switch shows, the digests come from the vetting
/// records, the target read back through the cache verifies, and a target version that
/// vanished before the switch is named as such.
async fn diff_with_the_switch(layout: &str) {
    use promote::{DiffTiming, PromoteOptions};
    let c = client(layout);
    let id = unique_id();
    let catalog = init_release(&c, "w", &["a"]).await;
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = wheelgate_core::cache::Cache::new(cache_dir.path());
    let ledger = Ledger::open(&c, &catalog, "1.0").await.unwrap();
    let build1: Vec<(String, &str)> = (0..3).map(|i| (format!("w{id}-{i}"), "1.0")).collect();
    let build2 = vec![(format!("w{id}-1"), "2.0"), (format!("w{id}-new"), "1.0")];
    let (repo, v1, v2) = two_builds(&c, &catalog, &build1, &build2).await;
    let d1 = record_vetted(&c, &catalog, &ledger, "a", 1, Bound::Yes).await;
    let d2 = record_vetted(&c, &catalog, &ledger, "a", 2, Bound::Yes).await;
    // What vet leaves on this machine: every version's changes up to 2, so the whole-version
    // reads after each switch are replayed from the cache (and must still verify).
    wheelgate_core::state::files_with_origins(&c, &repo, 2, Some(&cache))
        .await
        .unwrap();
    let opts = promote::ApplyOptions {
        actor: "test".into(),
        reason: None,
        wait: Default::default(),
        verify_timeout: std::time::Duration::from_secs(15),
        verify: promote::VerifyScope::Changed,
        customer: anonymous_index(),
        cache: Some(cache.clone()),
    };
    let promote_to = |n: u64, timing: DiffTiming| PromoteOptions {
        release: "1.0".into(),
        variants: vec!["a".into()],
        version: Some(n),
        expect_current: None,
        diff: timing,
        cache: Some(cache.clone()),
    };

    // Planned: the plan shows the diff. With the switch: it does not, the report does.
    let shown = promote::plan_promote(&c, &catalog, &promote_to(1, DiffTiming::Planned))
        .await
        .unwrap();
    assert!(shown.diffs_known());
    let plan = promote::plan_promote(&c, &catalog, &promote_to(1, DiffTiming::WithSwitch))
        .await
        .unwrap();
    assert!(!plan.diffs_known(), "nothing read before the switch");
    assert_eq!(plan.switches[0].digest.as_deref(), Some(d1.as_str()));
    let report = promote::apply(&c, &catalog, &plan, &opts).await.unwrap();
    assert_eq!(report.verified.get("a"), Some(&true));
    let got = json(
        report.switches[0]
            .diff
            .as_ref()
            .expect("the report has the diff"),
    );
    assert_eq!(got, json(shown.switches[0].diff.as_ref().unwrap()));
    assert_eq!(got, json(&diff::diff(&[], &v1)));

    let plan = promote::plan_promote(&c, &catalog, &promote_to(2, DiffTiming::WithSwitch))
        .await
        .unwrap();
    let report = promote::apply(&c, &catalog, &plan, &opts).await.unwrap();
    assert_eq!(
        report.switches[0].diff.as_ref().map(json),
        Some(json(&diff::diff(&v1, &v2)))
    );
    assert_eq!(report.switches[0].digest.as_deref(), Some(d2.as_str()));

    // Rollback: back to 1, its digest from the vetting record before anything is read.
    let rollback = promote::RollbackOptions {
        release: "1.0".into(),
        variant: "a".into(),
        to: None,
        diff: DiffTiming::WithSwitch,
        cache: None,
    };
    let plan = promote::plan_rollback(&c, &catalog, &rollback)
        .await
        .unwrap();
    assert_eq!(plan.switches[0].to_version, 1);
    assert!(!plan.diffs_known());
    assert_eq!(plan.switches[0].digest.as_deref(), Some(d1.as_str()));
    let report = promote::apply(&c, &catalog, &plan, &opts).await.unwrap();
    assert_eq!(
        report.switches[0].diff.as_ref().map(json),
        Some(json(&diff::diff(&v2, &v1)))
    );
    let recorded = ledger.events(None).await.unwrap();
    let last = recorded.last().unwrap();
    assert_eq!(
        (
            last.kind,
            last.outcome,
            last.to_version,
            last.digest.as_deref()
        ),
        (EventKind::Rollback, Outcome::Ok, 1, Some(d1.as_str()))
    );

    // Version 2 is deleted between plan and switch (a newer build came, and the staging
    // distribution follows it): the error says so, production keeps 1.
    let plan = promote::plan_promote(&c, &catalog, &promote_to(2, DiffTiming::WithSwitch))
        .await
        .unwrap();
    let build3 = vec![(format!("w{id}-3"), "1.0")];
    assert_eq!(upload_build(&c, &catalog, &build3, 3).await, 3);
    c.delete_version(&repo.pulp_href.version(2), &Default::default())
        .await
        .unwrap();
    let err = promote::apply(&c, &catalog, &plan, &opts)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("switching a to version 2 failed: staging version 2 does not exist"),
        "{err}"
    );
    let dist = c
        .distribution_by_name(&catalog.names("1.0", "a").production_distribution)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dist.serves(), Serves::Version(repo.pulp_href.version(1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_diff_with_the_switch() {
    diff_with_the_switch("plain").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosted_diff_with_the_switch() {
    diff_with_the_switch("hosted").await;
}
