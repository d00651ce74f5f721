//! `wheelgate mirror`'s lock on the release store and `--verify`, on a real mirror: a release
//! promoted on the real local Pulp, mirrored through the real TLS front with the client
//! certificate. A second run while the lock is held (here by this test process, with the same
//! flock a run takes) fails at once with exit 4 and changes nothing; `--verify` passes on the
//! fresh tree and names exactly what was broken after a stored file is changed or deleted or a
//! page link broken (exit 1). The lock held by a run that is killed: tests/mirror.rs.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wheelgate_mirror::LOCK_FILE;
use wheelgate_testkit::front::Front;
use wheelgate_testkit::Run;

use crate::util::Sandbox;

const VARIANTS: [&str; 3] = ["cpu-ubi9", "cuda12.9-ubi9", "rocm6.4-ubi9"];

/// Every path below `dir` (symlinks not followed) with what it is: a directory, a symlink and
/// its target, a file with its size, modification time and sha256.
fn state(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let what = if m.is_symlink() {
                format!("-> {}", std::fs::read_link(&p).unwrap().display())
            } else if m.is_dir() {
                stack.push(p.clone());
                "dir".to_owned()
            } else {
                let bytes = std::fs::read(&p).unwrap();
                format!(
                    "{} {:?} {}",
                    m.len(),
                    m.modified().unwrap(),
                    hex::encode(Sha256::digest(&bytes))
                )
            };
            out.insert(p, what);
        }
    }
    out
}

