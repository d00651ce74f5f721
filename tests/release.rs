//! vet, promote, rollback, history, diff: the release engineer's and the SRE's commands.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use pulp_client::{Modify, Serves};
use wheelgate_fixtures::WheelSpec;

use crate::util::{customers, name, Run, Sandbox};

fn spec(name: &str, version: &str, requires: &[&str]) -> WheelSpec {
    WheelSpec {
        requires_dist: requires.iter().map(|r| r.to_string()).collect(),
        payload_bytes: 300,
        ..WheelSpec::new(name, version)
    }
}

/// Build 1: app 1.0 requires core>=1.0 (core 1.0 present), extras and markers skipped.
fn build1(sb: &Sandbox) -> PathBuf {
    let d = sb.wheels_dir("build1");
    let (app, core) = (sb.project(1), sb.project(2));
    sb.wheel_spec(
        &d,
        spec(
            &app,
            "1.0",
            &[
                &format!("{core}>=1.0"),
                "torch; extra == \"gpu\"",
                "numpy; python_version < \"3.9\"",
                "nvidia-cublas-cu12",
            ],
        ),
    );
    sb.wheel_spec(&d, spec(&core, "1.0", &[]));
    d
}

/// Build 2: app 2.0 requires core==2.0, which is missing.
fn build2(sb: &Sandbox) -> PathBuf {
    let d = sb.wheels_dir("build2");
    sb.wheel_spec(
        &d,
        spec(&sb.project(1), "2.0", &[&format!("{}==2.0", sb.project(2))]),
    );
    d
}

/// Build 3: adds core 2.0.
fn build3(sb: &Sandbox) -> PathBuf {
    let d = sb.wheels_dir("build3");
    sb.wheel_spec(&d, spec(&sb.project(2), "2.0", &[]));
    d
}

fn upload(sb: &Sandbox, variant: &str, dir: &std::path::Path) -> Run {
    let r = sb.run(&[
        "upload",
        "--release",
        "3.0",
        "--variant",
        variant,
        dir.to_str().unwrap(),
    ]);
    r.success();
    r
}

async fn production_files(sb: &Sandbox, variant: &str) -> BTreeSet<(String, String)> {
    let dist = sb
        .client
        .distribution_by_name(&sb.names(variant).2)
        .await
        .unwrap()
        .unwrap();
    let index = url::Url::parse(&format!("{}simple/", dist.base_url.unwrap())).unwrap();
    let customers = customers();
    let root = customers
        .root(&index)
        .await
        .unwrap()
        .map(|r| r.projects)
        .unwrap_or_default();
    let mut out = BTreeSet::new();
    for p in root {
        let page = customers.project(&index, &p).await.unwrap().unwrap();
        for f in page.files {
            let sha = f.sha256().unwrap();
            out.insert((f.filename, sha));
        }
    }
    out
}

async fn staging_files(sb: &Sandbox, variant: &str, n: u64) -> BTreeSet<(String, String)> {
    sb.version_files(variant, n).await.into_iter().collect()
}

async fn served_version(sb: &Sandbox, variant: &str) -> Option<u64> {
    let d = sb
        .client
        .distribution_by_name(&sb.names(variant).2)
        .await
        .unwrap()?;
    match d.serves() {
        Serves::Version(v) => v.number(),
        _ => None,
    }
}

