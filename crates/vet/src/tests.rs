use super::*;

fn d(name: &str, version: &str, tag: &str, reqs: &[&str]) -> Dist {
    Dist {
        filename: format!("{}-{version}-{tag}.whl", name.replace('-', "_")),
        name: name.into(),
        version: version.into(),
        requires_dist: reqs.iter().map(|r| r.to_string()).collect(),
        requires_python: None,
    }
}

fn x86() -> Vec<Target> {
    Target::for_variant(&["cp312".into()], &["linux_x86_64".into()])
}

fn both() -> Vec<Target> {
    Target::for_variant(
        &["cp312".into()],
        &["linux_x86_64".into(), "manylinux_2_28_aarch64".into()],
    )
}

fn messages(r: &ClosureReport) -> Vec<String> {
    r.failures.iter().map(|f| f.message.clone()).collect()
}

#[test]
fn targets_from_a_variant() {
    let t = both();
    let names: Vec<String> = t.iter().map(ToString::to_string).collect();
    assert_eq!(names, vec!["cp312-linux_x86_64", "cp312-linux_aarch64"]);
    assert!(Target::for_variant(&["py3".into()], &["any".into()]).is_empty());
}

#[test]
fn passing_closure() {
    let dists = vec![
        d(
            "vllm",
            "0.11.0",
            "cp312-cp312-manylinux_2_28_x86_64",
            &["torch==2.9.0", "numpy>=2"],
        ),
        d("torch", "2.9.0", "cp312-cp312-linux_x86_64", &["numpy"]),
        d("numpy", "2.1.0", "cp312-abi3-manylinux2014_x86_64", &[]),
    ];
    assert!(check_closure(&dists, &x86(), &[]).failures.is_empty());
}

#[test]
fn wrong_version_and_missing_project() {
    let dists = vec![
        d(
            "vllm",
            "0.11.0",
            "py3-none-any",
            &["torch==2.9.0", "flash-attn>=2"],
        ),
        d("torch", "2.8.0", "py3-none-any", &[]),
        d("torch", "2.7.1", "py3-none-any", &[]),
    ];
    let r = check_closure(&dists, &x86(), &[]);
    assert_eq!(
        messages(&r),
        vec![
            "vllm 0.11.0 requires flash-attn>=2; this version has no flash-attn",
            "vllm 0.11.0 requires torch==2.9.0; this version has torch 2.7.1, 2.8.0",
        ]
    );
    assert_eq!(r.failures[1].requirement, "torch==2.9.0");
}

#[test]
fn extras_and_markers() {
    let dists = vec![d(
        "app",
        "1.0",
        "py3-none-any",
        &[
            "torch; extra == \"cuda\"",
            "numpy; python_version < \"3.10\"",
            "arm-only; platform_machine == \"aarch64\"",
        ],
    )];
    let r = check_closure(&dists, &both(), &[]);
    assert_eq!(
        messages(&r),
        vec!["app 1.0 requires arm-only; this version has no arm-only"]
    );
    assert!(check_closure(&dists, &x86(), &[]).failures.is_empty());
}

#[test]
fn installability_counts() {
    // Only a Windows wheel of the dependency: not installable on Linux.
    let dists = vec![
        d("app", "1.0", "py3-none-any", &["dep>=1"]),
        d("dep", "1.0", "cp312-cp312-win_amd64", &[]),
    ];
    let r = check_closure(&dists, &x86(), &[]);
    assert_eq!(
        messages(&r),
        vec!["app 1.0 requires dep>=1; this version has dep 1.0 but not for cp312-linux_x86_64"]
    );
    // Requires-Python excludes the candidate.
    let mut dep = d("dep", "1.0", "py3-none-any", &[]);
    dep.requires_python = Some(">=3.13".into());
    let r = check_closure(
        &[d("app", "1.0", "py3-none-any", &["dep"]), dep.clone()],
        &x86(),
        &[],
    );
    assert_eq!(r.failures.len(), 1);
    dep.requires_python = Some(">=3.12.1".into());
    assert!(check_closure(
        &[d("app", "1.0", "py3-none-any", &["dep"]), dep],
        &x86(),
        &[]
    )
    .failures
    .is_empty());
    // An aarch64-only dependency fails only for the x86_64 target, merged across targets otherwise.
    let dists = vec![
        d("app", "1.0", "py3-none-any", &["dep"]),
        d("dep", "1.0", "cp312-cp312-manylinux_2_28_aarch64", &[]),
    ];
    let r = check_closure(&dists, &both(), &[]);
    assert_eq!(
        messages(&r),
        vec!["app 1.0 requires dep; this version has dep 1.0 but not for cp312-linux_x86_64"]
    );
    // musllinux is not glibc Linux.
    let dists = vec![
        d("app", "1.0", "py3-none-any", &["dep"]),
        d("dep", "1.0", "cp312-cp312-musllinux_1_2_x86_64", &[]),
    ];
    assert_eq!(check_closure(&dists, &x86(), &[]).failures.len(), 1);
    // A wheel not installable itself is not checked.
    let dists = vec![d("winonly", "1.0", "cp312-cp312-win_amd64", &["missing"])];
    assert!(check_closure(&dists, &x86(), &[]).failures.is_empty());
}

