//! The CLI's help texts, as snapshots: a flag renamed, dropped or reworded shows up in review.

use std::process::Command;

fn help(args: &[&str]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wheelgate"));
    // clap shows the current value of each flag's variable: none, for a stable text.
    for (k, _) in std::env::vars_os() {
        if let Some(k) = k.to_str() {
            if k.starts_with("PULP_") || k.starts_with("WHEELGATE_") {
                cmd.env_remove(k);
            }
        }
    }
    let out = cmd.args(args).env("COLUMNS", "100").output().unwrap();
    assert!(out.status.success(), "{args:?}");
    assert!(out.stderr.is_empty(), "help goes to stdout");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn top_level_help() {
    insta::assert_snapshot!("help", help(&["--help"]));
}

#[test]
fn release_engineer_and_sre_commands_help() {
    for cmd in ["vet", "promote", "rollback", "history", "prune"] {
        insta::assert_snapshot!(format!("help_{cmd}"), help(&[cmd, "--help"]));
    }
}

#[test]
fn customer_side_commands_help() {
    for cmd in ["client-config", "client-cert", "mirror", "front-config"] {
        insta::assert_snapshot!(format!("help_{cmd}"), help(&[cmd, "--help"]));
    }
}
