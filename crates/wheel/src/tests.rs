//! Inspection and batch validation of wheels written by `wheelgate-fixtures`.

use std::path::{Path, PathBuf};

use wheelgate_fixtures::{build_set, write_wheel, Defect, SetOptions, WheelSpec};

use crate::*;

fn write(dir: &Path, spec: &WheelSpec) -> PathBuf {
    write_wheel(spec, dir).unwrap()
}

fn with_defect(defect: Defect) -> WheelSpec {
    WheelSpec {
        payload_bytes: 3000,
        defect: Some(defect),
        ..WheelSpec::new("torch", "2.3.0")
    }
}

/// The problems of one file; panics if it is valid.
fn problems(path: &Path) -> Vec<Problem> {
    match inspect(path) {
        Ok(info) => panic!("expected problems, got {info:?}"),
        Err(p) => p,
    }
}

fn kinds(problems: &[Problem]) -> Vec<ProblemKind> {
    problems.iter().map(|p| p.kind).collect()
}

fn rename(path: &Path, new_name: &str) -> PathBuf {
    let to = path.with_file_name(new_name);
    std::fs::rename(path, &to).unwrap();
    to
}

#[test]
fn valid_wheel_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let spec = WheelSpec {
        tag: "py2.py3-none-any".into(),
        build_tag: Some("13".into()),
        requires_dist: vec!["numpy>=1.26".into(), "rich; extra == \"cli\"".into()],
        requires_python: Some(">=3.10".into()),
        payload_bytes: 200_000,
        seed: 5,
        ..WheelSpec::new("Foo_Bar", "1.0.0")
    };
    let path = write(dir.path(), &spec);
    let info = inspect(&path).unwrap();
    let (size, sha) = sha256_file(&path).unwrap();
    assert_eq!(info.filename, "Foo_Bar-1.0.0-13-py2.py3-none-any.whl");
    assert_eq!(info.project, "foo-bar");
    assert_eq!(info.name, "Foo_Bar");
    assert_eq!(info.version, "1.0.0");
    assert_eq!(info.build_tag.as_deref(), Some("13"));
    assert_eq!(
        info.tags,
        vec![
            WheelTag::new("py2", "none", "any"),
            WheelTag::new("py3", "none", "any")
        ]
    );
    assert_eq!(info.size, size);
    assert_eq!(info.size, std::fs::metadata(&path).unwrap().len());
    assert_eq!(info.sha256, sha);
    assert_eq!(info.sha256.len(), 64);
    assert_eq!(info.requires_dist, spec.requires_dist);
    assert_eq!(info.requires_python.as_deref(), Some(">=3.10"));
}

#[test]
fn compressed_platform_tags_expand() {
    let dir = tempfile::tempdir().unwrap();
    let spec = WheelSpec {
        tag: "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64".into(),
        ..WheelSpec::new("numpy", "2.1.0")
    };
    let info = inspect(&write(dir.path(), &spec)).unwrap();
    let tags: Vec<String> = info.tags.iter().map(ToString::to_string).collect();
    assert_eq!(
        tags,
        [
            "cp312-cp312-manylinux_2_17_x86_64",
            "cp312-cp312-manylinux2014_x86_64"
        ]
    );
}

#[test]
fn metadata_name_and_version_compare_normalized() {
    // `Foo_Bar-1.0.0` file with `Name: foo.bar` and `Version: 1.0` is consistent.
    let dir = tempfile::tempdir().unwrap();
    let spec = WheelSpec {
        defect: Some(Defect::NameMismatch("foo.bar".into())),
        ..WheelSpec::new("Foo_Bar", "1.0.0")
    };
    let info = inspect(&write(dir.path(), &spec)).unwrap();
    assert_eq!(info.name, "foo.bar");
    let sub = dir.path().join("v");
    std::fs::create_dir(&sub).unwrap();
    let spec = WheelSpec {
        defect: Some(Defect::VersionMismatch("1.0".into())),
        ..WheelSpec::new("Foo_Bar", "1.0.0")
    };
    let info = inspect(&write(&sub, &spec)).unwrap();
    assert_eq!(info.version, "1.0");
}

#[test]
fn not_a_wheel() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "hello").unwrap();
    let p = problems(&path);
    assert_eq!(kinds(&p), [ProblemKind::NotAWheel]);
    assert_eq!(
        p[0].to_string(),
        "notes.txt: not a wheel: the file name does not end in .whl"
    );
    let sdist = rename(
        &write(dir.path(), &WheelSpec::new("a", "1.0")),
        "a-1.0.tar.gz",
    );
    assert_eq!(kinds(&problems(&sdist)), [ProblemKind::NotAWheel]);
}

