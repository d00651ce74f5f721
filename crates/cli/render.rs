//! How results look: text tables or one JSON document on stdout; errors and progress on stderr.
//! The only module that writes to the terminal.
#![allow(clippy::print_stderr)]

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use wheelgate_core::init::{Action, InitReport};
use wheelgate_core::status::StatusReport;
use wheelgate_core::upload::{FileOutcome, UploadReport, UploadReporter};

use crate::args::Output;

fn out() -> std::io::StdoutLock<'static> {
    std::io::stdout().lock()
}

fn json(value: &impl Serialize) -> Result<()> {
    let mut o = out();
    serde_json::to_writer_pretty(&mut o, value)?;
    writeln!(o)?;
    Ok(())
}

/// Print an error with its causes (each once) and a hint, on stderr.
pub fn error(err: &anyhow::Error, hint: Option<String>) {
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "error: {err}");
    let mut causes = err.chain().skip(1).peekable();
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
    if let Some(h) = hint {
        let _ = writeln!(e, "\nhint: {h}");
    }
}

/// In JSON mode, errors are also one JSON document on stdout.
pub fn json_error(err: &anyhow::Error, core: Option<&wheelgate_core::Error>) {
    let problems: Vec<_> = match core {
        Some(wheelgate_core::Error::InvalidInput { problems }) => problems
            .iter()
            .map(|p| serde_json::json!({"path": p.path, "kind": format!("{:?}", p.kind), "message": p.message}))
            .collect(),
        _ => Vec::new(),
    };
    let doc = serde_json::json!({
        "error": err.to_string(),
        "causes": err.chain().skip(1).map(|c| c.to_string()).collect::<Vec<_>>(),
        "exit_code": core.map(|e| e.class().exit_code()).unwrap_or(1),
        "problems": problems,
    });
    let _ = json(&doc);
}

/// `init`.
pub fn init(output: Output, r: &InitReport) -> Result<()> {
    for w in &r.warnings {
        eprintln!("{w}");
    }
    if output == Output::Json {
        return json(r);
    }
    let mut o = out();
    let verb = if r.dry_run {
        " (dry run: nothing changed)"
    } else {
        ""
    };
    writeln!(o, "init release {}{verb}", r.release)?;
    for i in &r.items {
        let action = match &i.action {
            Action::Create => {
                if r.dry_run {
                    "would create".to_owned()
                } else {
                    "created".to_owned()
                }
            }
            Action::Update(c) => format!(
                "{} ({})",
                if r.dry_run { "would update" } else { "updated" },
                c.join("; ")
            ),
            Action::Unchanged => "unchanged".to_owned(),
        };
        let path = i
            .base_path
            .as_deref()
            .map(|p| format!(" at {p}"))
            .unwrap_or_default();
        writeln!(
            o,
            "  {:<16} {:<24} {}{path}: {action}",
            i.variant,
            i.kind.to_string(),
            i.name
        )?;
    }
    let n = r.changes();
    writeln!(
        o,
        "{}",
        if n == 0 {
            "everything up to date".to_owned()
        } else {
            format!("{n} change{}", if n == 1 { "" } else { "s" })
        }
    )?;
    drop(o);
    for w in &r.warnings {
        eprintln!("{w}");
    }
    Ok(())
}

/// `upload`.
pub fn upload(output: Output, r: &UploadReport) -> Result<()> {
    if output == Output::Json {
        return json(r);
    }
    let mut o = out();
    if !r.created_version {
        writeln!(
            o,
            "nothing to do: all {} file{} already in {} (version {})",
            r.already_present.len(),
            if r.already_present.len() == 1 {
                ""
            } else {
                "s"
            },
            r.repository,
            r.version
                .map(|v| v.to_string())
                .unwrap_or_else(|| "-".into())
        )?;
        return Ok(());
    }
    writeln!(
        o,
        "{} version {} (build {}): {} added ({} uploaded, {} reused), {} already present, {} sent",
        r.repository,
        r.version
            .map(|v| v.to_string())
            .unwrap_or_else(|| "?".into()),
        r.build_id,
        r.added.len(),
        r.uploaded.len(),
        r.reused.len(),
        r.already_present.len(),
        human_bytes(r.bytes_sent)
    )?;
    for f in &r.added {
        writeln!(o, "  + {f}")?;
    }
    Ok(())
}

