//! The command line itself: usage errors (also as JSON), a connection flag after the command,
//! one log line per request at `-v`.

use crate::util::Sandbox;

#[test]
fn usage_errors_are_one_json_document_with_output_json() {
    let sb = Sandbox::new("plain");
    let r = sb.run(&["status", "--output", "json"]);
    r.code(2);
    let doc = r.json();
    assert_eq!(doc["exit_code"], 2, "{doc}");
    assert!(
        doc["error"].as_str().unwrap().contains("--release"),
        "{doc}"
    );
    // Text mode: nothing on stdout, clap's message on stderr.
    let r = sb.run(&["status"]);
    r.code(2);
    assert_eq!(r.stdout, "");
    assert!(r.stderr.contains("--release"), "{}", r.stderr);
}

#[test]
fn a_connection_flag_after_the_command_gets_the_corrected_command_line() {
    let sb = Sandbox::new("plain");
    let r = sb.run(&[
        "status",
        "--release",
        "3.0",
        "--base-url",
        "http://127.0.0.1:9",
    ]);
    r.code(2);
    assert!(
        r.stderr.contains("unexpected argument '--base-url'"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(
            "hint: --base-url belongs to the Pulp connection and goes before the command"
        ) && r
            .stderr
            .contains("wheelgate --base-url http://127.0.0.1:9 status --release 3.0"),
        "{}",
        r.stderr
    );
}

/// `-v` logs each request exactly once, with method, URL, status and time.
async fn verbose_logs_one_line_per_request(layout: &'static str) {
    let sb = Sandbox::new(layout);
    sb.init();
    let r = sb.run(&["-v", "status", "--release", "3.0"]);
    r.success();
    let lines: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("method=GET"))
        .collect();
    assert!(lines.len() >= 3, "requests logged:\n{}", r.stderr);
    for l in &lines {
        assert!(
            l.contains("url=") && l.contains("status=") && l.contains("elapsed_ms="),
            "{l}"
        );
    }
    assert!(
        !r.stderr.contains(" close ") && !r.stderr.contains("time.busy"),
        "span close lines repeat requests:\n{}",
        r.stderr
    );
}

/// A wrong password: the 401 says what failed once, and the advice comes once, as the hint.
async fn a_refused_login_gives_its_advice_once(layout: &'static str) {
    let sb = Sandbox::new(layout);
    let r: wheelgate_testkit::Run = sb
        .cmd()
        .env("PULP_PASSWORD", "not-the-password")
        .args(["status", "--release", "3.0"])
        .output()
        .unwrap()
        .into();
    r.code(1);
    assert!(r.stderr.contains("authentication failed"), "{}", r.stderr);
    assert_eq!(
        r.stderr.matches("--username/--password").count(),
        1,
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("hint: check the credentials"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("not-the-password"), "{}", r.stderr);
}

both_layouts!(
    verbose_logs_one_line_per_request,
    a_refused_login_gives_its_advice_once,
);
