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
    let m = messages(&check_closure(&dists, &x86(), &[]));
    assert_eq!(m.len(), 2, "{m:?}");
    assert!(m.iter().any(|x| x.contains("direct URL")), "{m:?}");
    assert!(
        m.iter().any(|x| x.contains("not a valid requirement")),
        "{m:?}"
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
        "torch-2.9.0-py3-none-any.whl: the index reports name numpy"
    );
    let mut y = d("torch", "2.9.0", "py3-none-any", &[]);
    y.version = "2.9".into();
    assert_eq!(check_metadata(&y), None, "PEP 440 equal");
    y.version = "3.0".into();
    assert!(check_metadata(&y).is_some());
}

#[test]
fn ten_thousand_wheels() {
    let mut dists = Vec::new();
    for i in 0..10_000 {
        let reqs: Vec<String> = (1..=5)
            .map(|k| format!("p{}>=1.0; python_version >= \"3.9\"", (i + k * 7) % 10_000))
            .collect();
        let reqs: Vec<&str> = reqs.iter().map(String::as_str).collect();
        dists.push(d(
            &format!("p{i}"),
            "1.0",
            "cp312-cp312-manylinux_2_28_x86_64",
            &reqs,
        ));
    }
    dists.push(d("broken", "1.0", "py3-none-any", &["p1>=2"]));
    let r = check_closure(&dists, &both(), &[]);
    // The manylinux x86_64 wheels are not installable on aarch64: only `broken` is checked there
    // and fails there too, merged into one failure.
    assert_eq!(
        r.failures.len(),
        1,
        "{:?}",
        &r.failures[..r.failures.len().min(3)]
    );
    assert_eq!(
        r.failures[0].message,
        "broken 1.0 requires p1>=2; this version has p1 1.0"
    );
}