#[test]
fn external_and_normalization() {
    let dists = vec![
        d(
            "app",
            "1.0",
            "py3-none-any",
            &["nvidia-cublas-cu12>=12", "Foo_Bar>=1"],
        ),
        d("foo.bar", "1.0", "py3-none-any", &[]),
    ];
    assert!(check_closure(&dists, &x86(), &["nvidia-*".into()])
        .failures
        .is_empty());
    assert_eq!(check_closure(&dists, &x86(), &[]).failures.len(), 1);
}

#[test]
fn prereleases_only_when_asked_for() {
    let dists = vec![
        d("app", "1.0", "py3-none-any", &["dep>=1"]),
        d("dep", "2.0rc1", "py3-none-any", &[]),
    ];
    assert_eq!(check_closure(&dists, &x86(), &[]).failures.len(), 1);
    let dists = vec![
        d("app", "1.0", "py3-none-any", &["dep==2.0rc1"]),
        d("dep", "2.0rc1", "py3-none-any", &[]),
    ];
    assert!(check_closure(&dists, &x86(), &[]).failures.is_empty());
}

#[test]
fn direct_urls_and_bad_requirements_fail() {
    let dists = vec![d(
        "app",
        "1.0",
        "py3-none-any",
        &["dep @ https://example.com/dep.whl", "not a requirement!!"],
    )];
    assert_eq!(
        messages(&check_closure(&dists, &x86(), &[])),
        vec![
            "app 1.0 requires dep @ https://example.com/dep.whl; direct URL requirements are not allowed in an index",
            "app 1.0: Requires-Dist \"not a requirement!!\" is not a valid PEP 508 requirement: Expected one of `@`, `(`, `<`, `=`, `>`, `~`, `!`, `;`, found `a`",
        ]
    );
}

#[test]
fn metadata_consistency() {
    assert_eq!(
        check_metadata(&d("foo-bar", "1.0", "py3-none-any", &[])),
        None
    );
    let mut x = d("torch", "2.9.0", "py3-none-any", &[]);
    x.name = "numpy".into();
    assert_eq!(
        check_metadata(&x).unwrap(),
        "torch-2.9.0-py3-none-any.whl: Pulp reports name numpy"
    );
    let mut y = d("torch", "2.9.0", "py3-none-any", &[]);
    y.version = "2.9".into();
    assert_eq!(check_metadata(&y), None, "PEP 440 equal");
    y.version = "3.0".into();
    assert!(check_metadata(&y).is_some());
}

#[test]
fn metadata_of_sdists_and_bad_versions() {
    let mut s = d("foo-bar", "1.0", "py3-none-any", &[]);
    s.filename = "Foo.Bar-1.0.tar.gz".into();
    assert_eq!(check_metadata(&s), None);
    s.version = "1.1".into();
    assert_eq!(
        check_metadata(&s).unwrap(),
        "Foo.Bar-1.0.tar.gz: Pulp reports version 1.1"
    );
    let mut w = d("foo", "1.0", "py3-none-any", &[]);
    w.version = "not a version".into();
    assert!(check_metadata(&w).unwrap().contains("not PEP 440"));
    w.filename = "foo.exe".into();
    assert_eq!(
        check_metadata(&w).unwrap(),
        "foo.exe: neither a wheel nor an sdist"
    );
}

