//! Bad input gets a clear error (exit 2) and changes nothing: one case per problem kind.

use std::path::{Path, PathBuf};

use wheelgate_fixtures::{Defect, WheelSpec};

use crate::util::{seed_of, Sandbox};

struct Case {
    name: &'static str,
    /// Makes the bad file(s) in `dir`; returns the paths to pass to `upload`.
    make: fn(&Sandbox, &Path) -> Vec<PathBuf>,
    /// Expected problem kind (as in `--output json`).
    kind: &'static str,
    /// Expected words in the message.
    words: &'static [&'static str],
}

fn spec(sb: &Sandbox, n: usize) -> WheelSpec {
    WheelSpec {
        seed: seed_of(&format!("{}-{n}", sb.id)),
        payload_bytes: 500,
        ..WheelSpec::new(sb.project(n), "1.0")
    }
}

fn write(sb: &Sandbox, dir: &Path, s: WheelSpec) -> PathBuf {
    let _ = sb;
    wheelgate_fixtures::write_wheel(&s, dir).unwrap()
}

fn defect(sb: &Sandbox, dir: &Path, n: usize, d: Defect) -> Vec<PathBuf> {
    vec![write(
        sb,
        dir,
        WheelSpec {
            defect: Some(d),
            ..spec(sb, n)
        },
    )]
}

fn rename(p: &Path, to: &str) -> PathBuf {
    let q = p.with_file_name(to);
    std::fs::rename(p, &q).unwrap();
    q
}

const CASES: &[Case] = &[
    Case {
        name: "not a .whl",
        make: |sb, dir| {
            let p = write(sb, dir, spec(sb, 1));
            vec![rename(&p, &format!("{}-1.0.tar.gz", sb.project(1)))]
        },
        kind: "NotAWheel",
        words: &[".whl"],
    },
    Case {
        name: "invalid wheel filename",
        make: |sb, dir| {
            let p = write(sb, dir, spec(sb, 2));
            vec![rename(&p, "no-tags-here.whl")]
        },
        kind: "BadFilename",
        words: &["no-tags-here.whl"],
    },
    Case {
        name: "build tag not starting with a digit",
        make: |sb, dir| {
            let p = write(sb, dir, spec(sb, 3));
            let name = p
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .replace("-1.0-", "-1.0-x13-");
            vec![rename(&p, &name)]
        },
        kind: "BadFilename",
        words: &["x13"],
    },
    Case {
        name: "not a zip",
        make: |sb, dir| defect(sb, dir, 4, Defect::NotZip),
        kind: "NotZip",
        words: &["zip"],
    },
    Case {
        name: "missing METADATA",
        make: |sb, dir| defect(sb, dir, 5, Defect::MissingMetadata),
        kind: "MissingMetadata",
        words: &["METADATA"],
    },
    Case {
        name: "missing WHEEL",
        make: |sb, dir| defect(sb, dir, 6, Defect::MissingWheelFile),
        kind: "MissingMetadata",
        words: &["WHEEL"],
    },
    Case {
        name: "METADATA name differs",
        make: |sb, dir| defect(sb, dir, 7, Defect::NameMismatch("numpy".into())),
        kind: "NameMismatch",
        words: &["numpy"],
    },
    Case {
        name: "METADATA version differs",
        make: |sb, dir| defect(sb, dir, 8, Defect::VersionMismatch("2.0".into())),
        kind: "VersionMismatch",
        words: &["2.0"],
    },
    Case {
        name: "WHEEL tags differ",
        make: |sb, dir| {
            defect(
                sb,
                dir,
                9,
                Defect::TagMismatch("cp311-cp311-win_amd64".into()),
            )
        },
        kind: "TagMismatch",
        words: &["win_amd64"],
    },
    Case {
        name: "RECORD hash wrong",
        make: |sb, dir| defect(sb, dir, 10, Defect::RecordHashMismatch),
        kind: "RecordMismatch",
        words: &["__init__.py"],
    },
    Case {
        name: "RECORD size wrong",
        make: |sb, dir| defect(sb, dir, 11, Defect::RecordSizeMismatch),
        kind: "RecordMismatch",
        words: &["bytes but RECORD says"],
    },
    Case {
        name: "tags not allowed by the variant",
        make: |sb, dir| {
            vec![write(
                sb,
                dir,
                WheelSpec {
                    tag: "cp311-cp311-win_amd64".into(),
                    ..spec(sb, 12)
                },
            )]
        },
        kind: "TagNotAllowed",
        words: &["cp312", "linux_x86_64"],
    },
    Case {
        name: "project not on the allowlist",
        make: |sb, dir| {
            vec![write(
                sb,
                dir,
                WheelSpec {
                    seed: seed_of(&sb.id),
                    ..WheelSpec::new(format!("notallowed-{}", sb.id), "1.0")
                },
            )]
        },
        kind: "ProjectNotAllowed",
        words: &["allowlist", "request"],
    },
    Case {
        name: "same filename twice in the batch",
        make: |sb, dir| {
            let a = dir.join("a");
            let b = dir.join("b");
            std::fs::create_dir_all(&a).unwrap();
            std::fs::create_dir_all(&b).unwrap();
            write(sb, &a, spec(sb, 14));
            write(
                sb,
                &b,
                WheelSpec {
                    seed: 99,
                    ..spec(sb, 14)
                },
            );
            vec![dir.to_owned()]
        },
        kind: "DuplicateFilename",
        words: &[],
    },
];

