//! Issue 13's `wheelgate mirror`: a release with 3 variants (files per variant, one shared)
//! promoted on the real local Pulp and read through the real TLS front with the client
//! certificate, mirrored into static trees that pip installs from (`file://`, with every network
//! path blocked) and that pip and uv install from when a static web server serves them; a second
//! run transfers nothing, a new promotion only the new file. wiremock stubs (what a real Pulp
//! cannot be made to serve) for a wrong sha256, an unsafe name and a slow file to kill a run on.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wheelgate_mirror::LOCK_FILE;
use wheelgate_testkit::front::Front;
use wheelgate_testkit::Run;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::util::Sandbox;

const VARIANTS: [&str; 3] = ["cpu-ubi9", "cuda12.9-ubi9", "rocm6.4-ubi9"];

fn front(layout: &str) -> Front {
    Front::find(layout).unwrap_or_else(|| {
        panic!("no TLS front for the {layout} layout: run `make front-up` (make test does)")
    })
}

/// A venv with pip and uv from PyPI, shared with customer_install.rs (same directory).
fn venv() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("customer-venv");
        let works = |d: &Path| {
            Command::new(d.join("bin/uv"))
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
                && Command::new(d.join("bin/python"))
                    .args(["-m", "pip", "--version"])
                    .output()
                    .is_ok_and(|o| o.status.success())
        };
        if works(&dir) {
            return dir;
        }
        let tmp = dir.with_file_name(format!("mirror-venv.{}.tmp", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let ok = |c: &mut Command| assert!(c.status().unwrap().success(), "{c:?} failed");
        ok(Command::new("python3").args(["-m", "venv"]).arg(&tmp));
        ok(Command::new(tmp.join("bin/python")).args(["-m", "pip", "install", "--quiet", "uv"]));
        if !works(&dir) {
            let _ = std::fs::remove_dir_all(&dir);
            let _ = std::fs::rename(&tmp, &dir);
        }
        let _ = std::fs::remove_dir_all(&tmp);
        assert!(works(&dir), "the venv at {} does not work", dir.display());
        dir
    })
}

/// A command without the machine's pip/uv/TLS/proxy settings (PIP_FIND_LINKS, PIP_CERT, ...),
/// with no config file and no cache.
fn clean(program: &Path, sb: &Sandbox) -> Command {
    let mut c = Command::new(program);
    for (k, _) in std::env::vars_os() {
        if let Some(k) = k.to_str() {
            let lower = k.to_ascii_lowercase();
            if ["PIP_", "UV_", "SSL_", "PYTHON", "VIRTUAL_ENV"]
                .iter()
                .any(|p| k.starts_with(p))
                || ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"].contains(&k)
                || lower.ends_with("_proxy")
            {
                c.env_remove(k);
            }
        }
    }
    let home = sb.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    c.env("HOME", &home)
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env("UV_NO_CONFIG", "1")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_NO_CACHE_DIR", "1")
        .env("UV_PYTHON_DOWNLOADS", "never")
        .current_dir(sb.dir.path());
    c
}

/// Install `project` from `index` with pip (or uv) into a fresh dir; the run and the dir.
fn install(sb: &Sandbox, uv: bool, index: &str, project: &str, offline: bool) -> (Run, PathBuf) {
    let python = venv().join("bin/python");
    let target = sb
        .dir
        .path()
        .join(format!("site-{}", wheelgate_testkit::unique_id()));
    let mut c = if uv {
        let mut c = clean(&venv().join("bin/uv"), sb);
        c.args(["pip", "install", "--no-deps", "--python"])
            .arg(&python)
            .arg("--index-url")
            .arg(index)
            .arg("--target")
            .arg(&target)
            .arg(project)
            .env(
                "UV_CACHE_DIR",
                sb.dir.path().join(format!("uv-cache-{project}")),
            );
        c
    } else {
        let mut c = clean(&python, sb);
        c.args([
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--index-url",
            index,
            "--target",
        ])
        .arg(&target)
        .arg(project);
        c
    };
    if offline {
        // Every network path leads nowhere: only the file:// index can answer.
        for k in [
            "http_proxy",
            "https_proxy",
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "all_proxy",
            "ALL_PROXY",
        ] {
            c.env(k, "http://127.0.0.1:9");
        }
        c.env("no_proxy", "").env("NO_PROXY", "");
    }
    (c.output().unwrap().into(), target)
}

fn imports(sb: &Sandbox, target: &Path, module: &str) -> String {
    let mut c = clean(&venv().join("bin/python"), sb);
    c.env("PYTHONPATH", target)
        .arg("-c")
        .arg(format!("import {module}; print({module}.__version__)"));
    let r: Run = c.output().unwrap().into();
    assert_eq!(r.code, 0, "import {module} failed: {}", r.stderr);
    r.stdout.trim().to_owned()
}

