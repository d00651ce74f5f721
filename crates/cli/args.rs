//! Command-line arguments (clap derive). Doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  operation failed (server, network, task)
  2  usage error or invalid input (nothing was changed)
  3  refused by policy";

/// Publish Python wheels to versioned, customer-facing package indexes on Pulp.
///
/// CI uploads a build to a staging repository as one new immutable version; release
/// engineers vet and promote it to the versioned production index; SREs roll back.
#[derive(Debug, Parser)]
#[command(name = "wheelgate", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// The catalog (default: ./wheelgate.toml).
    #[arg(long, global = true, env = "WHEELGATE_CATALOG", value_name = "PATH")]
    pub catalog: Option<PathBuf>,

    /// Output format: text for people, json (one document on stdout) for programs.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,

    /// More logging on stderr (-v: requests and tasks, -vv: everything).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only errors on stderr; no progress.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(flatten)]
    pub pulp: PulpArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// How much of the production index `promote`/`rollback` read back after the switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Verify {
    /// The root page, every project page the switch changes, and a sample of 8 others.
    Changed,
    /// The root page and every project page (seconds for hundreds of projects).
    Full,
}

impl From<Verify> for wheelgate_core::promote::VerifyScope {
    fn from(v: Verify) -> Self {
        match v {
            Verify::Changed => Self::Changed,
            Verify::Full => Self::Full,
        }
    }
}

/// Text or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Human-readable.
    Text,
    /// One JSON document on stdout.
    Json,
}

/// Pulp connection options, under pulp-cli's names. Given before the command.
/// Precedence: these flags > PULP_* environment > catalog [pulp] > pulp-cli's config file.
#[derive(Debug, Args)]
#[command(next_help_heading = "Pulp connection (before the command)")]
pub struct PulpArgs {
    /// Pulp API server, e.g. https://pulp.example.com.
    #[arg(long, env = "PULP_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,
    /// API root, e.g. /pulp/ or /api/pulp/.
    #[arg(long, env = "PULP_API_ROOT", value_name = "PATH")]
    pub api_root: Option<String>,
    /// Domain (servers with domains enabled).
    #[arg(long, env = "PULP_DOMAIN")]
    pub domain: Option<String>,
    /// User name (HTTP basic).
    #[arg(long, env = "PULP_USERNAME")]
    pub username: Option<String>,
    /// Password (prefer the PULP_PASSWORD environment variable).
    #[arg(long, env = "PULP_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Client certificate (PEM) for mTLS.
    #[arg(long, env = "PULP_CERT", value_name = "PATH")]
    pub cert: Option<PathBuf>,
    /// Client key (PEM), when not inside --cert.
    #[arg(long, env = "PULP_KEY", value_name = "PATH")]
    pub key: Option<PathBuf>,
    /// Extra CA bundle (PEM) to trust.
    #[arg(long, env = "PULP_CA_BUNDLE", value_name = "PATH")]
    pub ca_bundle: Option<PathBuf>,
    /// pulp-cli profile ([cli-PROFILE] in pulp-cli's config).
    #[arg(long, env = "PULP_PROFILE")]
    pub profile: Option<String>,
    /// pulp-cli config file (default: ~/.config/pulp/cli.toml).
    #[arg(long, env = "PULP_CLI_CONFIG", value_name = "PATH")]
    pub pulp_cli_config: Option<PathBuf>,
    /// Do not verify TLS certificates (testing only).
    #[arg(long)]
    pub no_verify_ssl: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or reconcile every Pulp object of a release (idempotent).
    Init(InitArgs),
    /// Upload a build to the staging index of a release + variant as one new version.
    Upload(UploadArgs),
    /// Show staging and production state of every variant of a release.
    Status(StatusArgs),
    /// Projects and files added, removed and changed between two versions.
    Diff(DiffArgs),
    /// Check a staging version (tags, allowlist, dependency closure, metadata); record it on pass.
    Vet(VetArgs),
    /// Point production at a vetted staging version (atomic, verified, recorded).
    Promote(PromoteArgs),
    /// Switch production back to the version it served before (or to --to N).
    Rollback(RollbackArgs),
    /// Every vet, promote, rollback and prune of a release, read from Pulp.
    History(HistoryArgs),
    /// Delete staging versions nothing refers to (not served, vetted, in history or recent).
    Prune(PruneArgs),
}

