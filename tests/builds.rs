//! Builds that replace, and the ABI-mix findings of vet (issue 11; docs/builds.md).

use std::collections::BTreeSet;
use std::path::Path;

use wheelgate_fixtures::WheelSpec;

use crate::util::{Run, Sandbox};

const LINUX: &str = "cp312-cp312-linux_x86_64";

fn spec(name: &str, version: &str, build: Option<&str>, tag: &str, requires: &[&str]) -> WheelSpec {
    WheelSpec {
        tag: tag.into(),
        build_tag: build.map(str::to_owned),
        requires_dist: requires.iter().map(|r| r.to_string()).collect(),
        payload_bytes: 200,
        ..WheelSpec::new(name, version)
    }
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_str().unwrap().to_owned()
}

fn upload<P: AsRef<Path>>(
    sb: &Sandbox,
    variant: &str,
    build: &str,
    extra: &[&str],
    paths: &[P],
) -> Run {
    let mut args = vec![
        "upload",
        "--release",
        "3.0",
        "--variant",
        variant,
        "--build-id",
        build,
    ];
    args.extend_from_slice(extra);
    let paths: Vec<&str> = paths.iter().map(|p| p.as_ref().to_str().unwrap()).collect();
    args.extend(paths);
    sb.run_json(&args)
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

fn names_of(files: &std::collections::BTreeMap<String, String>) -> BTreeSet<String> {
    files.keys().cloned().collect()
}

/// Rewrite the sandbox catalog (a test's own file).
fn edit_catalog(sb: &Sandbox, edit: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(&sb.catalog).unwrap();
    std::fs::write(&sb.catalog, edit(text)).unwrap();
}

async fn replacing_build_drops_a_file(layout: &'static str) {
    let sb = Sandbox::new(layout);
    sb.init();
    let v = "cuda12.9-ubi9";
    let d = sb.wheels_dir("b");
    let a = sb.wheel(&d, &sb.project(1), "1.0", LINUX, 300);
    let b = sb.wheel(&d, &sb.project(2), "1.0", LINUX, 300);
    let c = sb.wheel(&d, &sb.project(3), "1.0", "py3-none-any", 300);
    let (a_name, b_name, c_name) = (file_name(&a), file_name(&b), file_name(&c));
    upload(&sb, v, "b1", &[], &[&a, &b, &c]).success();
    assert_eq!(sb.latest_version(v).await, Some(1));

    // Dry run: lists the removal, makes nothing.
    let dry = upload(&sb, v, "b2", &["--replace", "--dry-run"], &[&a, &b]);
    dry.success();
    let r = dry.json();
    assert_eq!(r["dry_run"], true);
    assert_eq!(r["created_version"], false);
    assert_eq!(strings(&r["removed"]), vec![c_name.clone()]);
    assert_eq!(strings(&r["already_present"]).len(), 2);
    assert!(strings(&r["added"]).is_empty());
    assert_eq!(
        sb.latest_version(v).await,
        Some(1),
        "a dry run makes no version"
    );
    let text = sb.run(&[
        "upload",
        "--release",
        "3.0",
        "--variant",
        v,
        "--replace",
        "--dry-run",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    text.success();
    assert!(
        text.stdout.contains("1 removed") && text.stdout.contains(&format!("  - {c_name}")),
        "{}",
        text.stdout
    );

    // The replacing build: exactly one new version, without the dropped file.
    let run = upload(&sb, v, "b2", &["--replace"], &[&a, &b]);
    run.success();
    let r = run.json();
    assert_eq!(r["created_version"], true);
    assert_eq!(r["replace"], true);
    assert_eq!(r["version"], 2);
    assert_eq!(strings(&r["removed"]), vec![c_name.clone()]);
    assert!(strings(&r["added"]).is_empty());
    assert!(
        strings(&r["uploaded"]).is_empty(),
        "present files are not re-sent"
    );
    assert_eq!(r["bytes_sent"], 0);
    assert_eq!(sb.latest_version(v).await, Some(2), "exactly one version");
    assert_eq!(
        names_of(&sb.version_files(v, 2).await),
        BTreeSet::from([a_name.clone(), b_name.clone()])
    );

    // diff lists the removal (JSON and text).
    let diff = sb.run_json(&[
        "diff",
        "--release",
        "3.0",
        "--variant",
        v,
        "--from",
        "1",
        "--to",
        "2",
    ]);
    diff.success();
    assert_eq!(strings(&diff.json()["files_removed"]), vec![c_name.clone()]);
    assert!(strings(&diff.json()["files_added"]).is_empty());
    let text = sb.run(&[
        "diff",
        "--release",
        "3.0",
        "--variant",
        v,
        "--from",
        "1",
        "--to",
        "2",
    ]);
    text.success();
    assert!(
        text.stdout.contains(&format!("  - {c_name}")),
        "{}",
        text.stdout
    );

    // A no-op re-run of the same replacing build makes no version.
    let again = upload(&sb, v, "b2", &["--replace"], &[&a, &b]);
    again.success();
    assert_eq!(again.json()["created_version"], false);
    assert!(strings(&again.json()["removed"]).is_empty());
    assert_eq!(sb.latest_version(v).await, Some(2));

    // Adding and removing at once is still one version (one modify).
    let run = upload(&sb, v, "b3", &["--replace"], &[&a, &c]);
    run.success();
    let r = run.json();
    assert_eq!(r["version"], 3);
    assert_eq!(strings(&r["added"]), vec![c_name.clone()]);
    assert_eq!(
        strings(&r["reused"]),
        vec![c_name.clone()],
        "Pulp had its bytes"
    );
    assert_eq!(strings(&r["removed"]), vec![b_name.clone()]);
    assert_eq!(sb.latest_version(v).await, Some(3));
    assert_eq!(
        names_of(&sb.version_files(v, 3).await),
        BTreeSet::from([a_name.clone(), c_name.clone()])
    );
    // The text report counts and lists the removal.
    let text = sb.run(&[
        "upload",
        "--release",
        "3.0",
        "--variant",
        v,
        "--replace",
        b.to_str().unwrap(),
    ]);
    text.success();
    assert!(text.stdout.contains("2 removed"), "{}", text.stdout);
    assert!(
        text.stdout.contains(&format!("  - {a_name}")),
        "{}",
        text.stdout
    );
    assert_eq!(sb.latest_version(v).await, Some(4));
}

async fn a_variant_declared_replace_replaces_by_default(layout: &'static str) {
    let sb = Sandbox::new(layout);
    edit_catalog(&sb, |t| {
        let at =
            "[variants.\"rocm6.4-ubi9\"]\npython = [\"cp312\"]\nplatforms = [\"linux_x86_64\"]\n";
        assert!(t.contains(at), "{t}");
        t.replace(at, &format!("{at}builds = \"replace\"\n"))
    });
    sb.init();
    let v = "rocm6.4-ubi9";
    let d = sb.wheels_dir("b");
    let a = sb.wheel(&d, &sb.project(1), "1.0", LINUX, 300);
    let b = sb.wheel(&d, &sb.project(2), "1.0", LINUX, 300);
    upload(&sb, v, "b1", &[], &[&a, &b]).success();
    let r = upload(&sb, v, "b2", &[], &[&a]);
    r.success();
    assert_eq!(r.json()["replace"], true);
    assert_eq!(strings(&r.json()["removed"]), vec![file_name(&b)]);
    assert_eq!(
        names_of(&sb.version_files(v, 2).await),
        BTreeSet::from([file_name(&a)])
    );
    // --additive overrides the catalog.
    let r = upload(&sb, v, "b3", &["--additive"], &[&b]);
    r.success();
    assert_eq!(r.json()["replace"], false);
    assert!(strings(&r.json()["removed"]).is_empty());
    assert_eq!(
        names_of(&sb.version_files(v, 3).await),
        BTreeSet::from([file_name(&a), file_name(&b)])
    );
    // Other variants stay additive.
    let c = sb.wheel(&d, &sb.project(3), "1.0", LINUX, 300);
    upload(&sb, "cuda12.9-ubi9", "b1", &[], &[&a]).success();
    let r = upload(&sb, "cuda12.9-ubi9", "b2", &[], &[&c]);
    r.success();
    assert_eq!(r.json()["replace"], false);
    assert_eq!(sb.version_files("cuda12.9-ubi9", 2).await.len(), 2);
}

fn vet(sb: &Sandbox, v: &str) -> Run {
    sb.run_json(&["vet", "--release", "3.0", "--variant", v])
}

fn build_findings<'a>(doc: &'a serde_json::Value, list: &str) -> Vec<&'a serde_json::Value> {
    doc[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list}: {doc}"))
        .iter()
        .filter(|f| f["check"] == "builds")
        .collect()
}

async fn abi_mix_is_denied_until_a_replacing_rebuild(layout: &'static str) {
    let sb = Sandbox::new(layout);
    sb.init();
    let v = "cuda12.9-ubi9";
    let (core, ext) = (sb.project(1), sb.project(2));

    // Build 1: core 1.0 and ext 1.0 (compiled, requires core unpinned).
    let d1 = sb.wheels_dir("build1");
    let core10 = sb.wheel_spec(&d1, spec(&core, "1.0", None, LINUX, &[]));
    let ext10 = sb.wheel_spec(&d1, spec(&ext, "1.0", None, LINUX, &[&core]));
    upload(&sb, v, "b1", &[], &[&d1]).success();
    vet(&sb, v).success();

    // Build 2 adds only core 1.1, additively: ext 1.0 was compiled against core 1.0.
    let d2 = sb.wheels_dir("build2");
    let core11 = sb.wheel_spec(&d2, spec(&core, "1.1", None, LINUX, &[]));
    upload(&sb, v, "b2", &[], &[&d2]).success();
    let run = vet(&sb, v);
    run.code(3);
    let doc = run.json();
    assert_eq!(doc["passed"], false);
    assert_eq!(doc["recorded"], false);
    let found = build_findings(&doc, "findings");
    assert_eq!(found.len(), 1, "{doc}");
    let f = found[0];
    assert_eq!(f["code"], "mixed-builds");
    assert_eq!(f["filename"], file_name(&ext10));
    let builds = f["builds"].as_array().unwrap();
    assert_eq!(builds.len(), 2, "{f}");
    assert_eq!(builds[0]["filename"], file_name(&ext10));
    assert_eq!(builds[0]["build"], "b1");
    assert_eq!(builds[0]["repository_version"], 1);
    assert_eq!(builds[0]["project"], ext);
    assert_eq!(builds[1]["filename"], file_name(&core11));
    assert_eq!(builds[1]["build"], "b2");
    assert_eq!(builds[1]["repository_version"], 2);
    assert_eq!(builds[1]["project"], core);
    let msg = f["message"].as_str().unwrap();
    for part in [&ext, &core, "build b1", "build b2", "--replace"] {
        assert!(msg.contains(part), "{part}: {msg}");
    }
    assert!(
        !msg.contains(&file_name(&core10)),
        "core 1.0 is not the newer build: {msg}"
    );
    snapshot!(
        sb,
        "builds_vet_mixed",
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

    // `[vet] mixed_builds = "warn"`: the same version passes, with the finding as a warning.
    let original = std::fs::read_to_string(&sb.catalog).unwrap();
    edit_catalog(&sb, |t| {
        t.replace("[vet]\n", "[vet]\nmixed_builds = \"warn\"\n")
    });
    let run = vet(&sb, v);
    run.success();
    let doc = run.json();
    assert!(build_findings(&doc, "findings").is_empty(), "{doc}");
    let warned = build_findings(&doc, "warned");
    assert_eq!(warned.len(), 1, "{doc}");
    assert_eq!(warned[0]["code"], "mixed-builds");
    std::fs::write(&sb.catalog, original).unwrap();

    // Build 3, replacing: core 1.1 (already present, not re-sent) and ext 1.0 rebuilt with
    // build tag 1 (the same file name with other bytes would be refused).
    let d3 = sb.wheels_dir("build3");
    std::fs::copy(&core11, d3.join(file_name(&core11))).unwrap();
    let ext10_1 = sb.wheel_spec(&d3, spec(&ext, "1.0", Some("1"), LINUX, &[&core]));
    let run = upload(&sb, v, "b3", &["--replace"], &[&d3]);
    run.success();
    let r = run.json();
    assert_eq!(r["version"], 3);
    assert_eq!(strings(&r["added"]), vec![file_name(&ext10_1)]);
    assert_eq!(strings(&r["already_present"]), vec![file_name(&core11)]);
    assert_eq!(
        strings(&r["removed"]).into_iter().collect::<BTreeSet<_>>(),
        BTreeSet::from([file_name(&core10), file_name(&ext10)])
    );
    let run = vet(&sb, v);
    run.success();
    let doc = run.json();
    assert_eq!(doc["passed"], true);
    assert!(build_findings(&doc, "warned").is_empty(), "{doc}");
}

async fn several_build_tags_and_a_pure_dependant(layout: &'static str) {
    let sb = Sandbox::new(layout);
    sb.init();

    // One version of core with two build tags, additively: denied.
    let v = "rocm6.4-ubi9";
    let core = sb.project(1);
    let d1 = sb.wheels_dir("tags1");
    let plain = sb.wheel_spec(&d1, spec(&core, "1.0", None, LINUX, &[]));
    upload(&sb, v, "b1", &[], &[&d1]).success();
    let d2 = sb.wheels_dir("tags2");
    let tagged = sb.wheel_spec(&d2, spec(&core, "1.0", Some("1"), LINUX, &[]));
    upload(&sb, v, "b2", &[], &[&d2]).success();
    let run = vet(&sb, v);
    run.code(3);
    let doc = run.json();
    let found = build_findings(&doc, "findings");
    assert_eq!(found.len(), 1, "{doc}");
    assert_eq!(found[0]["code"], "several-build-tags");
    let files: Vec<(&str, &str)> = found[0]["builds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["filename"].as_str().unwrap(),
                b["build"].as_str().unwrap(),
            )
        })
        .collect();
    let (plain, tagged) = (file_name(&plain), file_name(&tagged));
    assert_eq!(files, vec![(tagged.as_str(), "b2"), (plain.as_str(), "b1")]);
    snapshot!(
        sb,
        "builds_vet_several_tags",
        sb.run(&["vet", "--release", "3.0", "--variant", v])
    );

    // A pure -any dependant older than its rebuilt dependency only warns.
    let v = "cuda12.9-ubi9";
    let (lib, app) = (sb.project(2), sb.project(3));
    let d3 = sb.wheels_dir("pure1");
    sb.wheel_spec(&d3, spec(&lib, "1.0", None, LINUX, &[]));
    let app10 = sb.wheel_spec(&d3, spec(&app, "1.0", None, "py3-none-any", &[&lib]));
    upload(&sb, v, "p1", &[], &[&d3]).success();
    let d4 = sb.wheels_dir("pure2");
    let lib11 = sb.wheel_spec(&d4, spec(&lib, "1.1", None, LINUX, &[]));
    upload(&sb, v, "p2", &[], &[&d4]).success();
    let run = vet(&sb, v);
    run.success();
    let doc = run.json();
    assert_eq!(doc["passed"], true);
    assert!(build_findings(&doc, "findings").is_empty(), "{doc}");
    let warned = build_findings(&doc, "warned");
    assert_eq!(warned.len(), 1, "{doc}");
    assert_eq!(warned[0]["code"], "mixed-builds");
    assert_eq!(warned[0]["builds"][0]["filename"], file_name(&app10));
    assert_eq!(warned[0]["builds"][1]["filename"], file_name(&lib11));
    assert_eq!(warned[0]["builds"][1]["build"], "p2");
    let text = sb.run(&["vet", "--release", "3.0", "--variant", v]);
    text.success();
    assert!(
        text.stdout.contains("warning: [mixed-builds]"),
        "{}",
        text.stdout
    );
}

both_layouts!(
    replacing_build_drops_a_file,
    a_variant_declared_replace_replaces_by_default,
    abi_mix_is_denied_until_a_replacing_rebuild,
    several_build_tags_and_a_pure_dependant,
);
