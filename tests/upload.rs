//! `upload`: one build → one new immutable version; re-runs, races and kills lose nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::util::{sha256_file, Sandbox};

const THRESHOLD: &str = "1048576"; // 1 MiB: the big wheel below goes chunked.

fn build(
    sb: &Sandbox,
    dir_name: &str,
    count: usize,
    first: usize,
    big: Option<u64>,
) -> (std::path::PathBuf, BTreeMap<String, String>) {
    let dir = sb.wheels_dir(dir_name);
    let mut files = BTreeMap::new();
    for i in first..first + count {
        // Mixed sizes: 1–60 KB, a few tags.
        let tag = match i % 3 {
            0 => "py3-none-any",
            1 => "cp312-cp312-manylinux_2_28_x86_64",
            _ => "py2.py3-none-any",
        };
        let p = sb.wheel(
            &dir,
            &sb.project(i),
            "1.0",
            tag,
            1000 + (i as u64 * 1487) % 60_000,
        );
        files.insert(
            p.file_name().unwrap().to_str().unwrap().to_owned(),
            sha256_file(&p),
        );
    }
    if let Some(size) = big {
        let p = sb.wheel(
            &dir,
            &sb.project(first + count),
            "1.0",
            "cp312-cp312-linux_x86_64",
            size,
        );
        files.insert(
            p.file_name().unwrap().to_str().unwrap().to_owned(),
            sha256_file(&p),
        );
    }
    (dir, files)
}

async fn build_of_40_lands_as_one_version(layout: &'static str) {
    let sb = Sandbox::new(layout);
    sb.init();
    // A previous build, so "previous content + the 40 files" is checked.
    let (d0, prev) = build(&sb, "b0", 2, 100, None);
    sb.run(&[
        "upload",
        "--release",
        "3.0",
        "--variant",
        "cpu-ubi9",
        d0.to_str().unwrap(),
    ])
    .success();
    assert_eq!(sb.latest_version("cpu-ubi9").await, Some(1));

    let (dir, files) = build(&sb, "b1", 39, 0, Some(3 * 1024 * 1024 + 17));
    assert_eq!(files.len(), 40);
    let run = sb.run_json(&[
        "upload",
        "--release",
        "3.0",
        "--variant",
        "cpu-ubi9",
        "--build-id",
        "build-1",
        "--chunk-threshold",
        THRESHOLD,
        "--chunk-size",
        "524288",
        dir.to_str().unwrap(),
    ]);
    run.success();
    let r = run.json();
    assert_eq!(r["release"], "3.0");
    assert_eq!(r["variant"], "cpu-ubi9");
    assert_eq!(r["repository"], sb.names("cpu-ubi9").0);
    assert_eq!(r["version"], 2);
    assert_eq!(r["build_id"], "build-1");
    assert_eq!(r["added"].as_array().unwrap().len(), 40);
    assert_eq!(r["uploaded"].as_array().unwrap().len(), 40);
    assert!(r["already_present"].as_array().unwrap().is_empty());

    // Exactly the previous content + the 40 files, with the right sha256.
    let mut expected = prev.clone();
    expected.extend(files.clone());
    assert_eq!(sb.version_files("cpu-ubi9", 2).await, expected);
    assert_eq!(sb.latest_version("cpu-ubi9").await, Some(2));

    // The staging simple index serves them with the right sha256.
    let staging = sb
        .client
        .distribution_by_name(&sb.names("cpu-ubi9").1)
        .await
        .unwrap()
        .unwrap();
    let index = url::Url::parse(&format!("{}simple/", staging.base_url.unwrap())).unwrap();
    for i in [0usize, 1, 2, 38, 39] {
        let page = crate::util::customers()
            .project(&index, &crate::util::name(&sb.project(i)))
            .await
            .unwrap()
            .expect("project page");
        for f in &page.files {
            assert_eq!(
                Some(files[&f.filename].clone()),
                f.sha256(),
                "{}",
                f.filename
            );
        }
        assert_eq!(page.files.len(), 1);
    }

    // Re-running the same upload: no new version, all 40 already present, exit 0.
    let again = sb.run_json(&[
        "upload",
        "--release",
        "3.0",
        "--variant",
        "cpu-ubi9",
        "--chunk-threshold",
        THRESHOLD,
        dir.to_str().unwrap(),
    ]);
    again.success();
    let a = again.json();
    assert_eq!(a["already_present"].as_array().unwrap().len(), 40);
    assert!(a["added"].as_array().unwrap().is_empty());
    assert_eq!(a["created_version"], false);
    assert_eq!(sb.latest_version("cpu-ubi9").await, Some(2));
    let text = sb.run(&[
        "upload",
        "--release",
        "3.0",
        "--variant",
        "cpu-ubi9",
        dir.to_str().unwrap(),
    ]);
    assert!(
        text.success().stdout.contains("nothing to do"),
        "{}",
        text.stdout
    );
    // Other variant untouched.
    assert_eq!(sb.latest_version("cuda12.9-ubi9").await, Some(0));
}