async fn vet_promote_rollback_history(layout: &'static str) {
    let sb = Sandbox::new(layout);
    sb.init();
    let v = "cpu-ubi9";
    upload(&sb, v, &build1(&sb));

    // Unvetted: refused.
    let r = sb.run(&[
        "promote",
        "--release",
        "3.0",
        "--variant",
        v,
        "--version",
        "1",
        "--yes",
    ]);
    r.code(3);
    assert!(r.stderr.contains("not vetted"), "{}", r.stderr);
    snapshot!(sb, "promote_unvetted", r);
    assert_eq!(served_version(&sb, v).await, Some(0));

    // Vet passes and records.
    let r = sb.run_json(&["vet", "--release", "3.0", "--variant", v]);
    r.success();
    let doc = r.json();
    assert_eq!(doc["passed"], true, "{doc}");
    assert_eq!(doc["recorded"], true);
    assert_eq!(doc["version"], 1);

    // Dry run changes nothing.
    let r = sb.run(&["promote", "--release", "3.0", "--variant", v, "--dry-run"]);
    r.success();
    assert!(
        r.stdout.contains(&format!("+ {}", sb.project(1))),
        "diff printed: {}",
        r.stdout
    );
    snapshot!(sb, "promote_dry_run", r);
    assert_eq!(served_version(&sb, v).await, Some(0));
    // Not on a terminal without --yes: refused as a usage error.
    let r = sb.run(&["promote", "--release", "3.0", "--variant", v]);
    r.code(2);
    assert!(
        r.stderr
            .contains("promote changes what customers get: confirm with --yes"),
        "{}",
        r.stderr
    );
    assert_eq!(served_version(&sb, v).await, Some(0));

    // Promote: production serves exactly version 1.
    let r = sb
        .cmd()
        .env("WHEELGATE_ACTOR", "alice")
        .args([
            "promote",
            "--release",
            "3.0",
            "--variant",
            v,
            "--yes",
            "--reason",
            "first release",
        ])
        .output()
        .unwrap();
    let r = Run::from(r);
    r.success();
    // By default the changed pages (all of them here: everything is new) and a sample.
    assert!(
        r.stdout.contains("verified at http://127.0.0.1:")
            && r.stdout
                .contains("project pages: the changed ones and a sample"),
        "{}",
        r.stdout
    );
    assert_eq!(served_version(&sb, v).await, Some(1));
    assert_eq!(
        production_files(&sb, v).await,
        staging_files(&sb, v, 1).await
    );

    // Build 2 misses a dependency: vet refuses (exit 3) and names it; nothing recorded.
    upload(&sb, v, &build2(&sb));
    let r = sb.run_json(&["vet", "--release", "3.0", "--variant", v]);
    r.code(3);
    let doc = r.json();
    assert_eq!(doc["passed"], false);
    assert_eq!(doc["recorded"], false);
    let msgs: Vec<String> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap().to_owned())
        .collect();
    let want = format!(
        "{} 2.0 requires {}==2.0; this version has {} 1.0",
        sb.project(1),
        sb.project(2),
        sb.project(2)
    );
    assert!(msgs.iter().any(|m| m.contains(&want)), "{msgs:?}");
    snapshot!(
        sb,
        "vet_missing_dependency",
        sb.run(&["vet", "--release", "3.0", "--variant", v])
    );
    sb.run(&[
        "promote",
        "--release",
        "3.0",
        "--variant",
        v,
        "--version",
        "2",
        "--yes",
    ])
    .code(3);

    // Build 3 fixes it: vet, promote with compare-and-swap.
    upload(&sb, v, &build3(&sb));
    sb.run(&["vet", "--release", "3.0", "--variant", v])
        .success();
    let r = sb.run(&[
        "promote",
        "--release",
        "3.0",
        "--variant",
        v,
        "--expect-current",
        "0",
        "--yes",
    ]);
    r.code(3);
    assert!(r.stderr.contains("--expect-current"), "{}", r.stderr);
    assert_eq!(
        served_version(&sb, v).await,
        Some(1),
        "stale --expect-current changed nothing"
    );
    let r = sb
        .cmd()
        .env("WHEELGATE_ACTOR", "bob")
        .args([
            "promote",
            "--release",
            "3.0",
            "--variant",
            v,
            "--expect-current",
            "1",
            "--yes",
            "--reason",
            "core 2.0",
        ])
        .output()
        .unwrap();
    Run::from(r).success();
    assert_eq!(served_version(&sb, v).await, Some(3));
    assert_eq!(
        production_files(&sb, v).await,
        staging_files(&sb, v, 3).await
    );

    // Rollback restores the previous file set.
    let r = sb
        .cmd()
        .env("WHEELGATE_ACTOR", "sre")
        .args([
            "rollback",
            "--release",
            "3.0",
            "--variant",
            v,
            "--yes",
            "--reason",
            "pager at 3am",
            "--verify",
            "full",
        ])
        .output()
        .unwrap();
    let r = Run::from(r);
    r.success();
    // Wheel file names carry the project before the first '-' (PEP 427 escapes it).
    let v1_files = staging_files(&sb, v, 1).await;
    let projects: BTreeSet<&str> = v1_files
        .iter()
        .filter_map(|(f, _)| f.split('-').next())
        .collect();
    let want = format!("(root and all {} project pages)", projects.len());
    assert!(r.stdout.contains(&want), "{want} in {}", r.stdout);
    assert_eq!(served_version(&sb, v).await, Some(1));
    assert_eq!(
        production_files(&sb, v).await,
        staging_files(&sb, v, 1).await
    );
    // Rolling back to a version never promoted is refused.
    sb.run(&[
        "rollback",
        "--release",
        "3.0",
        "--variant",
        v,
        "--to",
        "2",
        "--yes",
    ])
    .code(3);

    // History, from Pulp: both promotions and the rollback, with actor and reason.
    let r = sb.run_json(&["history", "--release", "3.0", "--variant", v]);
    r.success();
    let doc = r.json();
    let all = doc["events"].as_array().unwrap();
    // The refused promotes are history too (issue 9 item 9): unvetted twice, then a stale CAS.
    let refused: Vec<&serde_json::Value> =
        all.iter().filter(|e| e["outcome"] == "refused").collect();
    assert_eq!(refused.len(), 3, "{doc}");
    assert!(refused.iter().all(|e| e["kind"] == "promote"), "{doc}");
    assert!(
        refused[0]["detail"]
            .as_str()
            .unwrap_or("")
            .contains("not vetted"),
        "{doc}"
    );
    assert!(
        refused[2]["detail"]
            .as_str()
            .unwrap_or("")
            .contains("expect-current"),
        "{doc}"
    );
    let ev: Vec<&serde_json::Value> = all
        .iter()
        .filter(|e| e["kind"] != "vet" && e["outcome"] != "refused")
        .collect();
    assert_eq!(ev.len(), 3, "{doc}");
    assert_eq!(
        (
            ev[0]["actor"].as_str(),
            ev[0]["from_version"].as_u64(),
            ev[0]["to_version"].as_u64()
        ),
        (Some("alice"), Some(0), Some(1))
    );
    assert_eq!(ev[1]["reason"], "core 2.0");
    assert_eq!(
        (
            ev[2]["kind"].as_str(),
            ev[2]["actor"].as_str(),
            ev[2]["reason"].as_str()
        ),
        (Some("rollback"), Some("sre"), Some("pager at 3am"))
    );
    assert_eq!(
        (ev[2]["from_version"].as_u64(), ev[2]["to_version"].as_u64()),
        (Some(3), Some(1))
    );
    let text = sb.run(&["history", "--release", "3.0"]);
    assert!(
        text.success().stdout.contains("pager at 3am"),
        "{}",
        text.stdout
    );
    snapshot!(sb, "history", text);

    // diff production → latest.
    let r = sb.run_json(&["diff", "--release", "3.0", "--variant", v]);
    r.success();
    let d = r.json();
    assert_eq!(
        (d["from_version"].as_u64(), d["to_version"].as_u64()),
        (Some(1), Some(3))
    );
    assert_eq!(d["files_added"].as_array().unwrap().len(), 2);
}

