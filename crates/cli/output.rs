//! The shared output context: text for people or one JSON document on stdout, notes,
//! warnings, errors and prompts on stderr. Commands render through a [`Printer`]; this module
//! and the upload progress bars are the only places that write to the terminal.
#![allow(clippy::print_stderr)]

use std::io::{IsTerminal, Write};

use anyhow::Result;
use clap::ValueEnum;
use serde::Serialize;
use wheelgate_core::findings::{Finding, FixBy, Severity};

/// Text or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Human-readable.
    Text,
    /// One JSON document on stdout.
    Json,
}

/// Where and how a command's results go.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    /// `--output`.
    pub format: Output,
    /// `--quiet`: no notes or progress, only errors (and warnings).
    pub quiet: bool,
    /// `-v` count: at 1 or more, errors show the HTTP library's causes below a transport
    /// failure too.
    pub verbose: u8,
}

impl Printer {
    /// Whether results are one JSON document.
    pub fn is_json(&self) -> bool {
        self.format == Output::Json
    }

    /// Progress bars make sense (text output, not quiet; the bars check for a terminal).
    pub fn shows_progress(&self) -> bool {
        !self.is_json() && !self.quiet
    }

    /// The JSON document on stdout.
    pub fn json(&self, value: &impl Serialize) -> Result<()> {
        let mut o = self.stdout();
        serde_json::to_writer_pretty(&mut o, value)?;
        writeln!(o)?;
        Ok(())
    }

    /// Stdout, for text tables.
    pub fn stdout(&self) -> std::io::StdoutLock<'static> {
        std::io::stdout().lock()
    }

    /// A note for people, on stderr (not with `--quiet`).
    pub fn note(&self, msg: &str) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }

    /// A warning on stderr, prefixed `warning:`; printed even with `--quiet`.
    pub fn warning(&self, msg: &str) {
        eprintln!("warning: {msg}");
    }

    /// A finding on stderr, once: `error:`, `warning:` or `note:` (by severity) and its
    /// message, then what fixes it. `init_ran`: in `init`'s output, whether init applied the
    /// fixes it makes (`false`: a dry run); `None` elsewhere. Notes are not shown with `--quiet`.
    pub fn finding(&self, f: &Finding, init_ran: Option<bool>) {
        match f.severity {
            Severity::Error => eprintln!("error: {}", f.message),
            Severity::Warning => self.warning(&f.message),
            Severity::Info if self.quiet => return,
            Severity::Info => eprintln!("note: {}", f.message),
        }
        let Some(fix) = &f.fix else {
            return;
        };
        match (fix.by, init_ran) {
            (FixBy::Init, Some(true)) => eprintln!("  fixed: {}", fix.summary),
            (FixBy::Init, Some(false)) => {
                eprintln!("  fix: {} (init does it without --dry-run)", fix.summary)
            }
            _ => eprintln!("  fix: {}: `{}`", fix.summary, fix.command),
        }
    }

    /// Ask yes/no on the terminal (stderr prompt, stdin answer).
    pub fn confirm(&self, question: &str) -> Result<bool> {
        eprint!("{question} [y/N] ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Ok(matches!(
            line.trim().to_ascii_lowercase().as_str(),
            "y" | "yes"
        ))
    }

    /// Whether a prompt can be answered (stdin is a terminal and the output is text).
    pub fn can_prompt(&self) -> bool {
        std::io::stdin().is_terminal() && !self.is_json()
    }

    /// An error with its causes (each once) and a hint, on stderr; in JSON mode also one JSON
    /// document on stdout.
    pub fn error(&self, err: &anyhow::Error, exit_code: u8) {
        let core = err.downcast_ref::<wheelgate_core::Error>();
        if self.is_json() {
            let _ = self.json(&error_document(err, core, exit_code));
        }
        let mut e = std::io::stderr().lock();
        let _ = writeln!(e, "error: {err}");
        // Below a transport failure (refused, TLS, timeout, ...) the HTTP library's own layers
        // repeat what its message already says; show them only with -v.
        let verbose = self.verbose > 0;
        let mut below_transport = false;
        let mut causes = err
            .chain()
            .skip(1)
            .take_while(|c| {
                let keep = verbose || !below_transport;
                below_transport |= c.downcast_ref::<wheelgate_http::TransportError>().is_some();
                keep
            })
            .peekable();
        if causes.peek().is_some() {
            let _ = writeln!(e, "\nCaused by:");
            for (i, c) in causes.enumerate() {
                let text = c.to_string();
                let mut lines = text.lines();
                if let Some(first) = lines.next() {
                    let _ = writeln!(e, "  {i}: {first}");
                }
                for l in lines {
                    let _ = writeln!(e, "     {l}");
                }
            }
        }
        if let Some(h) = hint(err) {
            let _ = writeln!(e, "\nhint: {h}");
        }
    }
}

/// The hint of the first error in the chain that has one (the libraries' typed errors say what
/// the user can do; the binary only prints it).
fn hint(err: &anyhow::Error) -> Option<String> {
    err.chain().find_map(|c| {
        if let Some(e) = c.downcast_ref::<wheelgate_core::Error>() {
            e.hint()
        } else {
            c.downcast_ref::<wheelgate_mirror::MirrorError>()
                .and_then(wheelgate_mirror::MirrorError::hint)
        }
    })
}

fn error_document(
    err: &anyhow::Error,
    core: Option<&wheelgate_core::Error>,
    exit_code: u8,
) -> serde_json::Value {
    let problems: Vec<_> = match core {
        Some(wheelgate_core::Error::InvalidInput { problems }) => problems
            .iter()
            .map(|p| serde_json::json!({"path": p.path, "kind": format!("{:?}", p.kind), "message": p.message}))
            .collect(),
        _ => Vec::new(),
    };
    serde_json::json!({
        "error": err.to_string(),
        "causes": err.chain().skip(1).map(|c| c.to_string()).collect::<Vec<_>>(),
        "exit_code": exit_code,
        "problems": problems,
        "hint": hint(err),
    })
}

/// `n` followed by `word`, with an `s` unless n is 1.
pub fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// A version number or `-`.
pub fn version(n: Option<u64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_else(|| "-".into())
}

/// ` (dry run: nothing changes)` for dry runs.
pub fn dry_run_note(dry_run: bool) -> &'static str {
    if dry_run {
        " (dry run: nothing changes)"
    } else {
        ""
    }
}

/// Bytes in binary units.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The projects of a diff, then its file counts.
pub fn write_diff(o: &mut impl Write, d: &wheelgate_core::diff::Diff, indent: &str) -> Result<()> {
    if d.is_empty() {
        writeln!(o, "{indent}(no changes)")?;
        return Ok(());
    }
    for p in &d.projects {
        writeln!(o, "{indent}{p}")?;
    }
    writeln!(
        o,
        "{indent}({} files added, {} removed)",
        d.files_added.len(),
        d.files_removed.len()
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_and_plurals() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
        assert_eq!(plural(1, "finding"), "1 finding");
        assert_eq!(plural(2, "finding"), "2 findings");
    }
}