/// `status`.
pub fn status(output: Output, r: &StatusReport) -> Result<()> {
    for v in &r.variants {
        for w in &v.warnings {
            eprintln!("{w}");
        }
    }
    if output == Output::Json {
        return json(r);
    }
    let mut o = out();
    writeln!(o, "release {}", r.release)?;
    let dash = || "-".to_owned();
    for v in &r.variants {
        writeln!(o, "  {}", v.variant)?;
        writeln!(
            o,
            "    staging     {} version {} build {} ({} files, {} projects)",
            v.staging.repository,
            v.staging
                .version
                .map(|n| n.to_string())
                .unwrap_or_else(dash),
            v.staging.build_id.clone().unwrap_or_else(dash),
            v.staging.files,
            v.staging.projects
        )?;
        writeln!(
            o,
            "                {}",
            v.staging.index_url.clone().unwrap_or_else(dash)
        )?;
        let served = if v.production.follows_latest {
            "latest (unpinned!)".to_owned()
        } else {
            v.production
                .version
                .map(|n| n.to_string())
                .unwrap_or_else(dash)
        };
        writeln!(
            o,
            "    production  {} version {} build {}",
            v.production.distribution,
            served,
            v.production.build_id.clone().unwrap_or_else(dash)
        )?;
        writeln!(
            o,
            "                {}",
            v.production.index_url.clone().unwrap_or_else(dash)
        )?;
    }
    drop(o);
    for v in &r.variants {
        for w in &v.warnings {
            eprintln!("{w}");
        }
    }
    Ok(())
}

fn human_bytes(b: u64) -> String {
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

/// Progress bars on stderr when it is a terminal; nothing otherwise.
pub struct ProgressReporter {
    bar: Mutex<Option<ProgressBar>>,
    files: Mutex<(usize, usize)>,
}

impl ProgressReporter {
    /// A reporter drawing on stderr if it is a terminal.
    pub fn new() -> Self {
        Self {
            bar: Mutex::new(None),
            files: Mutex::new((0, 0)),
        }
    }

    fn with_bar(&self, f: impl FnOnce(&ProgressBar)) {
        if let Ok(b) = self.bar.lock() {
            if let Some(bar) = b.as_ref() {
                f(bar);
            }
        }
    }
}

impl UploadReporter for ProgressReporter {
    fn transfer_started(&self, files: usize, bytes: u64) {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(bytes), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
        ) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut f) = self.files.lock() {
            *f = (0, files);
        }
        bar.set_message(format!("0/{files} files"));
        if let Ok(mut b) = self.bar.lock() {
            *b = Some(bar);
        }
    }

    fn file_progress(&self, _filename: &str, bytes: u64) {
        self.with_bar(|b| b.inc(bytes));
    }

    fn file_finished(&self, _filename: &str, outcome: FileOutcome) {
        if outcome == FileOutcome::AlreadyPresent {
            return;
        }
        let msg = match self.files.lock() {
            Ok(mut f) => {
                f.0 += 1;
                format!("{}/{} files", f.0, f.1)
            }
            Err(_) => return,
        };
        self.with_bar(|b| b.set_message(msg));
    }

    fn committing(&self, units: usize) {
        self.with_bar(|b| b.set_message(format!("adding {units} files in one new version")));
    }
}

impl Drop for ProgressReporter {
    fn drop(&mut self) {
        if let Ok(b) = self.bar.lock() {
            if let Some(bar) = b.as_ref() {
                bar.finish_and_clear();
            }
        }
    }
}

/// Print any value as the JSON document.
pub fn json_value(v: &serde_json::Value) -> Result<()> {
    json(v)
}

/// A note for people, on stderr.
pub fn note(msg: &str) {
    eprintln!("{msg}");
}

