//! Command-line errors: clap's message, plus a corrected command line when a top-level flag
//! (the Pulp connection) was given after the command, and one JSON document with `--output json`.
#![allow(clippy::print_stderr)]

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::CommandFactory;

use crate::cli::Cli;
use crate::exit::ExitStatus;
use crate::output::{Output, Printer};

/// Parse the command line; on a usage error print it (and a hint, and the JSON document when
/// asked for) and return the exit status.
pub fn parse() -> Result<Cli, ExitStatus> {
    let args: Vec<String> = std::env::args().collect();
    match <Cli as clap::Parser>::try_parse_from(&args) {
        Ok(cli) => Ok(cli),
        Err(err) => Err(report(&err, &args)),
    }
}

fn report(err: &clap::Error, args: &[String]) -> ExitStatus {
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = err.print();
        return ExitStatus::Success;
    }
    let hint = misplaced_top_level_flag(err, args);
    let wants_json = wants_json(args);
    if wants_json {
        // clap's message without its usage and help lines.
        let text = err.to_string();
        let first = text
            .lines()
            .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
            .trim_start_matches("error: ")
            .to_owned();
        let out = Printer {
            format: Output::Json,
            quiet: false,
            verbose: 0,
        };
        let _ = out.json(&serde_json::json!({
            "error": first,
            "causes": [],
            "exit_code": ExitStatus::Usage.code(),
            "problems": [],
            "hint": hint,
        }));
    }
    let _ = err.print();
    if let Some(h) = hint {
        eprintln!("\nhint: {h}");
    }
    ExitStatus::Usage
}

/// `--output json` / `--output=json` anywhere on the line (the parse failed, so look at the words).
fn wants_json(args: &[String]) -> bool {
    args.iter().any(|a| a == "--output=json")
        || args
            .windows(2)
            .any(|w| w[0] == "--output" && w[1] == "json")
}

/// When the unknown argument is a flag of the top level (e.g. `--base-url` after `status`), say
/// that it goes before the command and show the command line with it moved there.
fn misplaced_top_level_flag(err: &clap::Error, args: &[String]) -> Option<String> {
    if err.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(invalid)) = err.get(ContextKind::InvalidArg) else {
        return None;
    };
    let name = invalid.split('=').next()?.strip_prefix("--")?;
    let top = Cli::command();
    let flag = top
        .get_arguments()
        .find(|a| a.get_long() == Some(name) && !a.is_global_set())?;
    let takes_value = flag.get_action().takes_values();
    let subcommands: Vec<&str> = top.get_subcommands().map(|c| c.get_name()).collect();
    let at = args
        .iter()
        .skip(1)
        .position(|a| subcommands.contains(&a.as_str()))?
        + 1;
    let flag_word = format!("--{name}");
    let from = args
        .iter()
        .skip(at)
        .position(|a| a == &flag_word || a.starts_with(&format!("{flag_word}=")))?
        + at;
    let width = if takes_value && !args[from].contains('=') && from + 1 < args.len() {
        2
    } else {
        1
    };
    let mut fixed: Vec<String> = args.to_vec();
    let moved: Vec<String> = fixed.drain(from..from + width).collect();
    for (i, m) in moved.into_iter().enumerate() {
        fixed.insert(at + i, m);
    }
    fixed[0] = "wheelgate".into();
    Some(format!(
        "--{name} belongs to the Pulp connection and goes before the command (a command may \
         have flags of its own, such as --index-cert): {}",
        shell_words(&fixed)
    ))
}

fn shell_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            if !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c))
            {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_owned).collect()
    }

    fn hint(line: &str) -> Option<String> {
        let args = words(line);
        let err = <Cli as clap::Parser>::try_parse_from(&args).unwrap_err();
        misplaced_top_level_flag(&err, &args)
    }

    #[test]
    fn a_connection_flag_after_the_command_gets_the_corrected_line() {
        let h = hint("wheelgate status --release 3.0 --base-url http://h:1").unwrap();
        assert!(
            h.ends_with("wheelgate --base-url http://h:1 status --release 3.0"),
            "{h}"
        );
        let h = hint("wheelgate status --domain=d --release 3.0").unwrap();
        assert!(
            h.ends_with("wheelgate --domain=d status --release 3.0"),
            "{h}"
        );
    }

    #[test]
    fn other_unknown_flags_get_no_such_hint() {
        assert_eq!(hint("wheelgate status --release 3.0 --bogus"), None);
    }

    #[test]
    fn json_is_noticed_in_either_spelling() {
        assert!(wants_json(&words("wheelgate --output json status")));
        assert!(wants_json(&words("wheelgate status --output=json")));
        assert!(!wants_json(&words("wheelgate status --output text")));
    }
}