/// The problems of a `--verify` JSON document as `(path, kind)`.
fn problems(r: &Run) -> Vec<(String, String)> {
    let doc = r.json();
    doc["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc:#}"))
        .iter()
        .map(|p| {
            (
                p["path"].as_str().unwrap().to_owned(),
                p["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_lock_and_verify_on_a_real_mirror() {
    let layout = "plain";
    let front = Front::find(layout).unwrap_or_else(|| {
        panic!("no TLS front for the {layout} layout: run `make front-up` (make test does)")
    });
    let sb = Sandbox::new(layout);
    sb.init();
    // Per variant: a shared project and one of its own.
    let shared = sb.project(0);
    let mut own = Vec::new();
    for (i, v) in VARIANTS.iter().enumerate() {
        let d = sb.wheels_dir(&format!("build-{v}"));
        sb.wheel(&d, &shared, "1.0", "py3-none-any", 2000);
        let p = sb.project(i + 1);
        sb.wheel(&d, &p, "1.0", "py3-none-any", 1000);
        own.push(p);
        let args = ["--release", "3.0", "--variant", v];
        sb.run(&[&["upload"], &args[..], &[d.to_str().unwrap()]].concat())
            .success();
        sb.run(&[&["vet"], &args[..]].concat()).success();
    }
    sb.run(&["promote", "--release", "3.0", "--all", "--yes"])
        .success();

    let dest = sb.dir.path().join("mirror");
    let dest_arg = dest.to_str().unwrap().to_owned();
    let template = format!(
        "{}{}{{product}}/{{release}}/{{variant}}/simple/",
        front.url, front.index_prefix
    );
    let mirror_args = |dest: &str| {
        [
            "mirror",
            "--release",
            "3.0",
            "--all",
            "--dest",
            dest,
            "--index-url-template",
            &template,
            "--cert",
            front.client_cert.to_str().unwrap(),
            "--ca-bundle",
            front.ca_bundle.to_str().unwrap(),
        ]
        .map(str::to_owned)
    };
    let mirror_into = |dest: &str| {
        let args = mirror_args(dest);
        sb.run(&args.each_ref().map(String::as_str))
    };
    // Offline: no index, no certificate.
    let verify_args = [
        "mirror",
        "--release",
        "3.0",
        "--all",
        "--dest",
        &dest_arg,
        "--verify",
    ];
    let verify_text = || sb.run(&verify_args);
    let verify = || sb.run_json(&verify_args);
    mirror_into(&dest_arg).success();
    let root = dest.join(&sb.product).join("3.0");
    let lock_path = root.join(LOCK_FILE);
    assert!(lock_path.is_file());

    // A fresh mirror is intact, in text and in JSON.
    let text = verify_text();
    text.success();
    assert!(
        text.stdout.contains("4 files (") && text.stdout.contains("checked: intact"),
        "{}",
        text.stdout
    );
    let ok = verify();
    ok.success();
    let doc = ok.json();
    assert_eq!(doc["intact"], true, "{doc:#}");
    assert_eq!(doc["problems"], serde_json::json!([]));
    assert_eq!(doc["files"], 4, "{doc:#}");
    // Per variant: the root and two projects, HTML and JSON.
    assert_eq!(doc["pages"], 3 * 6, "{doc:#}");
    assert_eq!(doc["variants"].as_array().unwrap().len(), 3);
    // --verify reads only the disk: the network flags do not go with it.
    sb.run(&[&verify_args[..], &["--delete"]].concat()).code(2);

    // The lock held (as a mirror run holds it): a second run fails at once, names the lock
    // file, exits 4 and changes nothing; a verification waits for nothing either.
    let before = state(&root);
    let held = File::open(&lock_path).unwrap();
    held.lock().unwrap();
    let r = mirror_into(&dest_arg);
    assert_eq!(r.code, 4, "{}", r.stderr);
    let lock_text = lock_path.display().to_string();
    assert!(
        r.stderr.contains(&format!(
            "{lock_text} is locked: another `wheelgate mirror` run is writing (or verifying) this release store; nothing was changed"
        )),
        "{}",
        r.stderr
    );
    snapshot!(sb, "mirror_locked", r);
    let j = verify();
    assert_eq!(j.code, 4, "{}", j.stderr);
    assert_eq!(j.json()["exit_code"], 4, "{}", j.stdout);
    assert!(
        j.json()["error"]
            .as_str()
            .unwrap()
            .contains("verification of the mirror of release 3.0 failed"),
        "{}",
        j.stdout
    );
    assert!(
        j.json()["causes"].to_string().contains(&format!(
            "{lock_text} is locked: another `wheelgate mirror` run is writing this release store; nothing was checked"
        )),
        "{}",
        j.stdout
    );
    // Another destination (another release store) is not blocked.
    let elsewhere = sb.dir.path().join("elsewhere");
    mirror_into(elsewhere.to_str().unwrap()).success();
    assert_eq!(state(&root), before, "a refused run changed the tree");
    held.unlock().unwrap();

    // Held shared (as a verification holds it): verifications go on, a mirror run does not.
    held.lock_shared().unwrap();
    verify().success();
    mirror_into(&dest_arg).code(4);
    drop(held);
    assert_eq!(state(&root), before);
    mirror_into(&dest_arg).success();

    // The manifest's paths of the files of variant 0's own project and of the shared one.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("manifest.json")).unwrap()).unwrap();
    let path_of = |project: &str| -> String {
        manifest["variants"][VARIANTS[0]]["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["project"] == project)
            .unwrap()["path"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let own_file = path_of(&own[0]);

    // One stored file changed (same size): exactly that file, sha256 mismatch.
    let original = std::fs::read(root.join(&own_file)).unwrap();
    let mut changed = original.clone();
    let last = changed.len() - 1;
    changed[last] ^= 0xff;
    std::fs::write(root.join(&own_file), &changed).unwrap();
    let r = verify();
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json()["intact"], false);
    assert_eq!(
        problems(&r),
        [(own_file.clone(), "sha256_mismatch".to_owned())]
    );
    let text = verify_text();
    assert_eq!(text.code, 1);
    assert!(
        text.stdout.contains("NOT intact, 1 problem:")
            && text.stdout.contains(&format!(
                "  {own_file}: sha256 mismatch: expected {}, found {}",
                hex::encode(Sha256::digest(&original)),
                hex::encode(Sha256::digest(&changed))
            )),
        "{}",
        text.stdout
    );
    std::fs::write(root.join(&own_file), &original).unwrap();
    verify().success();

    // One stored file deleted: missing, and both pages of its project link to nothing.
    std::fs::remove_file(root.join(&own_file)).unwrap();
    let r = verify();
    assert_eq!(r.code, 1);
    let page = format!("{}/simple/{}", VARIANTS[0], own[0]);
    assert_eq!(
        problems(&r),
        [
            (format!("{page}/index.html"), "dangling_link".to_owned()),
            (format!("{page}/index.json"), "dangling_link".to_owned()),
            (own_file.clone(), "missing".to_owned()),
        ]
    );
    for p in r.json()["problems"].as_array().unwrap() {
        if p["kind"] == "dangling_link" {
            assert_eq!(p["target"], own_file.as_str(), "{p}");
        }
    }
    // The next mirror run sees the tree is not intact and fetches it again.
    let args = mirror_args(&dest_arg);
    let fixed = sb.run_json(&args.each_ref().map(String::as_str));
    fixed.success();
    assert_eq!(fixed.json()["downloaded"], 1, "{}", fixed.stdout);
    verify().success();

    // One link of a page broken: that page, a dangling link to what it now names (and to the
    // PEP 658 metadata file beside it, which the same link implies).
    let html_path = root.join(format!("{page}/index.html"));
    let html = std::fs::read_to_string(&html_path).unwrap();
    let filename = own_file.rsplit('/').next().unwrap();
    let broken = html.replacen(&format!("{filename}#sha256="), "gone.whl#sha256=", 1);
    assert_ne!(broken, html);
    std::fs::write(&html_path, broken).unwrap();
    let r = verify();
    assert_eq!(r.code, 1);
    assert_eq!(
        problems(&r),
        [
            (format!("{page}/index.html"), "dangling_link".to_owned()),
            (format!("{page}/index.html"), "dangling_link".to_owned()),
        ]
    );
    let gone = own_file.replace(filename, "gone.whl");
    let targets: Vec<_> = r.json()["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["target"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(targets, [gone.clone(), format!("{gone}.metadata")]);
    std::fs::write(&html_path, html).unwrap();
    verify().success();
}