async fn vet_reports_policy_violations_made_by_other_tools(layout: &'static str) {
    let sb = Sandbox::new(layout);
    sb.init();
    // Put a disallowed tag and a non-allowlisted project straight into staging, as another
    // tool could.
    let d = sb.wheels_dir("foreign");
    let bad_tag = sb.wheel_spec(
        &d,
        WheelSpec {
            tag: "cp311-cp311-win_amd64".into(),
            ..spec(&sb.project(7), "1.0", &[])
        },
    );
    let foreign = sb.wheel_spec(&d, spec(&format!("stranger-{}", sb.id), "1.0", &[]));
    let c = &sb.client;
    let mut hrefs = Vec::new();
    for p in [&bad_tag, &foreign] {
        hrefs.push(
            c.upload_package_sync(p, Arc::new(pulp_client::NoProgress))
                .await
                .unwrap()
                .pulp_href,
        );
    }
    let repo = c
        .repository_by_name(&sb.names("cpu-ubi9").0)
        .await
        .unwrap()
        .unwrap();
    c.modify(
        &repo.pulp_href,
        &Modify {
            add_content_units: hrefs,
            ..Default::default()
        },
        &Default::default(),
    )
    .await
    .unwrap();
    let r = sb.run_json(&["vet", "--release", "3.0", "--variant", "cpu-ubi9"]);
    r.code(3);
    let doc = r.json();
    let checks: BTreeSet<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    assert!(checks.contains("tags"), "{doc}");
    assert!(checks.contains("allowlist"), "{doc}");
}