#[test]
fn bad_filename() {
    let dir = tempfile::tempdir().unwrap();
    for (i, bad) in [
        "torch.whl",
        "torch-2.3.0.whl",
        "torch-2.3.0-py3-none.whl",
        "torch-2.3.0-abc-py3-none-any.whl",
        "torch-not.a.version-py3-none-any.whl",
        "torch-2.3.0-1-2-py3-none-any.whl",
        "torch-2.3.0-py3..py2-none-any.whl",
    ]
    .iter()
    .enumerate()
    {
        let sub = dir.path().join(i.to_string());
        std::fs::create_dir(&sub).unwrap();
        let path = rename(&write(&sub, &WheelSpec::new("torch", "2.3.0")), bad);
        let p = problems(&path);
        assert!(
            kinds(&p).contains(&ProblemKind::BadFilename),
            "{bad}: {p:?}"
        );
        assert!(p[0]
            .to_string()
            .starts_with(&format!("{bad}: not a valid wheel file name")));
    }
}

#[test]
fn build_tag_must_start_with_a_digit() {
    let dir = tempfile::tempdir().unwrap();
    let spec = WheelSpec {
        build_tag: Some("b1".into()),
        ..WheelSpec::new("torch", "2.3.0")
    };
    let p = problems(&write(dir.path(), &spec));
    assert_eq!(kinds(&p), [ProblemKind::BadFilename]);
    assert!(p[0].message.contains("must start with a digit"), "{}", p[0]);
}

#[test]
fn unreadable() {
    let p = problems(Path::new("/nonexistent/dir/torch-2.3.0-py3-none-any.whl"));
    assert_eq!(kinds(&p), [ProblemKind::Unreadable]);
}

#[test]
fn not_zip() {
    let dir = tempfile::tempdir().unwrap();
    let p = problems(&write(dir.path(), &with_defect(Defect::NotZip)));
    assert_eq!(kinds(&p), [ProblemKind::NotZip]);
    assert!(p[0]
        .to_string()
        .starts_with("torch-2.3.0-py3-none-any.whl: not a readable zip"));
}

#[test]
fn missing_metadata_wheel_and_record() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (defect, file)) in [
        (Defect::MissingMetadata, "METADATA"),
        (Defect::MissingWheelFile, "WHEEL"),
        (Defect::MissingRecord, "RECORD"),
    ]
    .into_iter()
    .enumerate()
    {
        let sub = dir.path().join(i.to_string());
        std::fs::create_dir(&sub).unwrap();
        let p = problems(&write(&sub, &with_defect(defect)));
        assert_eq!(kinds(&p), [ProblemKind::MissingMetadata], "{p:?}");
        assert_eq!(
            p[0].message,
            format!("the wheel has no torch-2.3.0.dist-info/{file}")
        );
    }
}

#[test]
fn missing_dist_info_directory() {
    // A file name claiming another project: the dist-info directory is not where it should be,
    // and METADATA (read from the directory that is there) disagrees too.
    let dir = tempfile::tempdir().unwrap();
    let path = rename(
        &write(dir.path(), &WheelSpec::new("torch", "2.3.0")),
        "numpy-2.3.0-py3-none-any.whl",
    );
    let p = problems(&path);
    assert_eq!(
        kinds(&p),
        [ProblemKind::MissingMetadata, ProblemKind::NameMismatch],
        "{p:?}"
    );
    assert_eq!(
        p[0].message,
        "the wheel has no numpy-2.3.0.dist-info directory (it has torch-2.3.0.dist-info)"
    );
    assert_eq!(
        p[1].to_string(),
        "numpy-2.3.0-py3-none-any.whl: METADATA says Name: torch but the filename says numpy"
    );
}

#[test]
fn name_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let p = problems(&write(
        dir.path(),
        &with_defect(Defect::NameMismatch("numpy".into())),
    ));
    assert_eq!(kinds(&p), [ProblemKind::NameMismatch]);
    assert_eq!(
        p[0].to_string(),
        "torch-2.3.0-py3-none-any.whl: METADATA says Name: numpy but the filename says torch"
    );
}

#[test]
fn version_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let p = problems(&write(
        dir.path(),
        &with_defect(Defect::VersionMismatch("2.3.1".into())),
    ));
    assert_eq!(kinds(&p), [ProblemKind::VersionMismatch]);
    assert_eq!(
        p[0].message,
        "METADATA says Version: 2.3.1 but the filename says 2.3.0"
    );
}

