//! `wheelgate mirror`: a verified, incremental, atomically switched copy of a release's
//! customer-facing indexes in a directory (customer side: no Pulp credentials).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use wheelgate_core::mirror::{self, MirrorFailed, MirrorFlags};
use wheelgate_core::Catalog;
use wheelgate_mirror::{MirrorSummary, Reporter, VerifySummary};

use crate::exit::ExitStatus;
use crate::output::{self, Printer};

/// `mirror`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Release, e.g. 3.0 or 3.5-EA2 (as in the catalog).
    #[arg(long)]
    pub release: String,
    /// A variant to mirror (repeatable).
    #[arg(long = "variant", value_name = "VARIANT", conflicts_with = "all")]
    pub variants: Vec<String>,
    /// Every variant of the release.
    #[arg(long)]
    pub all: bool,
    /// The directory to mirror into: <DEST>/<product>/<release>/<variant>/simple/, the files
    /// stored once in <DEST>/<product>/<release>/files/, manifest.json beside them.
    #[arg(long, value_name = "DIR")]
    pub dest: PathBuf,
    /// The index of each variant, with {product}, {release} and {variant} [default: catalog
    /// [customer] index_host + /api/pypi/<[pulp] domain>/ (or /pypi/) +
    /// {product}/{release}/{variant}/simple/].
    #[arg(long, value_name = "URL")]
    pub index_url_template: Option<String>,
    /// Client certificate and key in one PEM [default: catalog [customer] client_cert].
    #[arg(long, value_name = "PEM")]
    pub cert: Option<PathBuf>,
    /// CA bundle to trust for the index host [default: catalog [customer] ca_bundle].
    #[arg(long, value_name = "PEM")]
    pub ca_bundle: Option<PathBuf>,
    /// Requests in flight at once, pages and files together.
    #[arg(long, value_name = "N", default_value_t = mirror::DEFAULT_JOBS)]
    pub jobs: usize,
    /// Remove stored files no variant of the mirror lists any more (never without it).
    #[arg(long)]
    pub delete: bool,
    /// Check the mirror already in <DEST> instead of updating it, offline (no index, no
    /// certificate): every file the manifest lists for the variants, by size and sha256, and
    /// every link of their pages. Exit 1 naming each problem; --jobs files are hashed at once.
    #[arg(long, conflicts_with_all = ["index_url_template", "cert", "ca_bundle", "delete"])]
    pub verify: bool,
}

/// Run `mirror` (needs the catalog, not Pulp), or `mirror --verify` (needs only the disk).
pub async fn run(catalog: &Catalog, out: &Printer, a: &Args) -> Result<ExitStatus> {
    let flags = MirrorFlags {
        release: a.release.clone(),
        variants: a.variants.clone(),
        all: a.all,
        dest: a.dest.clone(),
        index_url_template: a.index_url_template.clone(),
        cert: a.cert.clone(),
        ca_bundle: a.ca_bundle.clone(),
        jobs: Some(a.jobs),
        delete: a.delete,
    };
    let bars = out.shows_progress() && std::io::stderr().is_terminal();
    if a.verify {
        return verify(catalog, out, &flags, Bars::new(bars, false));
    }
    let reporter = Bars::new(bars, true);
    let result = mirror::mirror(catalog, &flags, &reporter).await;
    reporter.finish();
    let summary = result.map_err(failed);
    let summary = summary.with_context(|| format!("mirror of release {} failed", a.release))?;
    if out.is_json() {
        out.json(&summary)?;
    } else {
        write_text(&mut out.stdout(), &summary)?;
    }
    Ok(ExitStatus::Success)
}

