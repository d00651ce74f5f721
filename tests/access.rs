//! `[access]` (issue 12, scope 1 and 2): `init` creates the x509 content guards and attaches
//! them, `status` reports a deleted or drifted guard; `front-config --format nginx` renders
//! the TLS front that real nginx runs before the real Pulp (see [`front_config`] tests below).

use std::path::Path;

use pulp_client::GuardKind;
use wheelgate_testkit::front::Front;

use crate::util::Sandbox;

fn front(layout: &str) -> Front {
    Front::find(layout).unwrap_or_else(|| {
        panic!("no TLS front for the {layout} layout: run `make front-up` (make test does)")
    })
}

/// Copy the PKI's customer and internal CAs next to the catalog and add an `[access]` table
/// naming them by relative paths.
fn add_access(sb: &Sandbox, front: &Front, production_ca: &str) {
    let pki = |k: &str| front.get(k).unwrap().to_owned();
    std::fs::copy(pki(production_ca), sb.dir.path().join("customer-ca.pem")).unwrap();
    std::fs::copy(
        pki("PKI_INTERNAL_CA"),
        sb.dir.path().join("internal-ca.pem"),
    )
    .unwrap();
    let text = std::fs::read_to_string(&sb.catalog).unwrap();
    let base = text.split("\n[access.production]\n").next().unwrap();
    std::fs::write(
        &sb.catalog,
        format!(
            "{base}\n[access.production]\nguard = \"x509\"\nca_certificate = \"customer-ca.pem\"\n\
             \n[access.staging]\nguard = \"x509\"\nca_certificate = \"internal-ca.pem\"\n"
        ),
    )
    .unwrap();
}

fn codes(run: &wheelgate_testkit::Run) -> Vec<(String, String)> {
    let j = run.json();
    let mut out = Vec::new();
    for v in j["variants"].as_array().unwrap() {
        for f in v["findings"].as_array().unwrap() {
            out.push((
                f["code"].as_str().unwrap().into(),
                f["object"].as_str().unwrap().into(),
            ));
        }
    }
    for f in j["findings"].as_array().unwrap() {
        out.push((
            f["code"].as_str().unwrap().into(),
            f["object"].as_str().unwrap().into(),
        ));
    }
    out
}

fn pem_of(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

async fn init_guards_and_status_reports_a_deleted_guard(layout: &'static str) {
    let front = front(layout);
    let sb = Sandbox::new(layout);
    add_access(&sb, &front, "PKI_CUSTOMER_CA");
    sb.init();
    let guard = |scope: &'static str| {
        let name = format!("{}-access-{scope}", sb.product);
        let client = sb.client.clone();
        async move {
            client
                .guard_by_name(GuardKind::X509, &name)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("no guard {name}"))
        }
    };
    let prod_guard = guard("production").await;
    let staging_guard = guard("staging").await;
    assert!(prod_guard.has_ca(&pem_of(&sb.dir.path().join("customer-ca.pem"))));
    assert!(staging_guard.has_ca(&pem_of(&sb.dir.path().join("internal-ca.pem"))));
    for variant in ["cpu-ubi9", "cuda12.9-ubi9", "rocm6.4-ubi9"] {
        let (_, staging, prod) = sb.names(variant);
        let d = sb
            .client
            .distribution_by_name(&prod)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            d.content_guard.as_ref(),
            Some(&prod_guard.pulp_href),
            "{prod}"
        );
        let d = sb
            .client
            .distribution_by_name(&staging)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            d.content_guard.as_ref(),
            Some(&staging_guard.pulp_href),
            "{staging}"
        );
    }

    // Idempotent: a re-run changes nothing, status finds nothing about guards.
    let again = sb.run_json(&["init", "--release", "3.0"]);
    let items = again.success().json()["items"].as_array().unwrap().clone();
    assert!(
        items.iter().all(|i| i["action"] == "unchanged"),
        "{items:?}"
    );
    assert_eq!(
        items
            .iter()
            .filter(|i| i["kind"] == "content_guard")
            .count(),
        2
    );
    let st = sb.run_json(&["status", "--release", "3.0"]);
    assert!(
        codes(st.success())
            .iter()
            .all(|(c, _)| !c.contains("guard")),
        "{:?}",
        codes(&st)
    );

    // Someone deletes the production guard: Pulp accepts it and unguards the distributions.
    sb.client.delete_guard(&prod_guard.pulp_href).await.unwrap();
    let st = sb.run_json(&["status", "--release", "3.0"]);
    let found = codes(st.success());
    let p = &sb.product;
    for want in [
        (
            "distribution-unguarded".to_owned(),
            format!("{p}/3.0/cpu-ubi9"),
        ),
        (
            "distribution-unguarded".to_owned(),
            format!("{p}/3.0/cuda12.9-ubi9"),
        ),
        (
            "distribution-unguarded".to_owned(),
            format!("{p}/3.0/rocm6.4-ubi9"),
        ),
        (
            "content-guard-missing".to_owned(),
            format!("{p}-access-production"),
        ),
    ] {
        assert!(found.contains(&want), "{want:?} not in {found:?}");
    }
    assert!(
        !found.iter().any(|(_, o)| o.ends_with("-test")),
        "staging keeps its guard: {found:?}"
    );
    snapshot!(
        sb,
        "access_status_deleted_guard",
        sb.run(&["status", "--release", "3.0"])
    );

    // init puts it back; then the CA in the catalog changes: reported, and init replaces it.
    sb.init();
    let st = sb.run_json(&["status", "--release", "3.0"]);
    assert!(codes(st.success())
        .iter()
        .all(|(c, _)| !c.contains("guard")));
    let new_guard = guard("production").await;
    assert_ne!(new_guard.pulp_href, prod_guard.pulp_href);
    add_access(&sb, &front, "PKI_OTHER_CA");
    let st = sb.run_json(&["status", "--release", "3.0"]);
    assert_eq!(
        codes(st.success())
            .into_iter()
            .filter(|(c, _)| c.contains("guard"))
            .collect::<Vec<_>>(),
        vec![(
            "content-guard-ca-differs".to_owned(),
            format!("{p}-access-production")
        )]
    );
    sb.init();
    let updated = guard("production").await;
    assert_eq!(updated.pulp_href, new_guard.pulp_href, "updated in place");
    assert!(updated.has_ca(&pem_of(&sb.dir.path().join("customer-ca.pem"))));
    assert!(!updated.has_ca(&pem_of(Path::new(front.get("PKI_CUSTOMER_CA").unwrap()))));
}