#[test]
fn invalid_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let p = problems(&write(
        dir.path(),
        &with_defect(Defect::VersionMismatch("not a version".into())),
    ));
    assert_eq!(kinds(&p), [ProblemKind::InvalidMetadata]);
    assert!(p[0]
        .message
        .starts_with("METADATA has an invalid Version: not a version"));
}

#[test]
fn tag_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let p = problems(&write(
        dir.path(),
        &with_defect(Defect::TagMismatch("py2.py3-none-any".into())),
    ));
    assert_eq!(kinds(&p), [ProblemKind::TagMismatch]);
    assert_eq!(
        p[0].message,
        "WHEEL says Tag: py2-none-any, py3-none-any but the filename says py3-none-any"
    );
}

#[test]
fn record_hash_and_size_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let p = problems(&write(dir.path(), &with_defect(Defect::RecordHashMismatch)));
    assert_eq!(kinds(&p), [ProblemKind::RecordMismatch]);
    assert!(
        p[0].message.starts_with("torch/__init__.py has sha256="),
        "{}",
        p[0]
    );
    assert!(p[0].message.contains("but RECORD says sha256="));

    let sub = dir.path().join("size");
    std::fs::create_dir(&sub).unwrap();
    let p = problems(&write(&sub, &with_defect(Defect::RecordSizeMismatch)));
    assert_eq!(kinds(&p), [ProblemKind::RecordMismatch]);
    assert!(
        p[0].message.starts_with("torch/__init__.py is "),
        "{}",
        p[0]
    );
    assert!(p[0].message.contains("bytes but RECORD says"));
}

#[test]
fn record_and_zip_disagree_on_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = problems(&write(
        dir.path(),
        &with_defect(Defect::ExtraMemberNotInRecord),
    ));
    assert_eq!(kinds(&p), [ProblemKind::RecordMismatch]);
    assert_eq!(
        p[0].message,
        "torch/unrecorded.py is in the zip but not in RECORD"
    );

    let sub = dir.path().join("ghost");
    std::fs::create_dir(&sub).unwrap();
    let p = problems(&write(&sub, &with_defect(Defect::RecordEntryWithoutMember)));
    assert_eq!(kinds(&p), [ProblemKind::RecordMismatch]);
    assert!(
        p[0].message
            .ends_with("lists torch/ghost.py but the zip has no such file"),
        "{}",
        p[0]
    );
}

#[test]
fn unsafe_path() {
    let dir = tempfile::tempdir().unwrap();
    let p = problems(&write(dir.path(), &with_defect(Defect::UnsafeMemberPath)));
    assert_eq!(kinds(&p), [ProblemKind::UnsafePath]);
    assert!(p[0].message.contains("`../evil.py`"));
}

#[test]
fn every_problem_of_a_file_is_reported() {
    // Bad build tag in the name, and the RECORD is missing: both reported.
    let dir = tempfile::tempdir().unwrap();
    let spec = WheelSpec {
        build_tag: Some("x".into()),
        ..with_defect(Defect::MissingRecord)
    };
    let p = problems(&write(dir.path(), &spec));
    assert_eq!(
        kinds(&p),
        [ProblemKind::BadFilename, ProblemKind::MissingMetadata],
        "{p:?}"
    );
}

#[test]
fn every_fixture_defect_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    for (i, defect) in Defect::all().into_iter().enumerate() {
        let sub = dir.path().join(i.to_string());
        std::fs::create_dir(&sub).unwrap();
        let p = problems(&write(&sub, &with_defect(defect.clone())));
        assert!(!p.is_empty(), "{defect}");
    }
}

#[test]
fn tag_policy_check_on_wheels() {
    let dir = tempfile::tempdir().unwrap();
    let policy = TagPolicy::new(["cp312"], ["linux_x86_64", "linux_aarch64"]);
    for (tag, ok) in [
        ("py2.py3-none-any", true),
        ("py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64", true),
        ("cp312-cp312-manylinux_2_28_aarch64", true),
        ("cp39-abi3-linux_x86_64", true),
        ("cp311-cp311-linux_x86_64", false),
        ("cp312-cp312-musllinux_1_2_x86_64", false),
        ("cp312-cp312-win_amd64", false),
    ] {
        let spec = WheelSpec {
            tag: tag.into(),
            ..WheelSpec::new("pkg", "1.0")
        };
        let info = inspect(&write(dir.path(), &spec)).unwrap();
        assert_eq!(policy.check(&info).is_ok(), ok, "{tag}");
    }
    let spec = WheelSpec {
        tag: "cp311-cp311-win_amd64".into(),
        ..WheelSpec::new("pkg", "2.0")
    };
    let info = inspect(&write(dir.path(), &spec)).unwrap();
    let problem = policy.check(&info).unwrap_err();
    assert_eq!(problem.kind, ProblemKind::TagNotAllowed);
    assert_eq!(
        problem.to_string(),
        "pkg-2.0-cp311-cp311-win_amd64.whl: none of the wheel's tags is allowed by the variant: \
         cp311-cp311-win_amd64 (interpreter/ABI and platform not allowed); the variant allows \
         python: cp312 and platforms: linux_x86_64, linux_aarch64 (pure-Python py3-none-any \
         wheels always pass)"
    );
}

