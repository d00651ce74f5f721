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
    assert!(
        run.stderr.contains("WARNING"),
        "init warns loudly: {}",
        run.stderr
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

both_layouts!(
    init_is_idempotent_and_derives_names,
    init_reconciles_drift,
    status_reports_versions_builds_and_urls,
    verbose_logs_show_requests_but_no_secrets,
);