#[test]
fn target_strings_and_environment() {
    let t: Target = "cp313t-manylinux_2_28_aarch64".parse().unwrap();
    assert_eq!(t.to_string(), "cp313t-linux_aarch64");
    assert_eq!(
        (t.python, t.free_threaded, t.machine.as_str()),
        ((3, 13), true, "aarch64")
    );
    let env = t.marker_environment();
    assert_eq!(env.python_version().to_string(), "3.13");
    assert_eq!(env.python_full_version().to_string(), "3.13.0");
    assert_eq!(env.platform_machine(), "aarch64");
    assert_eq!(env.sys_platform(), "linux");
    assert_eq!(env.platform_system(), "Linux");
    assert_eq!(env.os_name(), "posix");
    assert_eq!(env.implementation_name(), "cpython");
    assert_eq!(env.platform_python_implementation(), "CPython");
    assert!(matches!(
        "py3-linux_x86_64".parse::<Target>(),
        Err(TargetError::Python(_))
    ));
    assert!(matches!(
        "cp312-win_amd64".parse::<Target>(),
        Err(TargetError::Platform(_))
    ));
    assert!(matches!(
        "cp312-musllinux_1_2_x86_64".parse::<Target>(),
        Err(TargetError::Platform(_))
    ));
    assert!(matches!(
        "cp312".parse::<Target>(),
        Err(TargetError::Syntax(_))
    ));
    assert!(matches!(
        Target::new((3, 12), false, "sparc"),
        Err(TargetError::Platform(_))
    ));
    // Duplicates collapse: two platform tags of one machine are one target.
    let t = Target::for_variant(
        &["cp312".into(), "cp313".into()],
        &[
            "linux_x86_64".into(),
            "manylinux2014_x86_64".into(),
            "any".into(),
        ],
    );
    let names: Vec<String> = t.iter().map(ToString::to_string).collect();
    assert_eq!(names, vec!["cp312-linux_x86_64", "cp313-linux_x86_64"]);
}

#[test]
fn wheel_tag_compatibility() {
    let cp312: Target = "cp312-linux_x86_64".parse().unwrap();
    let cp313t: Target = "cp313t-linux_x86_64".parse().unwrap();
    let ok = |t: &Target, tag: &str| {
        filename_tags(&format!("x-1-{tag}.whl"))
            .iter()
            .any(|w| t.installs_tag(w))
    };
    for tag in [
        "py3-none-any",
        "py2.py3-none-any",
        "py312-none-any",
        "py38-none-any",
        "cp3-none-any",
        "cp312-none-any",
        "cp312-cp312-linux_x86_64",
        "cp312-cp312-manylinux_2_28_x86_64",
        "cp312-cp312-manylinux1_x86_64",
        "cp39-abi3-manylinux2014_x86_64",
        "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64",
    ] {
        assert!(ok(&cp312, tag), "{tag}");
    }
    for tag in [
        "py2-none-any",
        "py313-none-any",
        "cp311-cp311-linux_x86_64",
        "cp313-abi3-linux_x86_64",
        "cp312-cp312t-linux_x86_64",
        "cp312-cp312d-linux_x86_64",
        "cp312-cp312-manylinux_2_28_aarch64",
        "cp312-cp312-musllinux_1_2_x86_64",
        "cp312-cp312-win_amd64",
        "pp310-pypy310_pp73-linux_x86_64",
    ] {
        assert!(!ok(&cp312, tag), "{tag}");
    }
    assert!(ok(&cp313t, "cp313-cp313t-linux_x86_64"));
    assert!(!ok(&cp313t, "cp313-cp313-linux_x86_64"));
    assert!(!ok(&cp313t, "cp39-abi3-linux_x86_64"));
    assert!(ok(&cp313t, "py3-none-any"));
}

#[test]
fn requires_python_rule() {
    let t: Target = "cp312-linux_x86_64".parse().unwrap();
    let admits = |s: &str| t.admits_python(&s.parse().unwrap());
    assert!(admits(">=3.9"));
    assert!(admits(">=3.12.1"));
    assert!(admits(">=3.12.1,<3.12.5"));
    assert!(admits("==3.12.*"));
    assert!(admits("~=3.10"));
    assert!(!admits("<3.12"));
    assert!(!admits(">=3.13"));
    assert!(!admits("!=3.12.*"));
    // An invalid Requires-Python doesn't hide the wheel.
    let mut dep = d("dep", "1.0", "py3-none-any", &[]);
    dep.requires_python = Some("not a specifier".into());
    let app = d("app", "1.0", "py3-none-any", &["dep"]);
    assert!(check_closure(&[app, dep], &[t], &[]).passed());
}