#[test]
fn allowlist_check_on_wheels() {
    let dir = tempfile::tempdir().unwrap();
    let info = inspect(&write(dir.path(), &WheelSpec::new("Torch_Vision", "0.1"))).unwrap();
    assert!(Allowlist::parse(["torch-vision"])
        .unwrap()
        .check(&info)
        .is_ok());
    assert!(Allowlist::parse(["torch*"]).unwrap().check(&info).is_ok());
    let problem = Allowlist::parse(["numpy"])
        .unwrap()
        .check(&info)
        .unwrap_err();
    assert_eq!(problem.kind, ProblemKind::ProjectNotAllowed);
    assert_eq!(
        problem.message,
        "project `torch-vision` is not on the allowlist; request it by adding it to [packages] \
         allow in the catalog through the package request process"
    );
}

#[test]
fn batch_reports_everything_in_path_order() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let good = write(&a, &WheelSpec::new("numpy", "2.0"));
    let dup = write(&b, &WheelSpec::new("numpy", "2.0"));
    let wrong_tag = write(
        &a,
        &WheelSpec {
            tag: "cp311-cp311-linux_x86_64".into(),
            ..WheelSpec::new("numpy", "2.1")
        },
    );
    let not_allowed = write(&a, &WheelSpec::new("leftpad", "1.0"));
    let broken = write(&a, &with_defect(Defect::NotZip));
    let text = a.join("README.txt");
    std::fs::write(&text, "x").unwrap();

    let policy = TagPolicy::new(["cp312"], ["linux_x86_64"]);
    let allow = Allowlist::parse(["numpy", "torch"]).unwrap();
    // Unsorted input, one path twice.
    let input = vec![
        text.clone(),
        dup.clone(),
        broken.clone(),
        good.clone(),
        not_allowed.clone(),
        wrong_tag.clone(),
        good.clone(),
    ];
    let report = validate_batch(&input, &policy, &allow);
    let got: Vec<(PathBuf, ProblemKind)> = report
        .problems
        .iter()
        .map(|p| (p.path.clone(), p.kind))
        .collect();
    assert_eq!(
        got,
        [
            (text.clone(), ProblemKind::NotAWheel),
            (not_allowed.clone(), ProblemKind::ProjectNotAllowed),
            (wrong_tag.clone(), ProblemKind::TagNotAllowed),
            (broken.clone(), ProblemKind::NotZip),
            (dup.clone(), ProblemKind::DuplicateFilename),
        ]
    );
    // Sorted by path: a/README.txt, a/leftpad, a/numpy-2.0, a/numpy-2.1, a/torch, b/numpy-2.0.
    let mut sorted = got.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    sorted.sort();
    assert_eq!(
        sorted,
        got.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>()
    );
    let dup_problem = report
        .problems
        .iter()
        .find(|p| p.kind == ProblemKind::DuplicateFilename)
        .unwrap();
    assert!(dup_problem.message.contains(&good.display().to_string()));
    let wheels: Vec<&str> = report.wheels.iter().map(|w| w.filename.as_str()).collect();
    assert_eq!(
        wheels,
        [
            "leftpad-1.0-py3-none-any.whl",
            "numpy-2.0-py3-none-any.whl",
            "numpy-2.1-cp311-cp311-linux_x86_64.whl",
            "numpy-2.0-py3-none-any.whl",
        ]
    );
    let err = report.into_result().unwrap_err();
    assert!(err
        .to_string()
        .starts_with("5 problems\n  README.txt: not a wheel"));
}

