//! `wheelgate upload`: a build to the staging index of a release + variant as one new version.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use wheelgate_core::upload::{self, FileOutcome, UploadReport, UploadReporter};

use super::Ctx;
use crate::exit::ExitStatus;
use crate::output::{self, Printer};

/// `upload`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Release, e.g. 3.0 or 3.5-EA2 (as in the catalog).
    #[arg(long)]
    pub release: String,
    /// Variant, e.g. cuda12.9-ubi9.
    #[arg(long)]
    pub variant: String,
    /// Build id recorded with the new version (default: a UTC timestamp).
    #[arg(long, env = "WHEELGATE_BUILD_ID")]
    pub build_id: Option<String>,
    /// Files uploaded at once [default: 4, or catalog [upload] jobs].
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Files at least this many bytes always use chunked upload [default: none: each file's
    /// transfer is chosen from its size, the measured throughput and [upload]
    /// request_time_limit].
    #[arg(long, value_name = "BYTES")]
    pub chunk_threshold: Option<u64>,
    /// Chunk size in bytes [default: 16777216].
    #[arg(long, value_name = "BYTES")]
    pub chunk_size: Option<u64>,
    /// The server's request-time limit in seconds: a file goes in one request only when it is
    /// predicted to finish well inside it [default: 30, or catalog [upload]
    /// request_time_limit].
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_time_limit: Option<u64>,
    /// The new version holds exactly this build's files: what the build dropped is removed in
    /// the same single change [default: the variant's `builds` in the catalog, else additive].
    #[arg(long, conflicts_with = "additive")]
    pub replace: bool,
    /// Add to the previous version's files, even for a variant with `builds = "replace"`.
    #[arg(long)]
    pub additive: bool,
    /// Validate and show what would be added and removed; send nothing, make no version.
    #[arg(long)]
    pub dry_run: bool,
    /// Wheel files, or directories searched recursively for *.whl.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// Run `upload`.
pub async fn run(ctx: &Ctx<'_>, a: &Args) -> Result<ExitStatus> {
    let mut opts = upload::UploadOptions::new(ctx.catalog, &a.release, &a.variant, a.paths.clone());
    opts.build_id = a.build_id.clone();
    if let Some(j) = a.jobs {
        opts.jobs = j;
    }
    if let Some(t) = a.chunk_threshold {
        opts.chunk_threshold = t;
    }
    if let Some(s) = a.chunk_size {
        opts.chunk_size = s;
    }
    if let Some(secs) = a.request_time_limit {
        opts.request_time_limit = Duration::from_secs(secs);
    }
    if a.replace {
        opts.replace = true;
    }
    if a.additive {
        opts.replace = false;
    }
    opts.dry_run = a.dry_run;
    let reporter: Arc<dyn UploadReporter> = if ctx.out.shows_progress() {
        Arc::new(ProgressReporter::new())
    } else {
        Arc::new(upload::Silent)
    };
    let report = upload::upload(ctx.client, ctx.catalog, &opts, reporter.clone())
        .await
        .with_context(|| format!("upload to {} {} failed", a.release, a.variant))?;
    drop(reporter);
    render(&ctx.out, &report)?;
    Ok(ExitStatus::Success)
}

fn render(out: &Printer, r: &UploadReport) -> Result<()> {
    if out.is_json() {
        return out.json(r);
    }
    let mut o = out.stdout();
    if r.dry_run {
        if r.added.is_empty() && r.removed.is_empty() {
            writeln!(
                o,
                "dry run: nothing to do: all {} already in {} (version {})",
                output::plural(r.already_present.len(), "file"),
                r.repository,
                output::version(r.version)
            )?;
        } else {
            writeln!(
                o,
                "dry run: {} would get a new version{} (build {}): {} added ({} to upload, {} reused), {} removed, {} already present; nothing sent",
                r.repository,
                if r.replace { " replacing the previous files" } else { "" },
                r.build_id,
                r.added.len(),
                r.uploaded.len(),
                r.reused.len(),
                r.removed.len(),
                r.already_present.len(),
            )?;
        }
        return write_files(&mut o, r);
    }
    if !r.created_version {
        writeln!(
            o,
            "nothing to do: all {} already in {} (version {})",
            output::plural(r.already_present.len(), "file"),
            r.repository,
            output::version(r.version)
        )?;
        return Ok(());
    }
    let removed = if r.removed.is_empty() {
        String::new()
    } else {
        format!(", {} removed", r.removed.len())
    };
    writeln!(
        o,
        "{} version {} (build {}): {} added ({} uploaded, {} reused){removed}, {} already present, {} sent",
        r.repository,
        r.version
            .map(|v| v.to_string())
            .unwrap_or_else(|| "?".into()),
        r.build_id,
        r.added.len(),
        r.uploaded.len(),
        r.reused.len(),
        r.already_present.len(),
        output::human_bytes(r.bytes_sent)
    )?;
    write_files(&mut o, r)
}

fn write_files(o: &mut impl Write, r: &UploadReport) -> Result<()> {
    for f in &r.added {
        writeln!(o, "  + {f}")?;
    }
    for f in &r.removed {
        writeln!(o, "  - {f}")?;
    }
    Ok(())
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
