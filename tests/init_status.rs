//! `init` and `status`.

use pulp_client::Serves;

use crate::util::Sandbox;

async fn init_is_idempotent_and_derives_names(layout: &'static str) {
    let sb = Sandbox::new(layout);
    // Dry run first: plans creation, changes nothing.
    let dry = sb.run_json(&["init", "--release", "3.0", "--dry-run"]);
    dry.success();
    let plan = dry.json();
    let items = plan["items"].as_array().unwrap();
    assert_eq!(items.len(), 10, "3 objects x 3 variants + the ledger");
    assert!(items.iter().all(|i| i["action"] == "create"), "{plan}");
    assert!(sb
        .client
        .repository_by_name(&sb.names("cpu-ubi9").0)
        .await
        .unwrap()
        .is_none());

    let first = sb.run(&["init", "--release", "3.0"]);
    first.success();
    assert!(first.stdout.contains("created"), "{}", first.stdout);
    assert!(first.stdout.contains("10 changes"), "{}", first.stdout);

    let second = sb.run_json(&["init", "--release", "3.0"]);
    second.success();
    let report = second.json();
    let items = report["items"].as_array().unwrap();
    assert!(items.iter().all(|i| i["action"] == "unchanged"), "{report}");
    let text = sb.run(&["init", "--release", "3.0"]);
    assert!(
        text.success().stdout.contains("everything up to date"),
        "{}",
        text.stdout
    );

    for variant in ["cpu-ubi9", "cuda12.9-ubi9"] {
        let (repo_name, staging_name, prod_name) = sb.names(variant);
        let repo = sb
            .client
            .repository_by_name(&repo_name)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(repo.allow_package_substitution, Some(false));
        assert_eq!(repo.retain_repo_versions, None);
        assert_eq!(
            repo.pulp_labels
                .get("wheelgate.variant")
                .map(String::as_str),
            Some(variant)
        );
        let staging = sb
            .client
            .distribution_by_name(&staging_name)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            staging.base_path,
            format!("{}/3.0/{variant}-test", sb.product)
        );
        assert_eq!(staging.serves(), Serves::Latest(repo.pulp_href.clone()));
        let prod = sb
            .client
            .distribution_by_name(&prod_name)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(prod.base_path, format!("{}/3.0/{variant}", sb.product));
        assert_eq!(prod.serves(), Serves::Version(repo.pulp_href.version(0)));
    }
}

async fn init_reconciles_drift(layout: &'static str) {
    let sb = Sandbox::new(layout);
    sb.init();
    let (repo_name, staging_name, _) = sb.names("cpu-ubi9");
    let repo = sb
        .client
        .repository_by_name(&repo_name)
        .await
        .unwrap()
        .unwrap();
    let wait = pulp_client::WaitOptions::default();
    // Someone enables retention and re-points the staging distribution.
    sb.client
        .update_repository(
            &repo.pulp_href,
            &pulp_client::RepositoryFields {
                retain_repo_versions: Some(Some(2)),
                ..Default::default()
            },
            &wait,
        )
        .await
        .unwrap();
    let staging = sb
        .client
        .distribution_by_name(&staging_name)
        .await
        .unwrap()
        .unwrap();
    sb.client
        .serve(
            &staging.pulp_href,
            &Serves::Version(repo.pulp_href.version(0)),
            &wait,
        )
        .await
        .unwrap();

    let st = sb.run(&["status", "--release", "3.0"]);
    st.success();
    assert!(
        st.stderr.contains("retain_repo_versions = 2"),
        "status warns: {}",
        st.stderr
    );

    let run = sb.run_json(&["init", "--release", "3.0"]);
    run.success();
    let report = run.json();
    let updates: Vec<_> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["action"] == "update")
        .collect();
    assert_eq!(updates.len(), 2, "{report}");
    // The warning is in the JSON document, once (stderr stays for errors).
    let codes: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert_eq!(
        codes,
        vec!["retention-drops-versions", "staging-not-following-latest"],
        "init warns: {report}"
    );
    let repo = sb.client.repository(&repo.pulp_href).await.unwrap();
    assert_eq!(repo.retain_repo_versions, None);
    let staging = sb.client.distribution(&staging.pulp_href).await.unwrap();
    assert_eq!(staging.serves(), Serves::Latest(repo.pulp_href.clone()));
}

