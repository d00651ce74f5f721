//! The customer path of promote/rollback verification through the real TLS front
//! (config/front/front.sh: Debian's nginx demanding a client certificate, throwaway PKI), in
//! both layouts: it passes with `[customer]` settings, names the TLS cause without them, and
//! refuses an X.509 v1 certificate before anything changes.

use std::path::Path;

use wheelgate_testkit::front::Front;

use crate::util::Sandbox;

fn front(layout: &str) -> Front {
    Front::find(layout).unwrap_or_else(|| {
        panic!("no TLS front for the {layout} layout: run `make front-up` (make test does)")
    })
}

fn build(sb: &Sandbox, n: usize) -> std::path::PathBuf {
    let d = sb.wheels_dir(&format!("build{n}"));
    sb.wheel(&d, &sb.project(n), "1.0", "py3-none-any", 200);
    d
}

/// Upload a build and vet the new version; its number.
fn upload_and_vet(sb: &Sandbox, n: usize) -> u64 {
    let d = build(sb, n);
    let v = "cpu-ubi9";
    sb.run(&[
        "upload",
        "--release",
        "3.0",
        "--variant",
        v,
        d.to_str().unwrap(),
    ])
    .success();
    sb.run(&["vet", "--release", "3.0", "--variant", v])
        .success();
    let r = sb.run_json(&["status", "--release", "3.0"]);
    r.json()["variants"][0]["staging"]["version"]
        .as_u64()
        .unwrap()
}

fn served(sb: &Sandbox) -> Option<u64> {
    let r = sb.run_json(&["status", "--release", "3.0"]);
    r.success();
    r.json()["variants"][0]["production"]["version"].as_u64()
}

fn set_customer(sb: &Sandbox, section: &str) {
    let text = std::fs::read_to_string(&sb.catalog).unwrap();
    let base = text.split("\n[customer]\n").next().unwrap().to_owned();
    std::fs::write(&sb.catalog, format!("{base}\n[customer]\n{section}")).unwrap();
}

fn toml_path(p: &Path) -> String {
    format!("{:?}", p.to_str().unwrap())
}

async fn verification_reads_the_index_through_the_front(layout: &'static str) {
    let front = front(layout);
    let sb = Sandbox::new(layout);
    sb.init();
    let access_log = front.get("FRONT_ACCESS_LOG").unwrap().to_owned();
    let promote = |extra: &[&str]| {
        let mut args = vec![
            "promote",
            "--release",
            "3.0",
            "--variant",
            "cpu-ubi9",
            "--yes",
        ];
        args.extend_from_slice(extra);
        sb.run(&args)
    };

    // 1. With [customer]: the read-back goes through the front with the client certificate.
    let v1 = upload_and_vet(&sb, 1);
    set_customer(
        &sb,
        &format!(
            "index_host = {:?}\nclient_cert = {}\nca_bundle = {}\n",
            front.url,
            toml_path(&front.client_cert),
            toml_path(&front.ca_bundle)
        ),
    );
    let r = promote(&[]);
    r.success();
    let index = front.index_url(&format!("{}/3.0/cpu-ubi9", sb.product));
    assert!(
        r.stdout.contains(&format!("verified at {index}")),
        "{}",
        r.stdout
    );
    assert_eq!(served(&sb), Some(v1));
    let log = std::fs::read_to_string(&access_log).unwrap();
    assert!(
        log.lines().any(
            |l| l.contains(&format!("/{}/3.0/cpu-ubi9/simple/", sb.product)) && l.contains(" 200 ")
        ),
        "the front served the read-back:\n{log}"
    );

    // 2. The front, but no client certificate: the switch happens, the verification names the
    //    cause and the settings to fix it, and the ledger records it.
    std::fs::write(&sb.catalog, {
        let text = std::fs::read_to_string(&sb.catalog).unwrap();
        text.split("\n[customer]\n").next().unwrap().to_owned()
    })
    .unwrap();
    let v2 = upload_and_vet(&sb, 2);
    let ca = front.ca_bundle.to_str().unwrap().to_owned();
    let r = promote(&["--index-host", &front.url, "--index-ca-bundle", &ca]);
    r.code(1);
    assert!(
        r.stderr.contains("customer-facing index of cpu-ubi9")
            && r.stderr.contains("client certificate"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("hint: ") && r.stderr.contains("--index-cert"),
        "{}",
        r.stderr
    );
    assert_eq!(served(&sb), Some(v2), "the switch itself happened");
    let h = sb.run_json(&["history", "--release", "3.0"]);
    assert!(
        h.json()["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["outcome"] == "verify-failed"
                && e["detail"]
                    .as_str()
                    .unwrap_or("")
                    .contains("client certificate")),
        "{}",
        h.stdout
    );

    // 3. A client certificate but not the front's CA: the TLS cause is named.
    let cert = front.client_cert.to_str().unwrap().to_owned();
    let r = sb.run(&[
        "rollback",
        "--release",
        "3.0",
        "--variant",
        "cpu-ubi9",
        "--yes",
        "--index-host",
        &front.url,
        "--index-cert",
        &cert,
    ]);
    r.code(1);
    assert!(
        r.stderr
            .contains("certificate verify failed: unknown issuer"),
        "{}",
        r.stderr
    );
    // One readable cause: the HTTP library's own layers below it only with -v.
    assert!(!r.stderr.contains("client error (Connect)"), "{}", r.stderr);
    assert_eq!(served(&sb), Some(v1));

    // 4. An X.509 v1 certificate: refused before anything changes, saying what to do.
    let v1_pem = front.pki.v1_pem.to_str().unwrap().to_owned();
    let r = promote(&[
        "--version",
        &v2.to_string(),
        "--index-host",
        &front.url,
        "--index-cert",
        &v1_pem,
        "--index-ca-bundle",
        &ca,
    ]);
    r.code(2);
    assert!(
        r.stderr.contains("X.509 v1") && r.stderr.contains("v3"),
        "{}",
        r.stderr
    );
    assert_eq!(served(&sb), Some(v1), "nothing changed");
}

both_layouts!(verification_reads_the_index_through_the_front);