/// `front-config` for the sandbox's release, pointed at the local Pulp of `front`'s layout
/// and the PKI, listening on `port`; the run.
fn generate(sb: &Sandbox, front: &Front, port: u16, cache: &Path) -> wheelgate_testkit::Run {
    let get = |k: &str| front.get(k).unwrap().to_owned();
    let listen = format!("127.0.0.1:{port}");
    sb.run(&[
        "front-config",
        "--release",
        "3.0",
        "--format",
        "nginx",
        "--server-name",
        "localhost",
        "--listen",
        &listen,
        "--server-cert",
        &get("PKI_SERVER_CERT"),
        "--server-key",
        &get("PKI_SERVER_KEY"),
        "--client-ca-bundle",
        &get("PKI_CLIENT_CAS"),
        "--upstream-api",
        &get("FRONT_UPSTREAM_API"),
        "--upstream-content",
        &get("FRONT_UPSTREAM_CONTENT"),
        "--index-prefix",
        &front.index_prefix,
        "--content-prefix",
        &get("FRONT_CONTENT_PREFIX"),
        "--cache-dir",
        cache.to_str().unwrap(),
        "--cache-seconds",
        "1",
    ])
}

/// (status, headers + body) of a GET with curl, trusting only the PKI's server CA.
fn curl(front: &Front, cert: Option<&Path>, url: &str) -> (u16, String) {
    let mut c = std::process::Command::new("curl");
    c.env_remove("CURL_CA_BUNDLE")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .args(["-sS", "-i", "-w", "\n%{http_code}", "--cacert"])
        .arg(&front.ca_bundle);
    if let Some(cert) = cert {
        c.arg("--cert").arg(cert);
    }
    let out = c.arg(url).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

fn upload_vet_promote(sb: &Sandbox, n: usize) {
    let d = sb.wheels_dir(&format!("build{n}"));
    sb.wheel(&d, &sb.project(1), &format!("1.{n}"), "py3-none-any", 200);
    let v = ["--release", "3.0", "--variant", "cpu-ubi9"];
    let mut up = vec!["upload"];
    up.extend(v);
    up.push(d.to_str().unwrap());
    sb.run(&up).success();
    let mut vet = vec!["vet"];
    vet.extend(v);
    sb.run(&vet).success();
    let mut promote = vec!["promote"];
    promote.extend(v);
    promote.push("--yes");
    sb.run(&promote).success();
}

/// pip and uv against `index` with `cert` (none: no client certificate); the two runs.
fn pip_and_uv(
    sb: &Sandbox,
    front: &Front,
    index: &str,
    cert: Option<&Path>,
    n: usize,
) -> [wheelgate_testkit::Run; 2] {
    let venv = crate::customer_install::venv();
    let python = venv.join("bin/python");
    let run = |c: &mut std::process::Command| {
        let o = c.output().unwrap();
        wheelgate_testkit::Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    };
    let project = sb.project(1);
    let mut pip = crate::customer_install::clean(&python, sb);
    pip.args(["-m", "pip", "install", "--no-deps", "--target"])
        .arg(sb.dir.path().join(format!("pip-{n}")))
        .args(["--index-url", index, "--cert"])
        .arg(&front.ca_bundle);
    if let Some(c) = cert {
        pip.arg("--client-cert").arg(c);
    }
    pip.arg(&project);
    let mut uv = crate::customer_install::clean(&venv.join("bin/uv"), sb);
    uv.args(["pip", "install", "--no-cache", "--no-deps", "--python"])
        .arg(&python)
        .arg("--target")
        .arg(sb.dir.path().join(format!("uv-{n}")))
        .args(["--index-url", index, &project])
        .env("SSL_CERT_FILE", &front.ca_bundle);
    if let Some(c) = cert {
        uv.env("SSL_CLIENT_CERT", c);
    }
    [run(&mut pip), run(&mut uv)]
}

async fn generated_front_guards_the_index(layout: &'static str) {
    let pki_front = front(layout);
    let sb = Sandbox::new(layout);
    add_access(&sb, &pki_front, "PKI_CUSTOMER_CA");
    sb.init();
    upload_vet_promote(&sb, 1);

    let dir = sb.dir.path().join("front");
    let cache = wheelgate_testkit::front::NginxFront::cache_dir(&dir);
    let port = wheelgate_testkit::front::NginxFront::free_port();
    let generated = generate(&sb, &pki_front, port, &cache);
    generated.success();
    let nginx = wheelgate_testkit::front::NginxFront::start(&dir, port, &generated.stdout);

    let base = |suffix: &str| {
        format!(
            "{}{}{}/3.0/cpu-ubi9{suffix}/",
            nginx.url, pki_front.index_prefix, sb.product
        )
    };
    let project = sb.project(1);
    let customer = pki_front.client_cert.as_path();
    let root = format!("{}simple/", base(""));
    let page = format!("{root}{project}/");
    let json = format!("{}pypi/{project}/json/", base(""));
    let (code, body) = curl(&pki_front, Some(customer), &json);
    assert_eq!(code, 200, "{body}");
    let meta: serde_json::Value =
        serde_json::from_str(body.split("\r\n\r\n").last().unwrap()).unwrap();
    let wheel = meta["urls"][0]["url"].as_str().unwrap().to_owned();
    assert!(
        wheel.starts_with(&nginx.url),
        "files go through the front: {wheel}"
    );
    let production = [&root, &page, &json, &wheel];
    for url in production {
        let (code, body) = curl(&pki_front, Some(customer), url);
        assert_eq!(code, 200, "customer cert on {url}: {body}");
    }
    // Refused: no cert, an expired one, one from another CA; each path, curl, pip and uv.
    let refused: [(&str, Option<&Path>); 3] = [
        ("no certificate", None),
        ("expired", Some(pki_front.pki.expired_pem.as_path())),
        ("other CA", Some(pki_front.pki.other_pem.as_path())),
    ];
    for (what, cert) in refused {
        for url in production {
            let (code, body) = curl(&pki_front, cert, url);
            assert_eq!(code, 403, "{what} on {url}: {body}");
            assert!(
                body.contains("x-wheelgate-front-refusal: ")
                    || body.contains("X-Wheelgate-Front-Refusal: "),
                "{body}"
            );
        }
    }
    for (n, (what, cert)) in refused.into_iter().enumerate() {
        for r in pip_and_uv(&sb, &pki_front, &root, cert, n) {
            assert_ne!(
                r.code, 0,
                "{what}: installed anyway\n{}\n{}",
                r.stdout, r.stderr
            );
        }
    }
    // The customer certificate does not open the -test index; the internal one does, and
    // not production.
    let test_root = format!("{}simple/", base("-test"));
    let (code, body) = curl(&pki_front, Some(customer), &test_root);
    assert_eq!(code, 403, "{body}");
    assert!(
        body.contains("not accepted for this staging index"),
        "{body}"
    );
    let (code, _) = curl(&pki_front, Some(&pki_front.staging_client_cert), &test_root);
    assert_eq!(code, 200);
    let (code, _) = curl(&pki_front, Some(&pki_front.staging_client_cert), &root);
    assert_eq!(code, 403);
    for r in pip_and_uv(&sb, &pki_front, &test_root, Some(customer), 10) {
        assert_ne!(
            r.code, 0,
            "customer cert on -test\n{}\n{}",
            r.stdout, r.stderr
        );
    }
    // The right certificate installs, with pip and with uv.
    for (r, tool) in pip_and_uv(&sb, &pki_front, &root, Some(customer), 20)
        .iter()
        .zip(["pip", "uv"])
    {
        assert_eq!(r.code, 0, "{tool}\n{}\n{}", r.stdout, r.stderr);
        let site = sb.dir.path().join(format!("{tool}-20"));
        let installed = std::fs::read_dir(&site)
            .unwrap()
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().ends_with(".dist-info"));
        assert!(
            installed,
            "{tool} installed nothing into {}",
            site.display()
        );
    }
    // A client's own X-CLIENT-CERT does not count: without a certificate, still refused.
    let out = std::process::Command::new("curl")
        .env_remove("CURL_CA_BUNDLE")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
        .arg(&pki_front.ca_bundle)
        .args(["-H", "X-CLIENT-CERT: forged", &wheel])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "403");
}