async fn promote_all_is_all_or_nothing(layout: &'static str) {
    let sb = Sandbox::new(layout);
    sb.init();
    let variants = ["cpu-ubi9", "cuda12.9-ubi9", "rocm6.4-ubi9"];
    for v in variants {
        let d = sb.wheels_dir(&format!("all-{v}"));
        sb.wheel_spec(&d, spec(&sb.project(1), "1.0", &[]));
        upload(&sb, v, &d);
        sb.run(&["vet", "--release", "3.0", "--variant", v])
            .success();
    }
    // Promote all three once.
    sb.run(&["promote", "--release", "3.0", "--all", "--yes"])
        .success();
    for v in variants {
        assert_eq!(served_version(&sb, v).await, Some(1));
    }
    // New builds for all three, vetted.
    for v in variants {
        let d = sb.wheels_dir(&format!("all2-{v}"));
        sb.wheel_spec(&d, spec(&sb.project(1), "2.0", &[]));
        upload(&sb, v, &d);
        sb.run(&["vet", "--release", "3.0", "--variant", v])
            .success();
    }
    // The third production distribution disappears behind wheelgate's back.
    let third = sb
        .client
        .distribution_by_name(&sb.names("rocm6.4-ubi9").2)
        .await
        .unwrap()
        .unwrap();
    sb.client
        .delete_distribution(&third.pulp_href, &Default::default())
        .await
        .unwrap();
    let r = sb.run(&["promote", "--release", "3.0", "--all", "--yes"]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("rocm6.4-ubi9"), "reported: {}", r.stderr);
    for v in ["cpu-ubi9", "cuda12.9-ubi9"] {
        assert_eq!(
            served_version(&sb, v).await,
            Some(1),
            "{v} serves what it served before"
        );
    }
}