async fn each_invalid_input_is_refused_and_changes_nothing(layout: &'static str) {
    let sb = Sandbox::new(layout);
    sb.init();
    // A first good build, so "unchanged" means version 1 stays latest.
    let good = sb.wheels_dir("good");
    sb.wheel(&good, &sb.project(0), "1.0", "py3-none-any", 100);
    sb.run(&[
        "upload",
        "--release",
        "3.0",
        "--variant",
        "cpu-ubi9",
        good.to_str().unwrap(),
    ])
    .success();
    assert_eq!(sb.latest_version("cpu-ubi9").await, Some(1));

    for (i, case) in CASES.iter().enumerate() {
        let dir = sb.wheels_dir(&format!("case{i}"));
        let paths = (case.make)(&sb, &dir);
        // A valid wheel alongside: it must not be uploaded either.
        let bystander = sb.wheel(&dir, &sb.project(1000 + i), "1.0", "py3-none-any", 10);
        let mut args = vec![
            "--output".to_owned(),
            "json".into(),
            "upload".into(),
            "--release".into(),
            "3.0".into(),
            "--variant".into(),
            "cpu-ubi9".into(),
        ];
        args.extend(paths.iter().map(|p| p.to_str().unwrap().to_owned()));
        args.push(bystander.to_str().unwrap().to_owned());
        let run: crate::util::Run = sb.cmd().args(&args).output().unwrap().into();
        run.code(2);
        let doc = run.json();
        let problems = doc["problems"].as_array().unwrap();
        let hit = problems.iter().find(|p| p["kind"] == case.kind);
        let hit = hit
            .unwrap_or_else(|| panic!("case {:?}: no {} problem in {doc}", case.name, case.kind));
        let msg = hit["message"].as_str().unwrap();
        for w in case.words {
            assert!(
                msg.contains(w),
                "case {:?}: {w:?} not in {msg:?}",
                case.name
            );
        }
        assert!(
            run.stderr.contains("nothing was uploaded"),
            "case {:?}: {}",
            case.name,
            run.stderr
        );
        assert_eq!(
            sb.latest_version("cpu-ubi9").await,
            Some(1),
            "case {:?} changed the repository",
            case.name
        );
        let sha = crate::util::sha256_file(&bystander);
        assert!(
            sb.client.package_by_sha256(&sha).await.unwrap().is_none(),
            "case {:?}: a byte was sent",
            case.name
        );
    }
}

