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

/// Requests of a `-v` run whose query has the parameter `param` (one `elapsed_ms` line each).
fn requests_with(stderr: &str, param: &str) -> usize {
    stderr
        .lines()
        .filter(|l| {
            l.contains("elapsed_ms=")
                && (l.contains(&format!("?{param}=")) || l.contains(&format!("&{param}=")))
        })
        .count()
}

/// A re-upload asks Pulp which files it holds by project name, and a file whose `METADATA`
/// `Name` is spelled otherwise than its file name is still found (by name on a Pulp that
/// normalizes names, by filename on one that does not): a no-op, no new version. A file
/// replaced by other bytes under the same name is still refused.
async fn reupload_looks_up_by_project_name_whatever_the_metadata_spelling(layout: &'static str) {
    let sb = Sandbox::new(layout);
    sb.init();
    let id = sb.id.replace('-', "_");
    let dir = sb.wheels_dir("b1");
    // 40 projects of 3 files (METADATA `Name` spelled as the file name), and three spelled
    // otherwise: `Foo.Bar` in `foo_bar-…`, `foo-bar` in `foo_bar-…`, `Foo_Bar` in `foo_bar-…`.
    let tags = [
        "py3-none-any",
        "cp312-cp312-linux_x86_64",
        "cp312-abi3-linux_x86_64",
    ];
    let mut specs = Vec::new();
    for p in 0..40 {
        for tag in tags {
            specs.push(wheelgate_fixtures::WheelSpec {
                tag: tag.into(),
                payload_bytes: 100,
                ..wheelgate_fixtures::WheelSpec::new(format!("wg_{id}_{p}"), "1.0")
            });
        }
    }
    let odd = [
        (format!("Wg.{id}.Dotted"), format!("wg_{id}_dotted")),
        (format!("wg-{id}-dashed"), format!("wg_{id}_dashed")),
        (format!("Wg_{id}_Upper"), format!("wg_{id}_upper")),
    ];
    for (name, filename_name) in &odd {
        specs.push(wheelgate_fixtures::WheelSpec {
            filename_name: Some(filename_name.clone()),
            payload_bytes: 100,
            ..wheelgate_fixtures::WheelSpec::new(name.clone(), "1.0")
        });
    }
    let mut files = BTreeMap::new();
    for spec in &specs {
        let p = sb.wheel_spec(&dir, spec.clone());
        files.insert(
            p.file_name().unwrap().to_str().unwrap().to_owned(),
            sha256_file(&p),
        );
    }
    assert_eq!(files.len(), 123);
    let upload = |dir: &std::path::Path, verbose: bool| {
        let mut args = vec!["--output", "json"];
        if verbose {
            args.push("-v");
        }
        let d = dir.to_str().unwrap().to_owned();
        args.extend(["upload", "--release", "3.0", "--variant", "cpu-ubi9", &d]);
        sb.run(&args)
    };
    upload(&dir, false).success();
    assert_eq!(sb.latest_version("cpu-ubi9").await, Some(1));
    // What Pulp stored as the names: METADATA's spelling, not the file name's.
    let stored = sb
        .client
        .packages_by_filename(
            &sb.client
                .repository_by_name(&sb.names("cpu-ubi9").0)
                .await
                .unwrap()
                .unwrap()
                .pulp_href
                .version(1),
            &[format!("wg_{id}_dotted-1.0-py3-none-any.whl")],
            &["name"],
        )
        .await
        .unwrap();
    assert_eq!(stored[0].name, odd[0].0);

    // The no-op: every file already present, no version, and a few name look-ups instead of a
    // filename look-up per ~50 files.
    let again = upload(&dir, true);
    again.success();
    let r = again.json();
    assert_eq!(r["created_version"], false, "{r}");
    assert_eq!(r["already_present"].as_array().unwrap().len(), 123, "{r}");
    assert!(r["added"].as_array().unwrap().is_empty(), "{r}");
    assert_eq!(sb.latest_version("cpu-ubi9").await, Some(1));
    let names: Vec<String> = files.keys().cloned().collect();
    // At least 2 (FILENAME_BATCH is 100), 3 when the sandbox id is 12 hex digits long: the
    // byte budget depends on the names' length, and the id is not zero-padded.
    let by_filename = pulp_client::filename_batches(&names).len();
    assert!(by_filename >= 2, "{by_filename}");
    let name_queries = requests_with(&again.stderr, "name__in");
    let filename_queries = requests_with(&again.stderr, "filename__in");
    assert_eq!(name_queries, 1, "{}", again.stderr);
    assert!(
        filename_queries <= 1,
        "only the odd spellings may need a filename look-up: {filename_queries}\n{}",
        again.stderr
    );
    assert!(
        requests_with(&again.stderr, "sha256__in") == 0,
        "nothing to upload: no sha256 look-up\n{}",
        again.stderr
    );

    // The same file name with other bytes, for an odd spelling and an ordinary one: refused.
    for (i, spec) in [specs[122].clone(), specs[4].clone()]
        .into_iter()
        .enumerate()
    {
        let d = sb.wheels_dir(&format!("replaced-{i}"));
        let p = wheelgate_fixtures::write_wheel(
            &wheelgate_fixtures::WheelSpec {
                payload_bytes: 200,
                ..spec.clone()
            },
            &d,
        )
        .unwrap();
        let filename = p.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(files.contains_key(&filename), "{filename}");
        assert_ne!(files[&filename], sha256_file(&p));
        let run = upload(&d, false);
        run.code(2);
        let doc = run.json();
        let msg = doc["problems"][0]["message"].as_str().unwrap();
        assert!(
            msg.contains(&filename) && msg.contains("immutable"),
            "{msg}"
        );
    }
    assert_eq!(sb.latest_version("cpu-ubi9").await, Some(1));
    assert_eq!(sb.version_files("cpu-ubi9", 1).await, files);
}

both_layouts!(
    build_of_40_lands_as_one_version,
    concurrent_uploads_both_land,
    killed_upload_changes_nothing_and_resumes,
    reupload_looks_up_by_project_name_whatever_the_metadata_spelling,
);