#[test]
fn requested_extras_are_checked() {
    let dists = vec![
        d("app", "1.0", "py3-none-any", &["torch[cuda]>=2"]),
        d(
            "torch",
            "2.9.0",
            "py3-none-any",
            &[
                "triton==3.5.0; extra == \"cuda\"",
                "sphinx; extra == \"docs\"",
                "numpy",
            ],
        ),
        d("numpy", "2.1.0", "py3-none-any", &[]),
    ];
    let r = check_closure(&dists, &both(), &[]);
    assert_eq!(
        messages(&r),
        vec!["torch[cuda] 2.9.0 requires triton==3.5.0; this version has no triton"]
    );
    assert_eq!(r.failures[0].extra.as_deref(), Some("cuda"));
    assert_eq!(
        r.failures[0].target,
        "cp312-linux_x86_64, cp312-linux_aarch64"
    );
    // Transitively: triton[x] asks for more.
    let mut more = dists.clone();
    more.push(d(
        "triton",
        "3.5.0",
        "py3-none-any",
        &["cmake; extra == \"build\""],
    ));
    more[1].requires_dist[0] = "triton[build]==3.5.0; extra == \"cuda\"".into();
    assert_eq!(
        messages(&check_closure(&more, &x86(), &[])),
        vec!["triton[build] 3.5.0 requires cmake; this version has no cmake"]
    );
    // Without the extra, torch's extras aren't checked.
    let mut plain = dists;
    plain[0].requires_dist = vec!["torch>=2".into()];
    assert!(check_closure(&plain, &x86(), &[]).passed());
}

#[test]
fn sdists_are_candidates_of_nothing() {
    let mut sdist = d("dep", "1.0", "py3-none-any", &["missing"]);
    sdist.filename = "dep-1.0.tar.gz".into();
    let dists = vec![d("app", "1.0", "py3-none-any", &["dep"]), sdist];
    assert_eq!(
        messages(&check_closure(&dists, &x86(), &[])),
        vec!["app 1.0 requires dep; this version has dep 1.0 but not for cp312-linux_x86_64"]
    );
}

#[test]
fn failures_merge_across_targets() {
    let dists = vec![
        d(
            "vllm",
            "0.11.0",
            "py3-none-any",
            &["torch==2.9.0", "dep @ https://example.com/dep.whl"],
        ),
        d("torch", "2.8.0", "py3-none-any", &[]),
    ];
    let r = check_closure(&dists, &both(), &[]);
    assert_eq!(r.failures.len(), 2, "{r:?}");
    for f in &r.failures {
        assert_eq!(f.target, "cp312-linux_x86_64, cp312-linux_aarch64");
        assert_eq!(f.project, "vllm");
        assert_eq!(f.version, "0.11.0");
        assert_eq!(f.filename, "vllm-0.11.0-py3-none-any.whl");
    }
    assert_eq!(
        r.failures[0].message,
        "vllm 0.11.0 requires dep @ https://example.com/dep.whl; direct URL requirements are not allowed in an index"
    );
    assert_eq!(
        r.failures[1].message,
        "vllm 0.11.0 requires torch==2.9.0; this version has torch 2.8.0"
    );
}