async fn all_problems_are_reported_at_once(layout: &'static str) {
    let sb = Sandbox::new(layout);
    sb.init();
    let dir = sb.wheels_dir("many");
    defect(&sb, &dir, 1, Defect::NotZip);
    defect(&sb, &dir, 2, Defect::RecordHashMismatch);
    write(
        &sb,
        &dir,
        WheelSpec {
            tag: "cp39-cp39-macosx_11_0_arm64".into(),
            ..spec(&sb, 3)
        },
    );
    let run = sb.run(&[
        "upload",
        "--release",
        "3.0",
        "--variant",
        "cpu-ubi9",
        dir.to_str().unwrap(),
    ]);
    run.code(2);
    assert!(
        run.stderr
            .contains("3 problems found; nothing was uploaded"),
        "{}",
        run.stderr
    );
    snapshot!(sb, "upload_three_problems", run);
    assert!(
        run.stdout.is_empty(),
        "nothing on stdout in text mode on error: {}",
        run.stdout
    );
    assert_eq!(sb.latest_version("cpu-ubi9").await, Some(0));
}

async fn changed_bytes_under_a_published_name_are_refused(layout: &'static str) {
    let sb = Sandbox::new(layout);
    sb.init();
    let d1 = sb.wheels_dir("v1");
    let spec1 = spec(&sb, 1);
    write(&sb, &d1, spec1.clone());
    sb.run(&[
        "upload",
        "--release",
        "3.0",
        "--variant",
        "cpu-ubi9",
        d1.to_str().unwrap(),
    ])
    .success();
    let d2 = sb.wheels_dir("v2");
    let p = write(
        &sb,
        &d2,
        WheelSpec {
            seed: spec1.seed + 1,
            ..spec1
        },
    );
    let run = sb.run_json(&[
        "upload",
        "--release",
        "3.0",
        "--variant",
        "cpu-ubi9",
        p.to_str().unwrap(),
    ]);
    run.code(2);
    let doc = run.json();
    let msg = doc["problems"][0]["message"].as_str().unwrap();
    assert!(msg.contains("immutable"), "{msg}");
    assert_eq!(sb.latest_version("cpu-ubi9").await, Some(1));
}

async fn unknown_variant_release_and_bad_catalog(layout: &'static str) {
    let sb = Sandbox::new(layout);
    let dir = sb.wheels_dir("x");
    sb.wheel(&dir, &sb.project(0), "1.0", "py3-none-any", 10);
    let d = dir.to_str().unwrap();
    let run = sb.run(&["upload", "--release", "3.0", "--variant", "gpu-unknown", d]);
    run.code(2);
    assert!(
        run.stderr
            .contains("variant \"gpu-unknown\" is not part of release 3.0"),
        "{}",
        run.stderr
    );
    let run = sb.run(&["upload", "--release", "9.9", "--variant", "cpu-ubi9", d]);
    run.code(2);
    assert!(
        run.stderr.contains("release \"9.9\" is not in"),
        "{}",
        run.stderr
    );
    // Not initialised yet.
    let run = sb.run(&["upload", "--release", "3.0", "--variant", "cpu-ubi9", d]);
    run.code(2);
    assert!(
        run.stderr.contains("wheelgate init --release 3.0"),
        "{}",
        run.stderr
    );
    // A broken catalog names file, line and key.
    let bad = sb.dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "product = \"x\"\n[releases.\"3.0\"]\nvariants = [\"nope\"]\n",
    )
    .unwrap();
    let run = sb.run(&[
        "--catalog",
        bad.to_str().unwrap(),
        "status",
        "--release",
        "3.0",
    ]);
    run.code(2);
    assert!(
        run.stderr.contains(
            "bad.toml:3: releases.\"3.0\".variants: variant \"nope\" is used but not defined"
        ),
        "{}",
        run.stderr
    );
    snapshot!(sb, "bad_catalog", run);
    assert!(sb
        .client
        .repository_by_name(&sb.names("cpu-ubi9").0)
        .await
        .unwrap()
        .is_none());
}

both_layouts!(
    each_invalid_input_is_refused_and_changes_nothing,
    all_problems_are_reported_at_once,
    changed_bytes_under_a_published_name_are_refused,
    unknown_variant_release_and_bad_catalog,
);