/// `--verify`: the summary and every problem on stdout; exit 1 unless intact.
fn verify(catalog: &Catalog, out: &Printer, flags: &MirrorFlags, bars: Bars) -> Result<ExitStatus> {
    // Local reads and hashing on the threads it starts: this thread only waits.
    let result = tokio::task::block_in_place(|| mirror::verify(catalog, flags, &bars));
    bars.finish();
    let summary = result.map_err(failed).with_context(|| {
        format!(
            "verification of the mirror of release {} failed",
            flags.release
        )
    })?;
    if out.is_json() {
        out.json(&summary)?;
    } else {
        write_verify_text(&mut out.stdout(), &summary)?;
    }
    Ok(if summary.intact {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

fn failed(e: MirrorFailed) -> anyhow::Error {
    match e {
        MirrorFailed::Setup(e) => anyhow::Error::from(e),
        MirrorFailed::Mirror(e) => anyhow::Error::from(e),
    }
}

/// One variant's line: its projects and files, and where its static index is.
fn write_variant(
    o: &mut impl Write,
    name: &str,
    projects: usize,
    files: usize,
    simple: &std::path::Path,
) -> Result<()> {
    writeln!(
        o,
        "{name}: {}, {} -> {}",
        output::plural(projects, "project"),
        output::plural(files, "file"),
        simple.display()
    )?;
    Ok(())
}

fn write_verify_text(o: &mut impl Write, s: &VerifySummary) -> Result<()> {
    for v in &s.variants {
        write_variant(o, &v.name, v.projects, v.files, &v.simple)?;
    }
    let verdict = if s.intact {
        "intact".to_owned()
    } else {
        format!(
            "NOT intact, {}:",
            output::plural(s.problems.len(), "problem")
        )
    };
    writeln!(
        o,
        "{} ({}) and {} checked: {verdict}",
        output::plural(s.files, "file"),
        output::human_bytes(s.bytes),
        output::plural(s.pages, "page"),
    )?;
    for p in &s.problems {
        writeln!(o, "  {p}")?;
    }
    writeln!(o, "root: {}", s.root.display())?;
    Ok(())
}

fn write_text(o: &mut impl Write, s: &MirrorSummary) -> Result<()> {
    for v in &s.variants {
        write_variant(o, &v.name, v.projects, v.files, &v.simple)?;
    }
    writeln!(
        o,
        "{}: {} downloaded ({}), {} already present; {} deleted",
        output::plural(s.files, "file"),
        s.downloaded,
        output::human_bytes(s.bytes_downloaded),
        s.skipped,
        s.deleted
    )?;
    writeln!(o, "manifest: {}", s.manifest.display())?;
    Ok(())
}

/// Two bars on stderr (files, bytes) when it is a terminal.
struct Bars {
    enabled: bool,
    /// Mark files already stored `(present)` (a mirror run; not a verification, where every
    /// file is).
    mark_present: bool,
    bars: Mutex<Option<(ProgressBar, ProgressBar)>>,
}

impl Bars {
    fn new(enabled: bool, mark_present: bool) -> Self {
        Self {
            enabled,
            mark_present,
            bars: Mutex::new(None),
        }
    }

    fn finish(&self) {
        if let Ok(b) = self.bars.lock() {
            if let Some((files, bytes)) = b.as_ref() {
                files.finish_and_clear();
                bytes.finish_and_clear();
            }
        }
    }
}

impl Reporter for Bars {
    fn on_plan(&self, files: usize, bytes: u64) {
        if !self.enabled {
            return;
        }
        let multi = indicatif::MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let f = multi.add(ProgressBar::new(files as u64));
        let b = multi.add(ProgressBar::new(bytes));
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} files",
        ) {
            f.set_style(style);
        }
        if let Ok(style) =
            ProgressStyle::with_template("  {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {msg}")
        {
            b.set_style(style);
        }
        f.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut bars) = self.bars.lock() {
            *bars = Some((f, b));
        }
    }

    fn on_found(&self, files: usize, bytes: u64) {
        if let Ok(b) = self.bars.lock() {
            if let Some((f, by)) = b.as_ref() {
                f.inc_length(files as u64);
                by.inc_length(bytes);
            }
        }
    }

    fn on_file(&self, filename: &str, bytes: u64, downloaded: bool) {
        if let Ok(b) = self.bars.lock() {
            if let Some((f, by)) = b.as_ref() {
                f.inc(1);
                by.inc(bytes);
                by.set_message(if downloaded || !self.mark_present {
                    filename.to_owned()
                } else {
                    format!("{filename} (present)")
                });
            }
        }
    }
}