#[test]
fn digest_is_order_independent_and_binds_every_sha() {
    let files = vec![
        ("a-1.0-py3-none-any.whl".to_owned(), "aa".repeat(32)),
        ("b-1.0-py3-none-any.whl".to_owned(), "bb".repeat(32)),
    ];
    let mut reversed = files.clone();
    reversed.reverse();
    assert_eq!(digest(&files), digest(&reversed));
    assert_eq!(digest(&files).len(), 64);
    let mut changed = files.clone();
    changed[1].1 = "bc".repeat(32);
    assert_ne!(digest(&files), digest(&changed));
    assert_ne!(digest(&files), digest(&files[..1]));
    // Known value: sha256 of the empty string.
    assert_eq!(
        digest(&[]),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

/// 10,000 wheels with five requirements each over two targets (run it with `--release` to
/// time it).
#[test]
fn ten_thousand_wheels() {
    const N: usize = 10_000;
    let mut dists = Vec::new();
    for i in 0..N {
        let reqs: Vec<String> = (1..=5)
            .map(|k| match k {
                1 => format!("P{}_x>=1.0,<3; python_version >= \"3.9\"", (i + 7) % N),
                2 => format!("p{}-x~=1.0", (i + 13) % N),
                3 => format!("p{}.x!=1.5; platform_machine == \"aarch64\"", (i + 17) % N),
                4 => format!("p{}-x; extra == \"test\"", (i + 19) % N),
                _ => format!("nvidia-lib{}-cu12==12.*", i % 50),
            })
            .collect();
        let reqs: Vec<&str> = reqs.iter().map(String::as_str).collect();
        // Half the projects are pure Python; half have a wheel per machine.
        if i % 2 == 0 {
            dists.push(d(&format!("p{i}-x"), "1.0", "py3-none-any", &reqs));
        } else {
            for m in ["x86_64", "aarch64"] {
                dists.push(d(
                    &format!("p{i}-x"),
                    "1.0",
                    &format!("cp312-cp312-manylinux_2_28_{m}"),
                    &reqs,
                ));
            }
        }
    }
    dists.push(d("broken", "1.0", "py3-none-any", &["p1-x>=2"]));
    let r = check_closure(&dists, &both(), &["nvidia-*".into()]);
    assert_eq!(
        r.failures,
        vec![ClosureFailure {
            filename: "broken-1.0-py3-none-any.whl".into(),
            project: "broken".into(),
            version: "1.0".into(),
            extra: None,
            requirement: "p1-x>=2".into(),
            target: "cp312-linux_x86_64, cp312-linux_aarch64".into(),
            message: "broken 1.0 requires p1-x>=2; this version has p1-x 1.0".into(),
        }]
    );
    // Build provenance on the same set: one build per 1000 projects, so every tenth dependant
    // is older than a dependency; the check stays as cheap as the closure.
    let origins: Vec<Option<Origin>> = dists
        .iter()
        .map(|x| {
            let n: u64 = x.name[1..x.name.len() - 2].parse().unwrap_or(0);
            o(n / 1000 + 1, "b")
        })
        .collect();
    let f = check_builds(&dists, &origins, &both(), &["nvidia-*".into()]);
    assert!(!f.is_empty());
    assert!(f.iter().all(|f| f.code == BuildCode::MixedBuilds));
    assert!(f
        .iter()
        .all(|f| f.files[0].origin.version < f.files[1].origin.version));
}

fn o(version: u64, build: &str) -> Option<Origin> {
    Some(Origin {
        version,
        build: Some(build.into()),
    })
}

fn tagged(name: &str, version: &str, build: &str, tag: &str, reqs: &[&str]) -> Dist {
    Dist {
        filename: format!("{name}-{version}-{build}-{tag}.whl"),
        ..d(name, version, tag, reqs)
    }
}

const LINUX: &str = "cp312-cp312-linux_x86_64";

#[test]
fn a_wheel_older_than_its_rebuilt_dependency_is_a_mixed_build() {
    let dists = vec![
        d("core", "1.0", LINUX, &[]),
        d("ext", "1.0", LINUX, &["core"]),
        d("core", "1.1", LINUX, &[]),
    ];
    let origins = vec![o(1, "b1"), o(1, "b1"), o(2, "b2")];
    let f = check_builds(&dists, &origins, &x86(), &[]);
    assert_eq!(f.len(), 1, "{f:?}");
    let f = &f[0];
    assert_eq!(f.code, BuildCode::MixedBuilds);
    assert_eq!(f.code.to_string(), "mixed-builds");
    assert!(f.platform_specific);
    assert_eq!(f.filename(), "ext-1.0-cp312-cp312-linux_x86_64.whl");
    assert_eq!(f.files[1].filename, "core-1.1-cp312-cp312-linux_x86_64.whl");
    assert_eq!(f.files[0].origin, o(1, "b1").unwrap());
    assert_eq!(f.files[1].origin, o(2, "b2").unwrap());
    for part in [
        "ext 1.0",
        "build b1 (version 1)",
        "build b2 (version 2)",
        "ext-1.0-cp312-cp312-linux_x86_64.whl",
        "core-1.1-cp312-cp312-linux_x86_64.whl",
        "--replace",
    ] {
        assert!(f.message.contains(part), "{part}: {}", f.message);
    }
}

#[test]
fn a_rebuilt_dependant_or_a_pinned_old_dependency_is_not_mixed() {
    // ext rebuilt in build 3, after core 1.1 (build 2).
    let dists = vec![
        d("core", "1.1", LINUX, &[]),
        tagged("ext", "1.0", "1", LINUX, &["core"]),
    ];
    assert!(check_builds(&dists, &[o(2, "b2"), o(3, "b3")], &x86(), &[]).is_empty());
    // ext pins core 1.0: the newer core 1.1 is not what it installs with.
    let dists = vec![
        d("core", "1.0", LINUX, &[]),
        d("ext", "1.0", LINUX, &["core==1.0"]),
        d("core", "1.1", LINUX, &[]),
    ];
    let origins = vec![o(1, "b1"), o(1, "b1"), o(2, "b2")];
    assert!(check_builds(&dists, &origins, &x86(), &[]).is_empty());
    // A dependency that does not install in the target (aarch64 only) does not count, nor one
    // provided elsewhere, nor a file whose origin is unknown.
    let dists = vec![
        d("core", "1.0", LINUX, &[]),
        d("ext", "1.0", LINUX, &["core", "nvidia-x"]),
        d("core", "1.1", "cp312-cp312-linux_aarch64", &[]),
        d("nvidia-x", "1.0", LINUX, &[]),
    ];
    let origins = vec![o(1, "b1"), o(1, "b1"), o(2, "b2"), o(2, "b2")];
    assert!(check_builds(&dists, &origins, &x86(), &["nvidia-*".into()]).is_empty());
    let origins = vec![o(1, "b1"), o(1, "b1"), None, None];
    let dists2 = vec![
        dists[0].clone(),
        dists[1].clone(),
        d("core", "1.1", LINUX, &[]),
        dists[3].clone(),
    ];
    assert!(check_builds(&dists2, &origins, &x86(), &[]).is_empty());
}

#[test]
fn a_pure_dependant_is_reported_as_not_platform_specific() {
    let dists = vec![
        d("core", "1.0", LINUX, &[]),
        d("app", "1.0", "py3-none-any", &["core>=1"]),
        d("core", "1.1", LINUX, &[]),
    ];
    let origins = vec![o(1, "b1"), o(1, "b1"), o(2, "b2")];
    let f = check_builds(&dists, &origins, &x86(), &[]);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].code, BuildCode::MixedBuilds);
    assert!(!f[0].platform_specific);
}