async fn status_reports_versions_builds_and_urls(layout: &'static str) {
    let sb = Sandbox::new(layout);
    sb.init();
    let dir = sb.wheels_dir("b1");
    for i in 0..3 {
        sb.wheel(&dir, &sb.project(i), "1.0", "py3-none-any", 1000);
    }
    sb.wheel(&dir, &sb.project(0), "1.1", "py3-none-any", 1000);
    sb.run(&[
        "upload",
        "--release",
        "3.0",
        "--variant",
        "cpu-ubi9",
        "--build-id",
        "ci-42",
        dir.to_str().unwrap(),
    ])
    .success();
    let run = sb.run_json(&["status", "--release", "3.0"]);
    run.success();
    let s = run.json();
    let cpu = &s["variants"][0];
    assert_eq!(cpu["variant"], "cpu-ubi9");
    assert_eq!(cpu["staging"]["version"], 1);
    assert_eq!(cpu["staging"]["build_id"], "ci-42");
    assert_eq!(cpu["staging"]["files"], 4);
    assert_eq!(cpu["staging"]["projects"], 3);
    assert_eq!(cpu["production"]["version"], 0);
    let staging_url = cpu["staging"]["index_url"].as_str().unwrap();
    assert!(
        staging_url.ends_with(&format!("/{}/3.0/cpu-ubi9-test/simple/", sb.product)),
        "{staging_url}"
    );
    let prod_url = cpu["production"]["index_url"].as_str().unwrap();
    assert!(
        prod_url.ends_with(&format!("/{}/3.0/cpu-ubi9/simple/", sb.product)),
        "{prod_url}"
    );
    if layout == "hosted" {
        assert!(prod_url.contains("/api/pypi/wheelgate/"), "{prod_url}");
    }
    assert_eq!(s["variants"][1]["staging"]["version"], 0);
    // Projects are counted from the staging index root (one request), not by listing every
    // package of the version (one request per 1,000 files: seconds on a big index).
    let verbose = sb.run(&["-v", "status", "--release", "3.0"]);
    verbose.success();
    assert!(
        verbose.stderr.contains("/3.0/cpu-ubi9-test/simple/")
            && !verbose.stderr.contains("content/python/packages/"),
        "{}",
        verbose.stderr
    );
    let text = sb.run(&["status", "--release", "3.0"]);
    assert!(
        text.success().stdout.contains("build ci-42"),
        "{}",
        text.stdout
    );
}

/// `-vv` shows every request, the session login included, but never a credential: not the
/// password, not the session or CSRF cookie.
async fn verbose_logs_show_requests_but_no_secrets(layout: &'static str) {
    let sb = Sandbox::new(layout);
    let toml = std::fs::read_to_string(&sb.cli_toml).unwrap();
    let password = toml
        .lines()
        .find_map(|l| l.strip_prefix("password = "))
        .unwrap()
        .trim_matches('"')
        .to_owned();
    let init = sb.run(&["-vv", "init", "--release", "3.0"]);
    init.success();
    // Unsafe methods (POST of repositories) went through the session, with its CSRF token.
    let dir = sb.wheels_dir("v");
    sb.wheel(&dir, &sb.project(0), "1.0", "py3-none-any", 100);
    let upload = sb.run(&[
        "-vv",
        "upload",
        "--release",
        "3.0",
        "--variant",
        "cpu-ubi9",
        dir.to_str().unwrap(),
    ]);
    upload.success();
    for run in [&init, &upload] {
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(
            all.contains("session login"),
            "login logged: {}",
            run.stderr
        );
        assert!(all.contains("method=POST"), "requests logged");
        assert!(!all.contains(&password), "password leaked");
        for secret in ["sessionid", "csrftoken", "X-CSRFToken", "Basic "] {
            assert!(!all.contains(secret), "{secret} in the output");
        }
    }
}