async fn readers_never_see_a_mixed_index(layout: &'static str) {
    let sb = Sandbox::new(layout);
    sb.init();
    let v = "cpu-ubi9";
    let (a, b) = (sb.project(1), sb.project(2));
    let d1 = sb.wheels_dir("flip1");
    sb.wheel_spec(&d1, spec(&a, "1.0", &[]));
    sb.wheel_spec(&d1, spec(&b, "1.0", &[]));
    upload(&sb, v, &d1);
    sb.run(&["vet", "--release", "3.0", "--variant", v])
        .success();
    let d2 = sb.wheels_dir("flip2");
    sb.wheel_spec(&d2, spec(&a, "2.0", &[]));
    sb.wheel_spec(&d2, spec(&sb.project(3), "1.0", &[]));
    upload(&sb, v, &d2);
    sb.run(&["vet", "--release", "3.0", "--variant", v])
        .success();
    sb.run(&[
        "promote",
        "--release",
        "3.0",
        "--variant",
        v,
        "--version",
        "1",
        "--yes",
    ])
    .success();

    let one = staging_files(&sb, v, 1).await;
    let two = staging_files(&sb, v, 2).await;
    let page_of = |set: &BTreeSet<(String, String)>, project: &str| -> BTreeSet<String> {
        let prefix = format!("{}-", project.replace('-', "_"));
        set.iter()
            .filter(|(f, _)| f.starts_with(&prefix))
            .map(|(f, _)| f.clone())
            .collect()
    };
    let (a1, a2) = (page_of(&one, &a), page_of(&two, &a));
    assert_ne!(a1, a2);
    let dist = sb
        .client
        .distribution_by_name(&sb.names(v).2)
        .await
        .unwrap()
        .unwrap();
    let index = url::Url::parse(&format!("{}simple/", dist.base_url.unwrap())).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let reader = {
        let (client, index, stop, reads, a) = (
            customers(),
            index.clone(),
            stop.clone(),
            reads.clone(),
            a.clone(),
        );
        let roots = [
            BTreeSet::from([a.clone(), b.clone()]),
            BTreeSet::from([a.clone(), b.clone(), sb.project(3)]),
        ];
        tokio::spawn(async move {
            let mut bad = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let root = client.root(&index).await.unwrap().unwrap();
                let names: BTreeSet<String> = root.projects.iter().map(|p| p.to_string()).collect();
                if !roots.contains(&names) {
                    bad.push(format!("root {names:?}"));
                }
                let page = client.project(&index, &name(&a)).await.unwrap().unwrap();
                let files: BTreeSet<String> = page.files.into_iter().map(|f| f.filename).collect();
                if files != a1 && files != a2 {
                    bad.push(format!("project page {files:?}"));
                }
                reads.fetch_add(1, Ordering::SeqCst);
            }
            bad
        })
    };
    for i in 0..20 {
        let args: Vec<&str> = if i % 2 == 0 {
            vec![
                "promote",
                "--release",
                "3.0",
                "--variant",
                v,
                "--version",
                "2",
                "--yes",
            ]
        } else {
            vec!["rollback", "--release", "3.0", "--variant", v, "--yes"]
        };
        sb.run(&args).success();
    }
    stop.store(true, Ordering::SeqCst);
    let bad = reader.await.unwrap();
    assert!(bad.is_empty(), "mixed responses: {bad:?}");
    assert!(
        reads.load(Ordering::SeqCst) > 20,
        "the reader ran during the flips"
    );
    assert_eq!(served_version(&sb, v).await, Some(1));
}

/// A variant with no CPython-on-Linux target cannot have its dependency closure checked:
/// vet must say so rather than pass silently.
async fn vet_warns_when_the_closure_cannot_be_checked(layout: &'static str) {
    let sb = Sandbox::new(layout);
    sb.run(&["init", "--release", "1.0-pure"]).success();
    let d = sb.wheels_dir("pure");
    // Requires something the version lacks: would fail if the closure were evaluated.
    sb.wheel_spec(&d, spec(&sb.project(1), "1.0", &["numpy>=2"]));
    sb.run(&[
        "upload",
        "--release",
        "1.0-pure",
        "--variant",
        "pure",
        d.to_str().unwrap(),
    ])
    .success();
    let r = sb.run_json(&["vet", "--release", "1.0-pure", "--variant", "pure"]);
    r.success();
    let doc = r.json();
    let warnings: Vec<&str> = doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w.as_str())
        .collect();
    assert_eq!(warnings.len(), 1, "{doc}");
    assert!(
        warnings[0].contains("dependency closure NOT checked") && warnings[0].contains("pure"),
        "{warnings:?}"
    );
    let text = sb.run(&["vet", "--release", "1.0-pure", "--variant", "pure"]);
    assert!(
        text.success()
            .stdout
            .contains("warning: dependency closure NOT checked"),
        "{}",
        text.stdout
    );
}

