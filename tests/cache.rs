//! The cache of version changes as the binary uses it: in the sandbox's cache directory
//! (`WHEELGATE_CACHE_DIR`, never this machine's home), nothing written with `--no-cache` or
//! `WHEELGATE_NO_CACHE`, and a vet through a warm cache reports what a vet without one does.

use std::path::Path;

use crate::util::Sandbox;

/// The cache entries under `dir` (none when it does not exist): every file but the mark of the
/// last clean-up sweep.
fn files_under(dir: &Path) -> usize {
    walk(dir)
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "last-sweep"))
        .count()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.flat_map(|e| {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p)
        } else {
            vec![p]
        }
    })
    .collect()
}

async fn no_cache_writes_nothing(layout: &'static str) {
    let sb = Sandbox::new(layout);
    sb.init();
    let v = "cpu-ubi9";
    let d = sb.wheels_dir("build");
    for i in 0..3 {
        sb.wheel(
            &d,
            &sb.project(i),
            "1.0",
            "cp312-cp312-manylinux_2_28_x86_64",
            100,
        );
    }
    sb.run(&[
        "upload",
        "--release",
        "3.0",
        "--variant",
        v,
        d.to_str().unwrap(),
    ])
    .success();
    let vet = ["vet", "--release", "3.0", "--variant", v];
    let cache = sb.cache_dir();

    let off = sb.run_json(&[&["--no-cache"][..], &vet[..]].concat());
    off.success();
    assert!(!cache.exists(), "--no-cache wrote {:?}", walk(&cache));
    let r = sb
        .cmd()
        .env("WHEELGATE_NO_CACHE", "1")
        .args(vet)
        .output()
        .unwrap();
    assert!(r.status.success());
    assert!(
        !cache.exists(),
        "WHEELGATE_NO_CACHE wrote {:?}",
        walk(&cache)
    );
    // WHEELGATE_NO_CACHE=false (or 0, or empty) leaves it on.
    let r = sb
        .cmd()
        .env("WHEELGATE_NO_CACHE", "false")
        .args(["--output", "json"])
        .args(vet)
        .output()
        .unwrap();
    assert!(r.status.success());
    let cold: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(files_under(&cache), 1, "version 1 added 3 files: one entry");
    assert!(cache.join("last-sweep").is_file(), "the first write swept");

    let warm = sb.run_json(&vet);
    warm.success();
    let (off, warm) = (off.json(), warm.json());
    for doc in [&cold, &warm] {
        for k in ["files", "digest", "passed", "findings", "warned"] {
            assert_eq!(doc[k], off[k], "{k}");
        }
    }
    assert_eq!(warm["files"], 3);
    assert_eq!(files_under(&cache), 1);
}

both_layouts!(no_cache_writes_nothing);