/// Each finding is printed once, with a `warning:` prefix and its fix, by `status` and by
/// `init` (dry run and real), in text and in JSON; init fixes what it can and says what it
/// cannot (production following the repository: only a promote pins it).
async fn findings_are_printed_once(layout: &'static str) {
    let sb = Sandbox::new(layout);
    sb.init();
    let (repo_name, _, prod_name) = sb.names("cpu-ubi9");
    let repo = sb
        .client
        .repository_by_name(&repo_name)
        .await
        .unwrap()
        .unwrap();
    let wait = pulp_client::WaitOptions::default();
    sb.client
        .update_repository(
            &repo.pulp_href,
            &pulp_client::RepositoryFields {
                retain_repo_versions: Some(Some(2)),
                ..Default::default()
            },
            &wait,
        )
        .await
        .unwrap();
    let prod = sb
        .client
        .distribution_by_name(&prod_name)
        .await
        .unwrap()
        .unwrap();
    sb.client
        .serve(
            &prod.pulp_href,
            &Serves::Latest(repo.pulp_href.clone()),
            &wait,
        )
        .await
        .unwrap();

    let once = |run: &crate::util::Run| {
        for needle in [
            "has retain_repo_versions = 2",
            "follows the latest staging version",
        ] {
            assert_eq!(
                run.stderr.matches(needle).count(),
                1,
                "{needle:?} once:\n{}",
                run.stderr
            );
        }
    };
    let st = sb.run(&["status", "--release", "3.0"]);
    st.success();
    once(&st);
    snapshot!(sb, "status_findings", st);

    let json = sb.run_json(&["status", "--release", "3.0"]);
    json.success();
    assert_eq!(json.stderr, "", "JSON mode: findings only in the document");
    let doc = json.json();
    let cpu: Vec<&str> = doc["variants"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert_eq!(
        cpu,
        vec!["retention-drops-versions", "production-follows-repository"]
    );
    let follows = &doc["variants"][0]["findings"][1];
    assert_eq!(follows["severity"], "warning");
    assert_eq!(follows["fix"]["by"], "operator");
    assert_eq!(
        doc["variants"][0]["production"]["serves"]["kind"],
        "following"
    );
    assert_eq!(doc["variants"][0]["production"]["version"], 0, "its latest");
    assert_eq!(doc["variants"][1]["findings"], serde_json::json!([]));
    assert_eq!(doc["findings"], serde_json::json!([]), "the ledger is fine");

    let dry = sb.run(&["init", "--release", "3.0", "--dry-run"]);
    dry.success();
    once(&dry);
    snapshot!(sb, "init_findings_dry_run", dry);

    let run = sb.run(&["init", "--release", "3.0"]);
    run.success();
    once(&run);
    snapshot!(sb, "init_findings", run);

    // Init fixed the retention; production still follows the repository (init never
    // re-points production), said once more.
    let st = sb.run(&["status", "--release", "3.0"]);
    st.success();
    assert!(!st.stderr.contains("retain_repo_versions"), "{}", st.stderr);
    assert_eq!(st.stderr.matches("warning:").count(), 1, "{}", st.stderr);
}

/// `status` of a release that was never initialised says so and exits 2 (issue 9, item 6).
async fn status_of_a_release_never_initialised(layout: &'static str) {
    let sb = Sandbox::new(layout);
    let run = sb.run(&["status", "--release", "3.0"]);
    run.code(2);
    snapshot!(sb, "status_not_initialised", run);
}

/// A missing version is the same clear usage error (exit 2) in every command (issue 9,
/// items 2 and 3), `prune --keep-latest 0` is refused (item 7), and `rollback` does not go
/// back to the empty version 0 unless `--to 0` says so (item 8).
async fn missing_versions_and_refusals(layout: &'static str) {
    let sb = Sandbox::new(layout);
    sb.init();
    let v = "cpu-ubi9";
    let (repo_name, _, prod_name) = sb.names(v);
    let no_such = format!("{repo_name} has no version 7");
    for args in [
        vec!["diff", "--release", "3.0", "--variant", v, "--from", "7"],
        vec!["diff", "--release", "3.0", "--variant", v, "--to", "7"],
        vec!["vet", "--release", "3.0", "--variant", v, "--version", "7"],
        vec![
            "promote",
            "--release",
            "3.0",
            "--variant",
            v,
            "--version",
            "7",
            "--yes",
        ],
        vec![
            "rollback",
            "--release",
            "3.0",
            "--variant",
            v,
            "--to",
            "7",
            "--yes",
        ],
    ] {
        let r = sb.run(&args);
        r.code(2);
        assert!(r.stderr.contains(&no_such), "{args:?}: {}", r.stderr);
        assert!(!r.stderr.contains("not vetted"), "{args:?}: {}", r.stderr);
    }

    let r = sb.run(&[
        "prune",
        "--release",
        "3.0",
        "--variant",
        v,
        "--keep-latest",
        "0",
        "--yes",
    ]);
    r.code(2);
    assert!(r.stderr.contains("--keep-latest 0"), "{}", r.stderr);

    // Promote version 1, then rollback: the version before is 0, the empty index.
    let dir = sb.wheels_dir("r");
    sb.wheel(&dir, &sb.project(0), "1.0", "py3-none-any", 100);
    sb.run(&[
        "upload",
        "--release",
        "3.0",
        "--variant",
        v,
        dir.to_str().unwrap(),
    ])
    .success();
    sb.run(&["vet", "--release", "3.0", "--variant", v])
        .success();
    sb.run(&["promote", "--release", "3.0", "--variant", v, "--yes"])
        .success();
    let r = sb.run(&["rollback", "--release", "3.0", "--variant", v, "--yes"]);
    r.code(3);
    assert!(r.stderr.contains("pass --to 0"), "{}", r.stderr);
    let served = |sb: &Sandbox| {
        let name = prod_name.clone();
        let client = sb.client.clone();
        async move {
            match client
                .distribution_by_name(&name)
                .await
                .unwrap()
                .unwrap()
                .serves()
            {
                Serves::Version(h) => h.number(),
                _ => None,
            }
        }
    };
    assert_eq!(served(&sb).await, Some(1), "refused: nothing changed");
    sb.run(&[
        "rollback",
        "--release",
        "3.0",
        "--variant",
        v,
        "--to",
        "0",
        "--yes",
    ])
    .success();
    assert_eq!(served(&sb).await, Some(0));
}

both_layouts!(
    findings_are_printed_once,
    status_of_a_release_never_initialised,
    missing_versions_and_refusals,
    init_is_idempotent_and_derives_names,
    init_reconciles_drift,
    status_reports_versions_builds_and_urls,
    verbose_logs_show_requests_but_no_secrets,
);
