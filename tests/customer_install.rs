//! Issue 12's customer install, end to end through the real TLS front (config/front: nginx
//! demanding a client certificate, throwaway PKI) in both layouts: with the files from
//! `wheelgate client-config` (pip, uv, env) and a certificate from `wheelgate client-cert` made
//! of an entitlement-like `<serial>.pem` + `<serial>-key.pem`, real pip and real `uv pip install`
//! (uv from PyPI in a venv made once per test run) install a promoted wheel and it imports;
//! without a certificate, with an expired one or one from another CA they are refused, and the
//! customer certificate does not open the `-test` index.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use wheelgate_testkit::front::Front;
use wheelgate_testkit::Run;

use crate::util::Sandbox;

pub(crate) fn front(layout: &str) -> Front {
    Front::find(layout).unwrap_or_else(|| {
        panic!("no TLS front for the {layout} layout: run `make front-up` (make test does)")
    })
}

/// A venv with pip and uv (from PyPI), made once per test run under the target dir (and kept
/// for the next run when it works).
pub(crate) fn venv() -> &'static Path {
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
        let tmp = dir.with_file_name(format!("customer-venv.{}.tmp", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let run = |c: &mut Command| {
            let o = c.output().unwrap();
            assert!(
                o.status.success(),
                "{c:?} failed\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        };
        run(Command::new("python3").args(["-m", "venv"]).arg(&tmp));
        // From PyPI with the machine's own settings (its CA bundle, its index).
        run(Command::new(tmp.join("bin/python")).args(["-m", "pip", "install", "--quiet", "uv"]));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&tmp, &dir).unwrap();
        assert!(works(&dir), "the venv at {} does not work", dir.display());
        dir
    })
}

/// A command without the machine's pip/uv/TLS settings (PIP_CERT, PIP_FIND_LINKS, SSL_CERT_FILE,
/// ...): only what the test gives it counts.
pub(crate) fn clean(program: &Path, sb: &Sandbox) -> Command {
    let mut c = Command::new(program);
    for (k, _) in std::env::vars_os() {
        if let Some(k) = k.to_str() {
            if ["PIP_", "UV_", "SSL_", "PYTHON", "VIRTUAL_ENV"]
                .iter()
                .any(|p| k.starts_with(p))
                || ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"].contains(&k)
            {
                c.env_remove(k);
            }
        }
    }
    let home = sb.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    c.env("HOME", &home)
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_NO_CACHE_DIR", "1")
        .env("UV_PYTHON_DOWNLOADS", "never")
        .current_dir(sb.dir.path());
    c
}