/// `python3 -m http.server` on loopback serving `dir`, on a free port; killed on drop.
struct StaticServer {
    child: Child,
    url: String,
}

impl StaticServer {
    fn start(dir: &Path) -> Self {
        let mut child = Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                "0",
                "--directory",
            ])
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // "Serving HTTP on 127.0.0.1 port 34567 (http://127.0.0.1:34567/) ..."
        let port = line
            .split_whitespace()
            .skip_while(|w| *w != "port")
            .nth(1)
            .unwrap_or_else(|| panic!("no port in {line:?}"))
            .to_owned();
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn store_files(root: &Path) -> BTreeMap<String, usize> {
    let mut names = BTreeMap::new();
    for d in std::fs::read_dir(root.join("files")).unwrap() {
        for f in std::fs::read_dir(d.unwrap().path()).unwrap() {
            let n = f.unwrap().file_name().to_string_lossy().into_owned();
            *names.entry(n).or_insert(0) += 1;
        }
    }
    names
}

fn file_url(p: &Path) -> String {
    format!("file://{}", p.display())
}

async fn mirror_a_release_through_the_front(layout: &'static str) {
    let front = front(layout);
    let sb = Sandbox::new(layout);
    sb.init();
    // Per variant: the shared project (the same bytes everywhere) and one of its own.
    let shared = sb.project(0);
    let mut own = Vec::new();
    for (i, v) in VARIANTS.iter().enumerate() {
        let d = sb.wheels_dir(&format!("build-{v}"));
        sb.wheel(&d, &shared, "1.0", "py3-none-any", 3000);
        let p = sb.project(i + 1);
        sb.wheel(&d, &p, "1.0", "py3-none-any", 1000 * (i as u64 + 1));
        own.push(p);
        let args = ["--release", "3.0", "--variant", v];
        sb.run(&[&["upload"], &args[..], &[d.to_str().unwrap()]].concat())
            .success();
        sb.run(&[&["vet"], &args[..]].concat()).success();
    }
    sb.run(&["promote", "--release", "3.0", "--all", "--yes"])
        .success();

    let dest = sb.dir.path().join("mirror");
    let template = format!(
        "{}{}{{product}}/{{release}}/{{variant}}/simple/",
        front.url, front.index_prefix
    );
    let dest_arg = dest.to_str().unwrap().to_owned();
    let args = [
        "mirror",
        "--release",
        "3.0",
        "--all",
        "--dest",
        &dest_arg,
        "--index-url-template",
        &template,
        "--cert",
        front.client_cert.to_str().unwrap(),
        "--ca-bundle",
        front.ca_bundle.to_str().unwrap(),
    ];
    let mirror = |extra: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(extra);
        let r = sb.run_json(&all);
        r.success();
        r.json()
    };
    // With -v (one log line per request): the summary and the URLs requested.
    let mirror_v = || {
        let mut all = vec!["-v", "--output", "json"];
        all.extend_from_slice(&args);
        let r = sb.run(&all);
        r.success();
        (r.json(), requested(&r.stderr))
    };

    // Without the client certificate the front refuses, and nothing is switched.
    let r = sb.run(&[
        "mirror",
        "--release",
        "3.0",
        "--all",
        "--dest",
        dest.to_str().unwrap(),
        "--index-url-template",
        &template,
        "--ca-bundle",
        front.ca_bundle.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("client certificate"), "{}", r.stderr);
    // The hint names mirror's own flags, not promote's --index-*.
    let hint = r.stderr.split("\nhint: ").nth(1).unwrap_or_default();
    assert!(
        hint.contains("--cert") && !hint.contains("--index-"),
        "{}",
        r.stderr
    );

    let s = mirror(&[]);
    assert_eq!(s["files"], 4, "{s:#}");
    assert_eq!(s["downloaded"], 4);
    assert_eq!(s["skipped"], 0);
    assert_eq!(s["deleted"], 0);
    assert!(s["bytes_downloaded"].as_u64().unwrap() > 6000, "{s:#}");
    assert_eq!(s["variants"].as_array().unwrap().len(), 3);

    let root = dest.join(&sb.product).join("3.0");
    let stored = store_files(&root);
    let shared_files: Vec<_> = stored
        .keys()
        .filter(|k| k.starts_with(&format!("{}-", shared.replace('-', "_"))) && k.ends_with(".whl"))
        .collect();
    assert_eq!(shared_files.len(), 1, "{stored:?}");
    assert_eq!(
        stored[shared_files[0]], 1,
        "the shared file is stored once: {stored:?}"
    );
    assert_eq!(
        stored.keys().filter(|k| k.ends_with(".whl")).count(),
        4,
        "{stored:?}"
    );
    // Pulp offers PEP 658 metadata: mirrored and advertised.
    assert!(
        stored.contains_key(&format!("{}.metadata", shared_files[0])),
        "{stored:?}"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("manifest.json")).unwrap()).unwrap();
    for (i, v) in VARIANTS.iter().enumerate() {
        let files = manifest["variants"][v]["files"].as_array().unwrap();
        assert_eq!(files.len(), 2, "{v}: {manifest:#}");
        let names: Vec<_> = files
            .iter()
            .map(|f| f["project"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&shared.as_str()) && names.contains(&own[i].as_str()),
            "{names:?}"
        );
        for f in files {
            let bytes = std::fs::read(root.join(f["path"].as_str().unwrap())).unwrap();
            assert_eq!(
                hex::encode(Sha256::digest(&bytes)),
                f["sha256"].as_str().unwrap()
            );
            assert_eq!(bytes.len() as u64, f["size"].as_u64().unwrap());
            assert!(f["url"].as_str().unwrap().starts_with(&front.url), "{f}");
        }
        // The static pages carry the hashes (HTML) and PEP 691 JSON beside them.
        let simple = root.join(v).join("simple");
        assert!(simple.is_symlink());
        let page = std::fs::read_to_string(simple.join(&own[i]).join("index.html")).unwrap();
        assert!(page.contains("#sha256="), "{page}");
        assert!(page.contains("data-core-metadata=\"sha256="), "{page}");
        let json: serde_json::Value = serde_json::from_slice(
            &std::fs::read(simple.join(&own[i]).join("index.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            json["files"][0]["filename"]
                .as_str()
                .unwrap()
                .split('-')
                .next()
                .unwrap(),
            own[i].replace('-', "_")
        );
    }

    // pip from the file:// tree, every network path blocked: the shared and the own project.
    for (i, v) in VARIANTS.iter().enumerate() {
        let index = file_url(&root.join(v).join("simple"));
        for p in [&shared, &own[i]] {
            let (r, target) = install(&sb, false, &index, p, true);
            assert_eq!(r.code, 0, "pip {v} {p}\n{}\n{}", r.stdout, r.stderr);
            assert_eq!(imports(&sb, &target, &p.replace('-', "_")), "1.0");
        }
        // Another variant's own project is not in this tree.
        let (r, _) = install(&sb, false, &index, &own[(i + 1) % 3], true);
        assert_ne!(r.code, 0, "{v} serves another variant's project");
    }

    // The same trees from a static web server: pip and uv.
    let server = StaticServer::start(&dest);
    for (i, v) in VARIANTS.iter().enumerate() {
        let index = format!("{}/{}/3.0/{v}/simple/", server.url, sb.product);
        for uv in [false, true] {
            let (r, target) = install(&sb, uv, &index, &own[i], false);
            assert_eq!(r.code, 0, "uv={uv} {v}\n{}\n{}", r.stdout, r.stderr);
            assert_eq!(imports(&sb, &target, &own[i].replace('-', "_")), "1.0");
        }
    }
    drop(server);

    // A second run transfers nothing, and reads one page per variant: the index root, answered
    // 304 to If-None-Match with the ETag the first run recorded (Pulp's token of the served
    // repository version, passed by the front).
    let manifest_before = std::fs::read(root.join("manifest.json")).unwrap();
    let links_before: Vec<_> = VARIANTS
        .iter()
        .map(|v| std::fs::read_link(root.join(v).join("simple")).unwrap())
        .collect();
    let (again, urls) = mirror_v();
    assert_eq!(urls.len(), 3, "one request per variant: {urls:#?}");
    for v in VARIANTS {
        assert!(
            urls.iter()
                .any(|u| u.ends_with(&format!("/3.0/{v}/simple/"))),
            "{v}: {urls:#?}"
        );
    }
    assert_eq!(
        std::fs::read(root.join("manifest.json")).unwrap(),
        manifest_before
    );
    for (v, before) in VARIANTS.iter().zip(&links_before) {
        assert_eq!(
            &std::fs::read_link(root.join(v).join("simple")).unwrap(),
            before,
            "{v} switched on a no-op run"
        );
    }
    assert_eq!(
        (
            &again["downloaded"],
            &again["bytes_downloaded"],
            &again["skipped"]
        ),
        (
            &serde_json::json!(0),
            &serde_json::json!(0),
            &serde_json::json!(4)
        ),
        "{again:#}"
    );

    // A new promotion: the next run fetches only the new file.
    let d = sb.wheels_dir("build-new");
    let newer = sb.wheel(&d, &own[0], "2.0", "py3-none-any", 500);
    let args = ["--release", "3.0", "--variant", VARIANTS[0]];
    sb.run(&[&["upload"], &args[..], &[d.to_str().unwrap()]].concat())
        .success();
    sb.run(&[&["vet"], &args[..]].concat()).success();
    sb.run(&[&["promote"], &args[..], &["--yes"]].concat())
        .success();
    let (s, urls) = mirror_v();
    assert_eq!(s["downloaded"], 1, "{s:#}");
    // The promoted variant is read again; the others answer 304 to their one request.
    for v in &VARIANTS[1..] {
        let theirs: Vec<_> = urls
            .iter()
            .filter(|u| u.contains(&format!("/3.0/{v}/")))
            .collect();
        assert_eq!(theirs.len(), 1, "{v}: {urls:#?}");
    }
    assert!(
        urls.iter()
            .any(|u| u.contains(&format!("/3.0/{}/simple/{}/", VARIANTS[0], own[0]))),
        "{urls:#?}"
    );
    // The new wheel, nothing else.
    let bytes = std::fs::read(&newer).unwrap();
    let stored = root
        .join("files")
        .join(sha(&bytes))
        .join(newer.file_name().unwrap());
    assert_eq!(std::fs::read(&stored).unwrap(), bytes);
    // Its PEP 658 metadata file is the wheel's METADATA, whose sha256 Pulp advertises: taken
    // from the verified wheel, not transferred.
    assert!(
        Path::new(&format!("{}.metadata", stored.display())).is_file(),
        "{s:#}"
    );
    assert_eq!(
        s["bytes_downloaded"].as_u64().unwrap(),
        bytes.len() as u64,
        "{s:#}"
    );
    let (r, target) = install(
        &sb,
        false,
        &file_url(&root.join(VARIANTS[0]).join("simple")),
        &own[0],
        true,
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(imports(&sb, &target, &own[0].replace('-', "_")), "2.0");
}

both_layouts!(mirror_a_release_through_the_front);

/// The URLs of the requests a `-v` log shows (one `index_request` line per answered request).
fn requested(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("index_request{") && l.trim_end().ends_with("response"))
        .filter_map(|l| {
            let u = l.split("url=").nth(1)?;
            Some(u.split([' ', '}']).next()?.trim_matches('"').to_owned())
        })
        .collect()
}

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// A stub index for variant `cpu-ubi9`: one project `p` with `files` (name, bytes, advertised
/// sha256), each file answered after `delay` when given.
async fn stub(server: &MockServer, files: &[(&str, Vec<u8>, String, Option<Duration>)]) {
    let v = "cpu-ubi9";
    Mock::given(method("GET"))
        .and(path(format!("/{v}/simple/")))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<a href=\"p/\">p</a>", "text/html"))
        .mount(server)
        .await;
    let links: String = files
        .iter()
        .enumerate()
        .map(|(i, (name, _, h, _))| format!("<a href=\"/f/{i}.whl#sha256={h}\">{name}</a>\n"))
        .collect();
    Mock::given(method("GET"))
        .and(path(format!("/{v}/simple/p/")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(links, "text/html"))
        .mount(server)
        .await;
    for (i, (_, bytes, _, delay)) in files.iter().enumerate() {
        let mut r = ResponseTemplate::new(200).set_body_bytes(bytes.clone());
        if let Some(d) = delay {
            r = r.set_delay(*d);
        }
        Mock::given(method("GET"))
            .and(path(format!("/f/{i}.whl")))
            .respond_with(r)
            .mount(server)
            .await;
    }
}