/// A simple page cached by the front is revalidated after a rollback: the older index is
/// served, not the cached newer one (Pulp would answer an If-Modified-Since with 304).
async fn generated_front_revalidates_by_etag_after_rollback(layout: &'static str) {
    let pki_front = front(layout);
    let sb = Sandbox::new(layout);
    add_access(&sb, &pki_front, "PKI_CUSTOMER_CA");
    sb.init();
    upload_vet_promote(&sb, 1);
    upload_vet_promote(&sb, 2);

    let dir = sb.dir.path().join("front");
    let cache = wheelgate_testkit::front::NginxFront::cache_dir(&dir);
    let port = wheelgate_testkit::front::NginxFront::free_port();
    let generated = generate(&sb, &pki_front, port, &cache);
    let nginx =
        wheelgate_testkit::front::NginxFront::start(&dir, port, &generated.success().stdout);
    let page = format!(
        "{}{}{}/3.0/cpu-ubi9/simple/{}/",
        nginx.url,
        pki_front.index_prefix,
        sb.product,
        sb.project(1)
    );
    let customer = pki_front.client_cert.as_path();
    let new_file = format!("{}-1.2-py3-none-any.whl", sb.project(1).replace('-', "_"));
    let (code, first) = curl(&pki_front, Some(customer), &page);
    assert_eq!(code, 200, "{first}");
    assert!(first.contains(&new_file), "{first}");
    let (_, second) = curl(&pki_front, Some(customer), &page);
    assert!(
        second
            .to_ascii_lowercase()
            .contains("x-wheelgate-cache: hit"),
        "cached: {second}"
    );
    assert!(
        !second.to_ascii_lowercase().contains("last-modified"),
        "{second}"
    );
    // Pulp's max-age=600 is not passed on: clients revalidate as often as the front does.
    assert!(
        second
            .to_ascii_lowercase()
            .contains("cache-control: max-age=1, must-revalidate"),
        "{second}"
    );

    // What makes If-Modified-Since wrong: after the rollback Pulp says the older page is not
    // modified since the newer one's Last-Modified.
    let direct = format!(
        "{}{}{}/3.0/cpu-ubi9/simple/{}/",
        pki_front.get("FRONT_UPSTREAM_API").unwrap(),
        pki_front.index_prefix,
        sb.product,
        sb.project(1)
    );
    let out = std::process::Command::new("curl")
        .args(["-s", "-I", &direct])
        .output()
        .unwrap();
    let headers = String::from_utf8_lossy(&out.stdout).into_owned();
    let last_modified = headers
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("last-modified"))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("Pulp sent no Last-Modified: {headers}"));
    sb.run(&[
        "rollback",
        "--release",
        "3.0",
        "--variant",
        "cpu-ubi9",
        "--yes",
    ])
    .success();
    let ims = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H"])
        .arg(format!("If-Modified-Since: {last_modified}"))
        .arg(&direct)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&ims.stdout),
        "304",
        "Pulp answers the older page's If-Modified-Since with 304"
    );

    // Past the cache time the front revalidates; the rolled-back page is served.
    let mut after = String::new();
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(300));
        let (code, body) = curl(&pki_front, Some(customer), &page);
        assert_eq!(code, 200, "{body}");
        let lower = body.to_ascii_lowercase();
        if !lower.contains("x-wheelgate-cache: hit") {
            after = body;
            break;
        }
    }
    assert!(!after.is_empty(), "the cached page was never revalidated");
    assert!(
        !after.contains(&new_file),
        "stale page after rollback: {after}"
    );
    assert!(
        after.contains(&new_file.replace("-1.2-", "-1.1-")),
        "{after}"
    );
}

both_layouts!(
    init_guards_and_status_reports_a_deleted_guard,
    generated_front_guards_the_index,
    generated_front_revalidates_by_etag_after_rollback
);