/// How pip or uv are configured for one attempt.
enum Setup<'a> {
    /// pip with `PIP_CONFIG_FILE`.
    PipConf(&'a Path),
    /// uv with `UV_CONFIG_FILE` and `SSL_CLIENT_CERT` (when given) + `SSL_CERT_FILE`.
    UvToml(&'a Path, Option<&'a Path>, &'a Path),
    /// pip (no config file) after sourcing the exports.
    PipEnv(&'a Path),
    /// uv (no config file) after sourcing the exports.
    UvEnv(&'a Path),
}

/// Install `project` into a fresh target dir the way `setup` says; the run and the dir.
fn install(sb: &Sandbox, setup: &Setup, project: &str, n: usize) -> (Run, PathBuf) {
    let venv = venv();
    let target = sb.dir.path().join(format!("site-{n}"));
    let python = venv.join("bin/python");
    let pip = |c: &mut Command| {
        c.args(["-m", "pip", "install", "-vv", "--no-deps", "--target"])
            .arg(&target)
            .arg(project);
    };
    let uv = |c: &mut Command| {
        c.args(["pip", "install", "--no-deps", "--python"])
            .arg(&python)
            .arg("--target")
            .arg(&target)
            .arg(project);
    };
    let mut c;
    match setup {
        Setup::PipConf(conf) => {
            c = clean(&python, sb);
            c.env("PIP_CONFIG_FILE", conf);
            pip(&mut c);
        }
        Setup::UvToml(toml, cert, ca) => {
            c = clean(&venv.join("bin/uv"), sb);
            c.env("UV_CONFIG_FILE", toml).env("SSL_CERT_FILE", ca);
            if let Some(cert) = cert {
                c.env("SSL_CLIENT_CERT", cert);
            }
            uv(&mut c);
        }
        Setup::PipEnv(exports) | Setup::UvEnv(exports) => {
            c = clean(Path::new("sh"), sb);
            c.arg("-c")
                .arg(r#". "$0" && exec "$@""#)
                .arg(exports)
                // pip reads no config file at all with os.devnull.
                .env("PIP_CONFIG_FILE", "/dev/null")
                .env("UV_NO_CONFIG", "1");
            if matches!(setup, Setup::PipEnv(_)) {
                c.arg(&python);
                pip(&mut c);
            } else {
                c.arg(venv.join("bin/uv"));
                uv(&mut c);
            }
        }
    }
    // A cache per attempt: uv would otherwise answer from what an earlier attempt fetched.
    c.env("UV_CACHE_DIR", sb.dir.path().join(format!("uv-cache-{n}")));
    (c.output().unwrap().into(), target)
}

/// Whether `module` imports from `target` (and says its version).
fn imports(sb: &Sandbox, target: &Path, module: &str) -> Run {
    let mut c = clean(&venv().join("bin/python"), sb);
    c.env("PYTHONPATH", target)
        .arg("-c")
        .arg(format!("import {module}; print({module}.__version__)"));
    c.output().unwrap().into()
}

fn toml_path(p: &Path) -> String {
    format!("{:?}", p.to_str().unwrap())
}

/// `client-config` in `format` with `extra` args, written to `file`; `file`.
pub(crate) fn client_config(sb: &Sandbox, format: &str, extra: &[&str], file: &str) -> PathBuf {
    let mut args = vec![
        "client-config",
        "--release",
        "3.0",
        "--variant",
        "cpu-ubi9",
        "--format",
        format,
    ];
    args.extend_from_slice(extra);
    let r = sb.run(&args);
    r.success();
    let path = sb.dir.path().join(file);
    std::fs::write(&path, &r.stdout).unwrap();
    path
}

/// A project (version 1.0, `py3-none-any`) promoted to release 3.0's `cpu-ubi9` production
/// index, served through the front, and a client certificate written by `client-cert` from an
/// entitlement directory laid out as subscription-manager does.
pub(crate) struct Served {
    pub front: Front,
    pub sb: Sandbox,
    pub project: String,
    pub module: String,
    pub cert: PathBuf,
}

pub(crate) fn serve_one(layout: &'static str) -> Served {
    let front = front(layout);
    let sb = Sandbox::new(layout);
    // The catalog names the front as the customer host (and lets promote verify through it).
    let text = std::fs::read_to_string(&sb.catalog).unwrap();
    std::fs::write(
        &sb.catalog,
        format!(
            "{text}\n[customer]\nindex_host = {:?}\nclient_cert = {}\nca_bundle = {}\n",
            front.url,
            toml_path(&front.client_cert),
            toml_path(&front.ca_bundle)
        ),
    )
    .unwrap();
    sb.init();
    let project = sb.project(1);
    let module = project.replace('-', "_");
    let d = sb.wheels_dir("build");
    sb.wheel(&d, &project, "1.0", "py3-none-any", 0);
    let v = ["--release", "3.0", "--variant", "cpu-ubi9"];
    sb.run(&[&["upload"], &v[..], &[d.to_str().unwrap()]].concat())
        .success();
    sb.run(&[&["vet"], &v[..]].concat()).success();
    sb.run(&[&["promote"], &v[..], &["--yes"]].concat())
        .success();

    // client-cert: an entitlement directory as subscription-manager lays it out.
    let ent = sb.dir.path().join("etc/pki/entitlement");
    std::fs::create_dir_all(&ent).unwrap();
    for f in [&front.pki.entitlement_cert, &front.pki.entitlement_key] {
        std::fs::copy(f, ent.join(f.file_name().unwrap())).unwrap();
    }
    let cert = sb.dir.path().join("client.pem");
    let r = sb.run(&[
        "client-cert",
        "--entitlement-dir",
        ent.to_str().unwrap(),
        "--out",
        cert.to_str().unwrap(),
    ]);
    r.success();
    assert!(
        r.stderr.contains("wrote ") && r.stdout.is_empty(),
        "{}",
        r.stderr
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cert).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let pem = std::fs::read_to_string(&cert).unwrap();
    assert!(pem.contains("BEGIN CERTIFICATE") && pem.contains("PRIVATE KEY"));

    Served {
        front,
        sb,
        project,
        module,
        cert,
    }
}

async fn pip_and_uv_install_with_the_generated_files(layout: &'static str) {
    let Served {
        front,
        sb,
        project,
        module,
        cert,
    } = serve_one(layout);
    // client-config: the index on the front, paths only.
    let ca = front.ca_bundle.to_str().unwrap();
    let cert_s = cert.to_str().unwrap();
    let with = ["--cert", cert_s, "--ca-bundle", ca];
    let prod_index = front.index_url(&format!("{}/3.0/cpu-ubi9", sb.product));
    let j = sb.run_json(
        &[
            &[
                "client-config",
                "--release",
                "3.0",
                "--variant",
                "cpu-ubi9",
                "--format",
                "uv",
            ],
            &with[..],
        ]
        .concat(),
    );
    j.success();
    assert_eq!(j.json()["format"], "uv");
    assert_eq!(j.json()["index_url"], prod_index.as_str());
    assert!(j.json()["contents"]
        .as_str()
        .unwrap()
        .contains(&format!("url = \"{prod_index}\"")));
    let pip_conf = client_config(&sb, "pip", &with, "pip.conf");
    let uv_toml = client_config(&sb, "uv", &with, "uv.toml");
    let exports = client_config(&sb, "env", &with, "env.sh");
    for f in [&pip_conf, &uv_toml, &exports] {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(text.contains(&prod_index), "{text}");
        assert!(
            !text.contains("PRIVATE KEY") && !text.contains("BEGIN"),
            "{text}"
        );
    }

    // 1. Each way installs and imports.
    let mut n = 0;
    let mut attempt = |setup: Setup| {
        n += 1;
        install(&sb, &setup, &project, n)
    };
    for (what, setup) in [
        ("pip + pip.conf", Setup::PipConf(&pip_conf)),
        (
            "uv + uv.toml + SSL_CLIENT_CERT",
            Setup::UvToml(&uv_toml, Some(&cert), &front.ca_bundle),
        ),
        ("pip + exports", Setup::PipEnv(&exports)),
        ("uv + exports", Setup::UvEnv(&exports)),
    ] {
        let (r, target) = attempt(setup);
        assert_eq!(
            r.code, 0,
            "{what} failed\nstdout:\n{}\nstderr:\n{}",
            r.stdout, r.stderr
        );
        let i = imports(&sb, &target, &module);
        assert_eq!(i.code, 0, "{what}: import failed: {}", i.stderr);
        assert_eq!(i.stdout.trim(), "1.0", "{what}");
    }

    // 2. Refused without a certificate, with an expired one, with one from another CA.
    let refused = |what: &str, (r, target): (Run, PathBuf)| {
        assert_ne!(
            r.code, 0,
            "{what} installed\nstdout:\n{}\nstderr:\n{}",
            r.stdout, r.stderr
        );
        let out = format!("{}{}", r.stdout, r.stderr);
        // pip -vv: "403 Client Error: Forbidden"; uv: "returned a 403 Forbidden error".
        assert!(
            out.contains("403 Client Error") || out.contains("403 Forbidden"),
            "{what}: not a 403 from the front:\n{out}"
        );
        assert_ne!(imports(&sb, &target, &module).code, 0, "{what}");
    };
    let no_cert_conf = sb.dir.path().join("pip-no-cert.conf");
    std::fs::write(
        &no_cert_conf,
        std::fs::read_to_string(&pip_conf)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("client-cert"))
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .unwrap();
    refused(
        "pip, no certificate",
        attempt(Setup::PipConf(&no_cert_conf)),
    );
    refused(
        "uv, no certificate",
        attempt(Setup::UvToml(&uv_toml, None, &front.ca_bundle)),
    );
    for (name, bad) in [
        ("expired", &front.pki.expired_pem),
        ("other CA", &front.pki.other_pem),
    ] {
        let bad_s = bad.to_str().unwrap();
        let conf = client_config(
            &sb,
            "pip",
            &["--cert", bad_s, "--ca-bundle", ca],
            &format!("pip-{}.conf", name.replace(' ', "-")),
        );
        refused(
            &format!("pip, {name} certificate"),
            attempt(Setup::PipConf(&conf)),
        );
        refused(
            &format!("uv, {name} certificate"),
            attempt(Setup::UvToml(&uv_toml, Some(bad), &front.ca_bundle)),
        );
    }

    // 3. The customer certificate does not open the staging `-test` index.
    let test_with = ["--cert", cert_s, "--ca-bundle", ca, "--test"];
    let test_pip = client_config(&sb, "pip", &test_with, "pip-test.conf");
    let test_uv = client_config(&sb, "uv", &test_with, "uv-test.toml");
    let test_index = front.index_url(&format!("{}/3.0/cpu-ubi9-test", sb.product));
    assert!(std::fs::read_to_string(&test_pip)
        .unwrap()
        .contains(&format!("index-url = {test_index}\n")));
    refused("pip, -test index", attempt(Setup::PipConf(&test_pip)));
    refused(
        "uv, -test index",
        attempt(Setup::UvToml(&test_uv, Some(&cert), &front.ca_bundle)),
    );

    // The front did the refusing, for the reason each case stands for, and served the wheel
    // itself through its content path.
    let log = std::fs::read_to_string(front.get("FRONT_ACCESS_LOG").unwrap()).unwrap();
    let mine: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(&format!("/{}/3.0/", sb.product)))
        .collect();
    for needle in [
        "refusal=no-certificate",
        "certificate has expired",
        "unable to verify the first certificate",
        "class=staging refusal=wrong-issuer",
    ] {
        assert!(
            mine.iter().any(|l| l.contains(needle)),
            "no {needle:?} in the front's log:\n{}",
            mine.join("\n")
        );
    }
    assert!(
        mine.iter()
            .any(|l| l.contains(".whl HTTP/1.1\" 200 ") && l.contains("verify=\"SUCCESS\"")),
        "the wheel came through the front:\n{}",
        mine.join("\n")
    );
}

both_layouts!(pip_and_uv_install_with_the_generated_files);

/// `client-cert` on the PKI's openssl-made entitlements: the expired one is refused saying
/// when, a key that belongs to another certificate and a missing key are named; it needs
/// neither Pulp nor a catalog.
#[test]
fn client_cert_refuses_unusable_entitlements() {
    let front = front("plain");
    let dir = tempfile::tempdir().unwrap();
    let run = |ent: &Path| -> Run {
        let mut c = Command::new(env!("CARGO_BIN_EXE_wheelgate"));
        c.env_remove("WHEELGATE_CATALOG")
            .env("PULP_BASE_URL", "http://127.0.0.1:9")
            .current_dir(dir.path())
            .args(["client-cert", "--entitlement-dir"])
            .arg(ent)
            .arg("--out")
            .arg(dir.path().join("client.pem"));
        c.output().unwrap().into()
    };
    let expired = Path::new(front.get("PKI_EXPIRED_ENTITLEMENT_DIR").unwrap());
    let r = run(expired);
    r.code(2);
    assert!(
        r.stderr.contains("has expired") && r.stderr.contains("expired 2024-02-01 00:00:00 UTC"),
        "{}",
        r.stderr
    );

    let ent = dir.path().join("entitlement");
    std::fs::create_dir(&ent).unwrap();
    let cert = &front.pki.entitlement_cert;
    let name = cert.file_name().unwrap().to_str().unwrap();
    let key = ent.join(name.replace(".pem", "-key.pem"));
    std::fs::copy(cert, ent.join(name)).unwrap();
    let r = run(&ent);
    r.code(2);
    assert!(r.stderr.contains("has no key"), "{}", r.stderr);

    let serial = front.get("PKI_EXPIRED_SERIAL").unwrap();
    std::fs::copy(expired.join(format!("{serial}-key.pem")), &key).unwrap();
    let r = run(&ent);
    r.code(2);
    assert!(r.stderr.contains("does not belong to"), "{}", r.stderr);
    assert!(!dir.path().join("client.pem").exists(), "nothing written");

    std::fs::copy(&front.pki.entitlement_key, &key).unwrap();
    run(&ent).success();
    assert!(dir.path().join("client.pem").is_file());
}