async fn concurrent_uploads_both_land(layout: &'static str) {
    let sb = Sandbox::new(layout);
    sb.init();
    let (d1, f1) = build(&sb, "c1", 12, 0, None);
    let (d2, f2) = build(&sb, "c2", 12, 50, None);
    let args = |d: &std::path::Path| {
        vec![
            "--output".to_owned(),
            "json".into(),
            "upload".into(),
            "--release".into(),
            "3.0".into(),
            "--variant".into(),
            "cpu-ubi9".into(),
            d.to_str().unwrap().to_owned(),
        ]
    };
    let c1 = sb
        .cmd()
        .args(args(&d1))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let c2 = sb
        .cmd()
        .args(args(&d2))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let r1: crate::util::Run = c1.wait_with_output().unwrap().into();
    let r2: crate::util::Run = c2.wait_with_output().unwrap().into();
    r1.success();
    r2.success();
    let v1 = r1.json()["version"].as_u64().unwrap();
    let v2 = r2.json()["version"].as_u64().unwrap();
    assert_eq!(
        BTreeSet::from([v1, v2]),
        BTreeSet::from([1, 2]),
        "one version each"
    );
    let mut expected = f1;
    expected.extend(f2);
    assert_eq!(
        sb.version_files("cpu-ubi9", 2).await,
        expected,
        "neither build lost content"
    );
}

async fn killed_upload_changes_nothing_and_resumes(layout: &'static str) {
    let sb = Sandbox::new(layout);
    sb.init();
    let (dir, files) = build(&sb, "k1", 30, 0, None);
    let shas: Vec<String> = files.values().cloned().collect();
    let mut child = sb
        .cmd()
        .args([
            "upload",
            "--release",
            "3.0",
            "--variant",
            "cpu-ubi9",
            "--jobs",
            "1",
            dir.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill as soon as Pulp holds the first file of the build.
    let deadline = Instant::now() + Duration::from_secs(120);
    'wait: loop {
        assert!(Instant::now() < deadline, "upload never started");
        for sha in &shas {
            if sb.client.package_by_sha256(sha).await.unwrap().is_some() {
                break 'wait;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the upload was killed before it finished"
    );
    assert_eq!(
        sb.latest_version("cpu-ubi9").await,
        Some(0),
        "nothing became visible"
    );

    let run = sb.run_json(&[
        "upload",
        "--release",
        "3.0",
        "--variant",
        "cpu-ubi9",
        dir.to_str().unwrap(),
    ]);
    run.success();
    let r = run.json();
    assert_eq!(r["version"], 1);
    assert_eq!(r["added"].as_array().unwrap().len(), 30);
    let reused = r["reused"].as_array().unwrap().len();
    let uploaded = r["uploaded"].as_array().unwrap().len();
    assert!(reused >= 1, "files Pulp already had were not re-sent: {r}");
    assert_eq!(reused + uploaded, 30);
    assert_eq!(sb.version_files("cpu-ubi9", 1).await, files);
}

both_layouts!(
    build_of_40_lands_as_one_version,
    concurrent_uploads_both_land,
    killed_upload_changes_nothing_and_resumes,
);