/// `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Release.
    #[arg(long)]
    pub release: String,
    /// Variant.
    #[arg(long)]
    pub variant: String,
    /// From: `production`, `latest` or a version number.
    #[arg(long, default_value = "production")]
    pub from: wheelgate_core::diff::VersionRef,
    /// To: `latest`, `production` or a version number.
    #[arg(long, default_value = "latest")]
    pub to: wheelgate_core::diff::VersionRef,
}

/// `vet`.
#[derive(Debug, Args)]
pub struct VetArgs {
    /// Release.
    #[arg(long)]
    pub release: String,
    /// Variant.
    #[arg(long)]
    pub variant: String,
    /// Staging version (default: the latest).
    #[arg(long)]
    pub version: Option<u64>,
}

/// `promote`.
#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// Release.
    #[arg(long)]
    pub release: String,
    /// Variant(s) to promote.
    #[arg(
        long = "variant",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub variants: Vec<String>,
    /// Every variant of the release, all-or-nothing.
    #[arg(long)]
    pub all: bool,
    /// Staging version (default: the newest vetted one of each variant).
    #[arg(long)]
    pub version: Option<u64>,
    /// Refuse unless production serves this version now (compare-and-swap).
    #[arg(long, value_name = "M")]
    pub expect_current: Option<u64>,
    /// Show the plan and the diff, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (required when not on a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Why, for the ledger.
    #[arg(long)]
    pub reason: Option<String>,
    /// How much of the production index to read back through the customer path afterwards.
    #[arg(long, value_enum, default_value = "changed")]
    pub verify: Verify,
}

/// `rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Release.
    #[arg(long)]
    pub release: String,
    /// Variant.
    #[arg(long)]
    pub variant: String,
    /// A version production served before (default: the one before the current).
    #[arg(long, value_name = "N")]
    pub to: Option<u64>,
    /// Do not ask for confirmation (required when not on a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Why, for the ledger.
    #[arg(long)]
    pub reason: Option<String>,
    /// How much of the production index to read back through the customer path afterwards.
    #[arg(long, value_enum, default_value = "changed")]
    pub verify: Verify,
}

/// `prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Release.
    #[arg(long)]
    pub release: String,
    /// Variant.
    #[arg(long)]
    pub variant: String,
    /// Keep this many of the newest versions whatever else holds (at least 1).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub keep_latest: u64,
    /// Show what would be kept and deleted, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (required when not on a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Why, for the ledger.
    #[arg(long)]
    pub reason: Option<String>,
}

/// `history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Release.
    #[arg(long)]
    pub release: String,
    /// Only this variant.
    #[arg(long)]
    pub variant: Option<String>,
}

/// `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Release, e.g. 3.0.
    #[arg(long)]
    pub release: String,
    /// Show the plan, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `upload`.
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// Release, e.g. 3.0.
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
    /// Files at least this many bytes use chunked upload [default: 33554432].
    #[arg(long, value_name = "BYTES")]
    pub chunk_threshold: Option<u64>,
    /// Chunk size in bytes [default: 16777216].
    #[arg(long, value_name = "BYTES")]
    pub chunk_size: Option<u64>,
    /// Wheel files, or directories searched recursively for *.whl.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Release, e.g. 3.0.
    #[arg(long)]
    pub release: String,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn connection_flags_are_top_level_and_output_is_global() {
        let cli = Cli::try_parse_from([
            "wheelgate",
            "--base-url",
            "http://h",
            "--cert",
            "c.pem",
            "status",
            "--release",
            "3.0",
            "--output",
            "json",
        ])
        .unwrap();
        assert_eq!(cli.pulp.base_url.as_deref(), Some("http://h"));
        assert_eq!(cli.output, Output::Json);
        // Connection flags belong before the command (a subcommand may take its own --cert).
        assert!(Cli::try_parse_from([
            "wheelgate",
            "status",
            "--release",
            "3.0",
            "--base-url",
            "x"
        ])
        .is_err());
    }

    #[test]
    fn promote_needs_variants_or_all() {
        assert!(Cli::try_parse_from(["wheelgate", "promote", "--release", "3.0"]).is_err());
        assert!(Cli::try_parse_from([
            "wheelgate",
            "promote",
            "--release",
            "3.0",
            "--all",
            "--variant",
            "a"
        ])
        .is_err());
        let cli = Cli::try_parse_from([
            "wheelgate",
            "promote",
            "--release",
            "3.0",
            "--variant",
            "a",
            "--variant",
            "b",
            "--version",
            "4",
        ])
        .unwrap();
        let Command::Promote(p) = cli.command else {
            panic!()
        };
        assert_eq!(p.variants, vec!["a", "b"]);
        assert_eq!(p.version, Some(4));
    }
}