fn stub_args<'a>(server: &'a str, dest: &'a str) -> Vec<&'a str> {
    vec![
        "mirror",
        "--release",
        "3.0",
        "--variant",
        "cpu-ubi9",
        "--dest",
        dest,
        "--index-url-template",
        server,
    ]
}

/// Every regular file below `dir` (symlinks and directories not counted).
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_symlink() {
                out.push(p);
            } else if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_sha256_or_an_unsafe_name_is_refused_and_nothing_is_kept() {
    let sb = Sandbox::new("plain");
    let outer = sb.dir.path().join("outer");
    let dest = outer.join("dest");
    std::fs::create_dir_all(&dest).unwrap();

    let server = MockServer::start().await;
    stub(
        &server,
        &[(
            "p-1.0-py3-none-any.whl",
            b"served".to_vec(),
            sha(b"listed"),
            None,
        )],
    )
    .await;
    let template = format!("{}/{{variant}}/simple/", server.uri());
    let r = sb.run(&stub_args(&template, dest.to_str().unwrap()));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("sha256 mismatch"), "{}", r.stderr);
    // Nothing but the store's lock file (it stays; the lock goes with the process).
    let lock_file = dest.join(&sb.product).join("3.0").join(LOCK_FILE);
    assert_eq!(
        files_below(&outer),
        vec![lock_file.clone()],
        "nothing of the file is kept"
    );
    snapshot!(sb, "mirror_sha256_mismatch", r);

    let server = MockServer::start().await;
    stub(
        &server,
        &[("../evil.whl", b"evil".to_vec(), sha(b"evil"), None)],
    )
    .await;
    let template = format!("{}/{{variant}}/simple/", server.uri());
    let j = sb.run_json(&stub_args(&template, dest.to_str().unwrap()));
    assert_eq!(j.code, 1, "{}", j.stderr);
    assert!(
        j.json()["causes"].to_string().contains("../evil.whl"),
        "{}",
        j.stdout
    );
    assert_eq!(
        files_below(&outer),
        vec![lock_file],
        "nothing written anywhere but the lock file"
    );
    assert!(!sb.dir.path().join("evil.whl").exists());
    let r = sb.run(&stub_args(&template, dest.to_str().unwrap()));
    snapshot!(sb, "mirror_unsafe_name", r);
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    // Bounded wait for a state, not a timing assertion.
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_mirror_completes_when_run_again() {
    let sb = Sandbox::new("plain");
    let dest = sb.dir.path().join("dest");
    let server = MockServer::start().await;
    // Nine quick files and one that keeps the run busy until it is killed.
    let files: Vec<_> = (0..10)
        .map(|i| {
            let bytes = format!("wheel {i}").repeat(100).into_bytes();
            let h = sha(&bytes);
            let delay = (i == 9).then_some(Duration::from_secs(30));
            (format!("p-1.{i}-py3-none-any.whl"), bytes, h, delay)
        })
        .collect();
    let borrowed: Vec<_> = files
        .iter()
        .map(|(n, b, h, d)| (n.as_str(), b.clone(), h.clone(), *d))
        .collect();
    stub(&server, &borrowed).await;
    let template = format!("{}/{{variant}}/simple/", server.uri());
    let root = dest.join(&sb.product).join("3.0");
    let mut child = sb
        .cmd()
        .args(stub_args(&template, dest.to_str().unwrap()))
        .arg("--jobs")
        .arg("10")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the quick files", || {
        root.join("files").is_dir() && store_files(&root).len() >= 9
    });
    // A second run into the same release store while the first one holds its lock: refused at
    // once (exit 4), naming the lock file, before touching anything.
    let done = |root: &Path| {
        let mut s = store_files(root);
        s.retain(|name, _| !name.ends_with(".part"));
        s
    };
    let before = done(&root);
    let second = sb.run(&stub_args(&template, dest.to_str().unwrap()));
    assert_eq!(second.code, 4, "{}", second.stderr);
    let lock = root.join(LOCK_FILE);
    assert!(
        second.stderr.contains(&format!(
            "{} is locked: another `wheelgate mirror` run is writing",
            lock.display()
        )),
        "{}",
        second.stderr
    );
    assert_eq!(done(&root), before);
    // Killed (SIGKILL): the kernel releases its lock, so the next run can go on.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !root.join("cpu-ubi9/simple").exists(),
        "switched before every file was there"
    );
    assert!(
        !root.join("manifest.json").exists(),
        "the manifest is written last"
    );

    // Run again, the slow file now quick: it completes, fetching only what was missing.
    server.reset().await;
    let quick: Vec<_> = borrowed
        .into_iter()
        .map(|(n, b, h, _)| (n, b, h, None))
        .collect();
    stub(&server, &quick).await;
    let r = sb.run_json(&stub_args(&template, dest.to_str().unwrap()));
    r.success();
    assert_eq!(
        (
            r.json()["downloaded"].as_u64(),
            r.json()["skipped"].as_u64()
        ),
        (Some(1), Some(9)),
        "{}",
        r.stdout
    );
    let page = std::fs::read_to_string(root.join("cpu-ubi9/simple/p/index.html")).unwrap();
    for (name, bytes, h, _) in &files {
        assert!(page.contains(name.as_str()), "{page}");
        assert_eq!(
            &std::fs::read(root.join("files").join(h).join(name)).unwrap(),
            bytes
        );
    }
    let leftovers: Vec<_> = files_below(&root)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