#[test]
fn one_version_with_several_build_tags() {
    let dists = vec![
        d("core", "1.0", LINUX, &[]),
        tagged("core", "1.0", "1", LINUX, &[]),
        d("core", "1.1", LINUX, &[]),
        // Other platforms of the same build tag are fine.
        d("other", "2.0", LINUX, &[]),
        d("other", "2.0", "cp312-cp312-linux_aarch64", &[]),
    ];
    let origins = vec![o(1, "b1"), o(3, "b3"), o(2, "b2"), o(1, "b1"), o(1, "b1")];
    let f = check_builds(&dists, &origins, &[], &[]);
    assert_eq!(f.len(), 1, "{f:?}");
    let f = &f[0];
    assert_eq!(f.code.as_str(), "several-build-tags");
    assert!(f.platform_specific);
    let names: Vec<&str> = f.files.iter().map(|f| f.filename.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "core-1.0-1-cp312-cp312-linux_x86_64.whl",
            "core-1.0-cp312-cp312-linux_x86_64.whl"
        ]
    );
    assert_eq!(f.files[0].build_tag.as_deref(), Some("1"));
    assert_eq!(f.files[1].build_tag, None);
    assert!(f.message.contains("(none), 1"), "{}", f.message);
    assert!(f.message.contains("build b3 (version 3)"), "{}", f.message);
    assert!(f.message.contains("build b1 (version 1)"), "{}", f.message);
}

#[test]
fn build_tags_and_platforms_from_file_names() {
    assert_eq!(
        build_tag("a-1.0-13-py3-none-any.whl").as_deref(),
        Some("13")
    );
    assert_eq!(build_tag("a-1.0-py3-none-any.whl"), None);
    assert_eq!(build_tag("a-1.0.tar.gz"), None);
    assert!(platform_specific("a-1.0-cp312-cp312-linux_x86_64.whl"));
    assert!(!platform_specific("a-1.0-py2.py3-none-any.whl"));
    assert!(!platform_specific("a-1.0.tar.gz"));
    let unknown = Origin {
        version: 4,
        build: None,
    };
    assert_eq!(unknown.describe(), "version 4 (no build id recorded)");
}
