//! Issue 12's base image, end to end: the Containerfile from `wheelgate client-config --format
//! containerfile` really builds (podman from Debian, `--isolation=chroot --network=host`) on
//! the test kit's cached stand-in for the UBI 9 Python image, and a Containerfile `FROM` the
//! built base installs a promoted wheel from the guarded production index through the real TLS
//! front with a plain `pip install` and `uv pip install` — the client certificate mounted as a
//! build secret at the documented path — and is refused (403) without it. Also: the files
//! shipped for the demo catalog under config/customer/demo/ are what client-config generates.

use std::path::{Path, PathBuf};

use wheelgate_testkit::front::Front;
use wheelgate_testkit::image::{self, Build};
use wheelgate_testkit::Run;

use crate::util::Sandbox;

fn front(layout: &str) -> Front {
    Front::find(layout).unwrap_or_else(|| {
        panic!("no TLS front for the {layout} layout: run `make front-up` (make test does)")
    })
}

fn output(r: &Run) -> String {
    format!("stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr)
}

/// A Containerfile `FROM` the base (build argument `BASE`) whose one `RUN` step is `run`.
fn child(dir: &Path, name: &str, run: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("ARG BASE\nFROM ${{BASE}}\nRUN {run}\n")).unwrap();
    path
}

async fn base_image_installs_with_the_certificate_as_a_build_secret(layout: &'static str) {
    let front = front(layout);
    let standin = image::standin();
    let sb = Sandbox::new(layout);
    // The catalog names the front as the customer host (promote verifies through it).
    let text = std::fs::read_to_string(&sb.catalog).unwrap();
    std::fs::write(
        &sb.catalog,
        format!(
            "{text}\n[customer]\nindex_host = {:?}\nclient_cert = {:?}\nca_bundle = {:?}\n",
            front.url,
            front.client_cert.to_str().unwrap(),
            front.ca_bundle.to_str().unwrap()
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

    // The base image: the generated Containerfile, the front's CA bundle in the build context.
    let ctx = sb.wheels_dir("base");
    std::fs::copy(&front.ca_bundle, ctx.join("index-ca.pem")).unwrap();
    let r = sb.run(
        &[
            &["client-config"],
            &v[..],
            &["--format", "containerfile", "--ca-bundle", "index-ca.pem"],
        ]
        .concat(),
    );
    r.success();
    let prod_index = front.index_url(&format!("{}/3.0/cpu-ubi9", sb.product));
    assert!(r.stdout.contains(&prod_index), "{}", r.stdout);
    assert!(!r.stdout.contains("BEGIN"), "paths only:\n{}", r.stdout);
    std::fs::write(ctx.join("Containerfile"), &r.stdout).unwrap();
    let (r, base) = Build::new(&ctx, "Containerfile")
        .arg("BASE_IMAGE", standin)
        .image("base");
    assert_eq!(r.code, 0, "the base image does not build\n{}", output(&r));
    let base = base.unwrap();

    // Images FROM the base: a plain `pip install` / `uv pip install`, the certificate mounted
    // where the base expects it.
    let kids = sb.wheels_dir("children");
    let mount = "--mount=type=secret,id=index-cert,target=/etc/pki/wheelgate/client.pem,mode=0444";
    let import = format!("python -c 'import {module}; print(\"imported\", {module}.__version__)'");
    let build = |file: &Path, cert: Option<&Path>| -> Run {
        let mut b = Build::new(&kids, file).arg("BASE", &base.tag);
        if let Some(cert) = cert {
            b = b.secret("index-cert", cert);
        }
        b.run()
    };
    // What the base holds: /etc/pip.conf and /etc/uv/uv.toml as `--format pip|uv` make them
    // with the image's CA path, SSL_CLIENT_CERT, and the build runs as the base's user again.
    let show = child(
        &kids,
        "show.Containerfile",
        "test \"$(id -u)\" = 1001 && cat /etc/pip.conf /etc/uv/uv.toml && \
         echo \"SSL_CLIENT_CERT=$SSL_CLIENT_CERT\"",
    );
    let r = build(&show, None);
    assert_eq!(r.code, 0, "{}", output(&r));
    let in_image = ["--ca-bundle", "/etc/pki/wheelgate-ca/ca-bundle.pem"];
    for format in ["pip", "uv"] {
        let g = sb.run(
            &[
                &["client-config"],
                &v[..],
                &["--format", format],
                &in_image[..],
            ]
            .concat(),
        );
        g.success();
        assert!(
            output(&r).contains(&g.stdout),
            "the base's {format} config is not what --format {format} gives:\n{}\n{}",
            g.stdout,
            output(&r)
        );
    }
    assert!(
        output(&r).contains("SSL_CLIENT_CERT=/etc/pki/wheelgate/client.pem\n"),
        "{}",
        output(&r)
    );

    let mut files = Vec::new();
    for (tool, install) in [
        ("pip", format!("pip install --no-deps {project}")),
        ("uv", format!("uv pip install --no-deps {project}")),
    ] {
        let file = child(
            &kids,
            &format!("{tool}.Containerfile"),
            &format!("{mount} {install} && {import}"),
        );
        let r = build(&file, Some(&front.client_cert));
        assert_eq!(r.code, 0, "{tool} with the secret\n{}", output(&r));
        assert!(
            r.stdout.contains("imported 1.0"),
            "{tool}: no import\n{}",
            output(&r)
        );
        files.push(file);
    }
    let [pip_file, uv_file] = &files[..] else {
        unreachable!()
    };

    // The same builds without `--secret` (a secret mount is optional: nothing is mounted):
    // uv sends no certificate (it warns that SSL_CLIENT_CERT names no file) and gets the
    // front's 403; pip says the certificate file is missing before it sends anything, and gets
    // the 403 with a certificate the front does not accept.
    let refused = |what: &str, r: &Run| {
        assert_ne!(r.code, 0, "{what} installed\n{}", output(r));
        let out = format!("{}{}", r.stdout, r.stderr);
        assert!(
            out.contains("403 Forbidden") || out.contains("403 Client Error"),
            "{what}: not a 403 from the front\n{out}"
        );
        assert!(!out.contains("imported 1.0"), "{what}\n{out}");
    };
    let r = build(uv_file, None);
    refused("uv without the secret", &r);
    assert!(
        output(&r).contains("Ignoring invalid `SSL_CLIENT_CERT`"),
        "{}",
        output(&r)
    );
    let r = build(pip_file, None);
    assert_ne!(r.code, 0, "pip without the secret\n{}", output(&r));
    assert!(
        output(&r).contains(
            "Could not find the TLS certificate file, invalid path: /etc/pki/wheelgate/client.pem"
        ),
        "pip names the missing certificate\n{}",
        output(&r)
    );
    let pip_verbose = child(
        &kids,
        "pip-vv.Containerfile",
        &format!("{mount} pip install -vv --no-deps {project} && {import}"),
    );
    refused(
        "pip with another CA's certificate",
        &build(&pip_verbose, Some(&front.pki.other_pem)),
    );
    refused(
        "uv with another CA's certificate",
        &build(uv_file, Some(&front.pki.other_pem)),
    );

    // The front did the refusing, and served the wheel to the builds with the secret.
    let log = std::fs::read_to_string(front.get("FRONT_ACCESS_LOG").unwrap()).unwrap();
    let mine: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(&format!("/{}/3.0/", sb.product)))
        .collect();
    assert!(
        mine.iter().any(|l| l.contains("refusal=no-certificate")),
        "{}",
        mine.join("\n")
    );
    assert!(
        mine.iter()
            .any(|l| l.contains(".whl HTTP/1.1\" 200 ") && l.contains("verify=\"SUCCESS\"")),
        "the wheel came through the front:\n{}",
        mine.join("\n")
    );
}

both_layouts!(base_image_installs_with_the_certificate_as_a_build_secret);

/// The files shipped for the demo catalog (config/demo.toml, release 3.0, variant cpu-ubi9,
/// customer host `https://pypi.example.com`, the plain layout's URLs) under
/// config/customer/demo/ are what `client-config` generates today. With
/// `WHEELGATE_UPDATE_CUSTOMER_FILES=1` the test writes them instead.
#[test]
fn shipped_demo_files_are_what_client_config_generates() {
    let root = wheelgate_testkit::workspace_root();
    let demo = std::fs::read_to_string(root.join("config/demo.toml")).unwrap();
    // The demo catalog as it is (product `demo`): init is idempotent.
    let sb =
        wheelgate_testkit::Sandbox::new("plain", env!("CARGO_BIN_EXE_wheelgate"), |_| demo.clone());
    sb.run(&["init", "--release", "3.0"]).success();
    let shipped = root.join("config/customer/demo");
    let update = std::env::var_os("WHEELGATE_UPDATE_CUSTOMER_FILES").is_some_and(|v| v == "1");
    for (format, file) in [
        ("pip", "pip.conf"),
        ("uv", "uv.toml"),
        ("env", "env"),
        ("containerfile", "Containerfile"),
    ] {
        let r = sb.run(&[
            "client-config",
            "--release",
            "3.0",
            "--variant",
            "cpu-ubi9",
            "--format",
            format,
            "--index-host",
            "https://pypi.example.com",
        ]);
        r.success();
        assert!(
            r.stdout
                .contains("https://pypi.example.com/pypi/demo/3.0/cpu-ubi9/simple/"),
            "{}",
            r.stdout
        );
        let path = shipped.join(file);
        if update {
            std::fs::create_dir_all(&shipped).unwrap();
            std::fs::write(&path, &r.stdout).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            text == r.stdout,
            "{} is not what `wheelgate client-config --format {format}` generates; \
             regenerate with WHEELGATE_UPDATE_CUSTOMER_FILES=1 cargo test --test integration \
             customer_image::shipped\n--- shipped ---\n{text}\n--- generated ---\n{}",
            path.display(),
            r.stdout
        );
    }
}