/// Ask yes/no on the terminal (stderr prompt, stdin answer).
pub fn confirm(question: &str) -> Result<bool> {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

fn write_diff(o: &mut impl Write, d: &wheelgate_core::diff::Diff, indent: &str) -> Result<()> {
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

fn v(n: Option<u64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_else(|| "-".into())
}

/// `diff`.
pub fn diff(output: Output, r: &wheelgate_core::diff::DiffReport) -> Result<()> {
    if output == Output::Json {
        return json(r);
    }
    let mut o = out();
    writeln!(
        o,
        "{} {}: version {} → {}",
        r.release,
        r.variant,
        v(r.from_version),
        v(r.to_version)
    )?;
    write_diff(&mut o, &r.diff, "  ")
}

/// `vet`.
pub fn vet(output: Output, r: &wheelgate_core::vet::VetReport) -> Result<()> {
    if output == Output::Json {
        return json(r);
    }
    let mut o = out();
    if r.passed {
        writeln!(
            o,
            "{} version {} passed vetting ({} files, digest {}); recorded in the ledger",
            r.repository,
            r.version,
            r.files,
            &r.digest[..12.min(r.digest.len())]
        )?;
    } else {
        writeln!(
            o,
            "{} version {} FAILED vetting ({} finding{}); nothing recorded:",
            r.repository,
            r.version,
            r.findings.len(),
            if r.findings.len() == 1 { "" } else { "s" }
        )?;
        for f in &r.findings {
            writeln!(o, "  [{}] {}: {}", f.check, f.filename, f.message)?;
        }
    }
    for w in &r.warnings {
        writeln!(o, "  warning: {w}")?;
    }
    Ok(())
}

/// A plan is a JSON document only for a dry run (otherwise the result is).
fn plan_json(p: &impl serde::Serialize, dry_run: bool) -> Result<()> {
    if dry_run {
        json(p)
    } else {
        Ok(())
    }
}

fn dry_run_note(dry_run: bool) -> &'static str {
    if dry_run {
        " (dry run: nothing changes)"
    } else {
        ""
    }
}

/// The plan of a promote/rollback (text; JSON only for a dry run).
pub fn plan(output: Output, p: &wheelgate_core::promote::SwitchPlan, dry_run: bool) -> Result<()> {
    if output == Output::Json {
        return plan_json(p, dry_run);
    }
    let mut o = out();
    writeln!(
        o,
        "{} of release {}{}",
        p.kind,
        p.release,
        dry_run_note(dry_run)
    )?;
    for s in &p.switches {
        writeln!(
            o,
            "  {}: production {} → version {}",
            s.variant,
            v(s.from_version),
            s.to_version
        )?;
        write_diff(&mut o, &s.diff, "    ")?;
    }
    Ok(())
}

/// The result of a promote/rollback.
pub fn switched(output: Output, r: &wheelgate_core::promote::SwitchReport) -> Result<()> {
    if output == Output::Json {
        return json(r);
    }
    let mut o = out();
    for s in &r.switches {
        let pages = r.pages_checked.get(&s.variant).copied().unwrap_or(0);
        let scope = match r.verify {
            wheelgate_core::promote::VerifyScope::Full => {
                format!("root and all {pages} project pages")
            }
            wheelgate_core::promote::VerifyScope::Changed => {
                format!("root and {pages} project pages: the changed ones and a sample")
            }
        };
        writeln!(
            o,
            "{} {}: production now serves version {} (was {}); verified at {} ({scope})",
            r.kind,
            s.variant,
            s.to_version,
            v(s.from_version),
            s.index_url.as_deref().unwrap_or("-")
        )?;
    }
    Ok(())
}

/// What `prune` would keep and delete.
pub fn prune_plan(
    output: Output,
    p: &wheelgate_core::prune::PrunePlan,
    dry_run: bool,
) -> Result<()> {
    if output == Output::Json {
        return plan_json(p, dry_run);
    }
    let mut o = out();
    writeln!(
        o,
        "prune of {} {}{}",
        p.release,
        p.variant,
        dry_run_note(dry_run)
    )?;
    for (n, why) in &p.keep {
        let why: Vec<String> = why.iter().map(ToString::to_string).collect();
        writeln!(o, "  keep    version {n:<4} {}", why.join(", "))?;
    }
    for n in &p.delete {
        writeln!(o, "  delete  version {n}")?;
    }
    Ok(())
}

/// What `prune` did.
pub fn pruned(output: Output, r: &wheelgate_core::prune::PruneReport) -> Result<()> {
    if output == Output::Json {
        return json(r);
    }
    let mut o = out();
    let list = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
    writeln!(
        o,
        "prune {} {}: deleted {} version{} ({}); recorded in the ledger",
        r.plan.release,
        r.plan.variant,
        r.deleted.len(),
        if r.deleted.len() == 1 { "" } else { "s" },
        list(&r.deleted)
    )?;
    for (n, why) in &r.refused {
        writeln!(o, "  kept version {n}: Pulp refused to delete it: {why}")?;
    }
    Ok(())
}

/// `history`.
pub fn history(
    output: Output,
    release: &str,
    events: &[wheelgate_core::ledger::Event],
) -> Result<()> {
    if output == Output::Json {
        return json(&serde_json::json!({"release": release, "events": events}));
    }
    let mut o = out();
    writeln!(o, "history of release {release}")?;
    for e in events {
        let prune = e.kind == wheelgate_core::ledger::EventKind::Prune;
        let change = match e.from_version {
            Some(f) => format!("{f} → {}", e.to_version),
            None if e.kind == wheelgate_core::ledger::EventKind::Vet => {
                format!("version {}", e.to_version)
            }
            None if prune => "-".to_owned(),
            None => format!("- → {}", e.to_version),
        };
        let detail = match (&e.detail, prune) {
            (Some(d), true) => format!(" — {d}"),
            _ => String::new(),
        };
        writeln!(
            o,
            "  {}  {:<8} {:<16} {:<10} {:<13} {}{}{detail}",
            e.time,
            e.kind.to_string(),
            e.variant,
            change,
            e.outcome.to_string(),
            e.actor,
            e.reason
                .as_deref()
                .map(|r| format!(" — {r}"))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}