/// `prune` deletes only staging versions nothing refers to, and changes nothing customers see.
async fn prune_deletes_only_unreferenced_versions(layout: &'static str) {
    let sb = Sandbox::new(layout);
    sb.init();
    let v = "cpu-ubi9";
    // Versions 1..=5, one new project each.
    for n in 1..=5 {
        let d = sb.wheels_dir(&format!("b{n}"));
        sb.wheel_spec(&d, spec(&sb.project(10 + n), "1.0", &[]));
        upload(&sb, v, &d);
    }
    for n in ["2", "3"] {
        sb.run(&["vet", "--release", "3.0", "--variant", v, "--version", n])
            .success();
    }
    sb.run(&[
        "promote",
        "--release",
        "3.0",
        "--variant",
        v,
        "--version",
        "2",
        "--yes",
    ])
    .success();
    let numbers = || async {
        let repo = sb
            .client
            .repository_by_name(&sb.names(v).0)
            .await
            .unwrap()
            .unwrap();
        let mut n: Vec<u64> = sb
            .client
            .list_versions(&repo.pulp_href)
            .await
            .unwrap()
            .iter()
            .map(|x| x.number)
            .collect();
        n.sort_unstable();
        n
    };
    let v5_before = staging_files(&sb, v, 5).await;
    let served_before = production_files(&sb, v).await;
    let prune = |extra: &[&str]| {
        let mut args = vec![
            "prune",
            "--release",
            "3.0",
            "--variant",
            v,
            "--keep-latest",
            "1",
        ];
        args.extend_from_slice(extra);
        sb.run(&args)
    };

    // Dry run: the plan, nothing deleted.
    let r = prune(&["--dry-run"]);
    r.success();
    snapshot!(sb, "prune_dry_run", r);
    assert_eq!(numbers().await, vec![0, 1, 2, 3, 4, 5]);
    // Not on a terminal without --yes: refused, nothing deleted.
    let r = prune(&[]);
    r.code(2);
    assert!(
        r.stderr
            .contains("prune deletes staging versions: confirm with --yes"),
        "{}",
        r.stderr
    );
    assert_eq!(numbers().await, vec![0, 1, 2, 3, 4, 5]);

    // A distribution made behind wheelgate's back serves version 1: Pulp refuses to delete
    // it, prune reports that and deletes the rest.
    let repo = sb
        .client
        .repository_by_name(&sb.names(v).0)
        .await
        .unwrap()
        .unwrap();
    let foreign = sb
        .client
        .create_distribution(
            &pulp_client::NewDistribution {
                name: format!("{}-foreign", sb.product),
                base_path: format!("{}/foreign", sb.product),
                serves: Serves::Version(repo.pulp_href.version(1)),
                pulp_labels: Default::default(),
                content_guard: None,
            },
            &Default::default(),
        )
        .await
        .unwrap();
    let r = prune(&["--yes", "--reason", "disk"]);
    r.success();
    assert!(r.stdout.contains("deleted 1 version (4)"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("kept version 1: Pulp refused to delete it"),
        "{}",
        r.stdout
    );
    assert_eq!(numbers().await, vec![0, 1, 2, 3, 5]);
    sb.client
        .delete_distribution(&foreign.pulp_href, &Default::default())
        .await
        .unwrap();
    let r = prune(&["--yes", "--reason", "disk"]);
    r.success();
    assert!(r.stdout.contains("deleted 1 version (1)"), "{}", r.stdout);
    assert_eq!(numbers().await, vec![0, 2, 3, 5]);
    // What stays keeps its exact content; customers see no change.
    assert_eq!(staging_files(&sb, v, 5).await, v5_before);
    assert_eq!(production_files(&sb, v).await, served_before);
    assert_eq!(served_version(&sb, v).await, Some(2));
    // Recorded; a second prune finds nothing.
    let h = sb.run(&["history", "--release", "3.0", "--variant", v]);
    for deleted in ["deleted versions 4", "deleted versions 1"] {
        assert!(h.success().stdout.contains(deleted), "{}", h.stdout);
    }
    let r = prune(&["--yes"]);
    r.success();
    assert!(r.stderr.contains("nothing to delete"), "{}", r.stderr);
    // The promoted version can still be rolled back to and from.
    sb.run(&[
        "promote",
        "--release",
        "3.0",
        "--variant",
        v,
        "--version",
        "3",
        "--yes",
    ])
    .success();
    sb.run(&["rollback", "--release", "3.0", "--variant", v, "--yes"])
        .success();
    assert_eq!(served_version(&sb, v).await, Some(2));
}

both_layouts!(
    vet_promote_rollback_history,
    vet_warns_when_the_closure_cannot_be_checked,
    vet_reports_policy_violations_made_by_other_tools,
    promote_all_is_all_or_nothing,
    readers_never_see_a_mixed_index,
    prune_deletes_only_unreferenced_versions,
);