#[test]
fn batch_of_valid_set_passes_and_matches_sequential_inspection() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SetOptions {
        big: Some(3 << 20),
        ..SetOptions::default()
    };
    let paths = build_set(dir.path(), 20, 11, &opts).unwrap();
    let report = validate_batch(
        &paths,
        &TagPolicy::new(["cp312"], ["any"]),
        &Allowlist::any(),
    );
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.wheels.len(), 21);
    let mut sorted = paths.clone();
    sorted.sort();
    for (wheel, path) in report.wheels.iter().zip(&sorted) {
        assert_eq!(&wheel.path, path);
        assert_eq!(wheel, &inspect(path).unwrap());
    }
    assert!(report.into_result().is_ok());
}

#[test]
fn collect_finds_wheels_recursively_and_keeps_explicit_files() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("x/y");
    std::fs::create_dir_all(&nested).unwrap();
    let w1 = write(dir.path(), &WheelSpec::new("a", "1.0"));
    let w2 = write(&nested, &WheelSpec::new("b", "1.0"));
    std::fs::write(nested.join("skip.tar.gz"), "x").unwrap();
    let explicit = dir.path().join("explicit.txt");
    std::fs::write(&explicit, "x").unwrap();

    let missing = dir.path().join("missing");
    let (got, problems) = collect_wheel_paths(&[
        dir.path().to_path_buf(),
        missing.clone(),
        explicit.clone(),
        w1.clone(),
    ]);
    let mut want = vec![w1, w2, explicit];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(kinds(&problems), [ProblemKind::Unreadable]);
    assert_eq!(problems[0].path, missing);
    assert!(problems[0]
        .message
        .starts_with(&format!("cannot read {}: ", missing.display())));
}

#[cfg(unix)]
#[test]
fn collect_reports_symlink_loops() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::os::unix::fs::symlink(dir.path(), sub.join("loop")).unwrap();
    let w = write(&sub, &WheelSpec::new("a", "1.0"));
    let (got, problems) = collect_wheel_paths(&[dir.path().to_path_buf()]);
    assert_eq!(got, [w]);
    assert_eq!(kinds(&problems), [ProblemKind::Unreadable], "{problems:?}");
}

#[test]
fn wheel_tag_parsing() {
    assert_eq!(
        "cp312-abi3-linux_x86_64".parse::<WheelTag>().unwrap(),
        WheelTag::new("cp312", "abi3", "linux_x86_64")
    );
    assert!("py2.py3-none-any".parse::<WheelTag>().is_err());
    assert!("py3-none".parse::<WheelTag>().is_err());
    assert_eq!(WheelTag::expand("py3-none-a.b").unwrap().len(), 2);
    assert!(WheelTag::expand("py3-none-a..b").is_none());
}

#[test]
fn problem_kinds_display() {
    assert_eq!(
        ProblemKind::DuplicateFilename.to_string(),
        "duplicate file name"
    );
    assert_eq!(ProblemKind::RecordMismatch.to_string(), "RECORD mismatch");
}

/// Peak resident memory of this process, in KiB (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Writes and inspects a wheel larger than 1 GiB; memory must stay flat. Slow in debug builds:
/// `cargo test -p wheelgate-wheel --release -- --ignored big_wheel`.
#[test]
#[ignore = "writes and hashes 1.1 GiB"]
fn big_wheel_streams_in_constant_memory() {
    let dir = tempfile::tempdir().unwrap();
    let spec = WheelSpec {
        payload_bytes: 1100 << 20,
        ..WheelSpec::new("big", "1.0")
    };
    let path = write(dir.path(), &spec);
    let before = peak_rss_kib();
    let info = inspect(&path).unwrap();
    assert_eq!(info.size, std::fs::metadata(&path).unwrap().len());
    if let (Some(before), Some(after)) = (before, peak_rss_kib()) {
        assert!(
            after < before + 64 * 1024,
            "peak RSS grew from {before} to {after} KiB"
        );
    }
}

#[test]
fn core_metadata_is_the_dist_info_metadata_file() {
    let dir = tempfile::tempdir().unwrap();
    let spec = WheelSpec {
        requires_python: Some(">=3.10".into()),
        ..WheelSpec::new("Foo_Bar", "1.0.0")
    };
    let path = write(dir.path(), &spec);
    let bytes = core_metadata(&path).unwrap().unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("Name: Foo_Bar"), "{text}");
    assert!(text.contains("Requires-Python: >=3.10"), "{text}");
    let missing = write(dir.path(), &with_defect(Defect::MissingMetadata));
    assert_eq!(core_metadata(&missing).unwrap(), None);
    let not_zip = write(dir.path(), &with_defect(Defect::NotZip));
    assert_eq!(core_metadata(&not_zip).unwrap(), None);
    assert!(core_metadata(&dir.path().join("absent.whl")).is_err());
}
