//! The command line above the commands (clap derive): global options, the Pulp connection
//! flags and the list of commands. Each command's own arguments live in its module under
//! `commands/`. Doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::commands;
use crate::exit::EXIT_CODES;
use crate::output::Output;

/// The help heading of the options every command takes (as cargo and uv group them).
const GLOBAL: &str = "Global options";

/// Publish Python wheels to versioned, customer-facing package indexes on Pulp.
///
/// CI uploads a build to a staging repository as one new immutable version; release
/// engineers vet and promote it to the versioned production index; SREs roll back.
#[derive(Debug, Parser)]
#[command(name = "wheelgate", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// The catalog (default: ./wheelgate.toml).
    #[arg(long, global = true, env = "WHEELGATE_CATALOG", value_name = "PATH", help_heading = GLOBAL)]
    pub catalog: Option<PathBuf>,

    /// Output format: text for people, json (one document on stdout) for programs.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text, help_heading = GLOBAL)]
    pub output: Output,

    /// More logging on stderr (-v: requests and tasks, -vv: everything).
    #[arg(
        short,
        long,
        global = true,
        action = clap::ArgAction::Count,
        conflicts_with = "quiet",
        help_heading = GLOBAL
    )]
    pub verbose: u8,

    /// Only errors on stderr; no progress.
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    pub quiet: bool,

    /// Where to keep what was read of each staging version's changes and of each ledger, so vet
    /// reads only the versions made since and promote, rollback, status and history only the
    /// ledger events added since (default: $XDG_CACHE_HOME/wheelgate, else
    /// ~/.cache/wheelgate). Safe to delete at any time.
    #[arg(long, global = true, env = "WHEELGATE_CACHE_DIR", value_name = "DIR", help_heading = GLOBAL)]
    pub cache_dir: Option<PathBuf>,

    /// Use no cache: read every version and ledger from Pulp, write nothing.
    #[arg(
        long,
        global = true,
        env = "WHEELGATE_NO_CACHE",
        value_parser = clap::builder::FalseyValueParser::new(),
        help_heading = GLOBAL
    )]
    pub no_cache: bool,

    #[command(flatten)]
    pub pulp: PulpArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Pulp connection options, under pulp-cli's names. Given before the command.
/// Precedence: these flags > PULP_* environment > catalog [pulp] > pulp-cli's config file.
/// The environment is read in one place (wheelgate-core's connection layer), not here.
#[derive(Debug, Args)]
#[command(next_help_heading = "Pulp connection (before the command)")]
pub struct PulpArgs {
    /// Pulp API server, e.g. https://pulp.example.com [env: PULP_BASE_URL].
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// API root, e.g. /pulp/ or /api/pulp/ [env: PULP_API_ROOT].
    #[arg(long, value_name = "PATH")]
    pub api_root: Option<String>,
    /// Domain (servers with domains enabled) [env: PULP_DOMAIN].
    #[arg(long)]
    pub domain: Option<String>,
    /// User name (HTTP basic; logs in once and uses a session unless PULP_SESSION=false) [env: PULP_USERNAME].
    #[arg(long)]
    pub username: Option<String>,
    /// Password (prefer the PULP_PASSWORD environment variable).
    #[arg(long)]
    pub password: Option<String>,
    /// Bearer token (prefer the PULP_TOKEN environment variable).
    #[arg(long)]
    pub token: Option<String>,
    /// OAuth2 client id (client credentials, e.g. a service account) [env: PULP_CLIENT_ID].
    #[arg(long)]
    pub client_id: Option<String>,
    /// OAuth2 client secret (prefer the PULP_CLIENT_SECRET environment variable).
    #[arg(long)]
    pub client_secret: Option<String>,
    /// OAuth2 token endpoint for --client-id [env: PULP_TOKEN_URL].
    #[arg(long, value_name = "URL")]
    pub token_url: Option<String>,
    /// Client certificate (PEM) for mTLS [env: PULP_CERT].
    #[arg(long, value_name = "PATH")]
    pub cert: Option<PathBuf>,
    /// Client key (PEM), when not inside --cert [env: PULP_KEY].
    #[arg(long, value_name = "PATH")]
    pub key: Option<PathBuf>,
    /// Extra CA bundle (PEM) to trust [env: PULP_CA_BUNDLE].
    #[arg(long, value_name = "PATH")]
    pub ca_bundle: Option<PathBuf>,
    /// pulp-cli profile ([cli-PROFILE] in pulp-cli's config) [env: PULP_PROFILE].
    #[arg(long)]
    pub profile: Option<String>,
    /// pulp-cli config file (default: ~/.config/pulp/cli.toml) [env: PULP_CLI_CONFIG].
    #[arg(long, value_name = "PATH")]
    pub pulp_cli_config: Option<PathBuf>,
    /// Timeout of one request, in seconds (default 300) [env: PULP_TIMEOUT].
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Do not verify TLS certificates (testing only) [env: PULP_VERIFY_SSL=false].
    #[arg(long)]
    pub no_verify_ssl: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or reconcile every Pulp object of a release (idempotent).
    Init(commands::init::Args),
    /// Upload a build to the staging index of a release + variant as one new version.
    Upload(commands::upload::Args),
    /// Show staging and production state of every variant of a release.
    Status(commands::status::Args),
    /// Projects and files added, removed and changed between two versions.
    Diff(commands::diff::Args),
    /// Check a staging version (tags, allowlist, dependency closure, metadata); record it on pass.
    Vet(commands::vet::Args),
    /// Point production at a vetted staging version (atomic, verified, recorded).
    Promote(commands::promote::Args),
    /// Switch production back to the version it served before (or to --to N).
    Rollback(commands::rollback::Args),
    /// Every vet, promote, rollback and prune of a release, read from Pulp.
    History(commands::history::Args),
    /// Delete staging versions nothing refers to (not served, vetted, in history or recent).
    Prune(commands::prune::Args),
    /// pip.conf, uv.toml or shell exports for customers of a variant's index (paths only).
    ClientConfig(commands::client_config::Args),
    /// Combine the newest valid entitlement certificate and its key into the PEM pip and uv take.
    ClientCert(commands::client_cert::Args),
    /// Copy a release's customer indexes into a directory: verified, incremental, switched atomically.
    Mirror(commands::mirror::Args),
    /// The customer-facing TLS front of a release (nginx) from the catalog's [access] CAs.
    FrontConfig(commands::front_config::Args),
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
    fn cache_flags_are_global() {
        let cli = Cli::try_parse_from([
            "wheelgate",
            "vet",
            "--release",
            "3.0",
            "--variant",
            "a",
            "--cache-dir",
            "/c",
            "--no-cache",
        ])
        .unwrap();
        assert_eq!(cli.cache_dir.as_deref(), Some(std::path::Path::new("/c")));
        assert!(cli.no_cache);
        let cli = Cli::try_parse_from(["wheelgate", "vet", "--release", "3.0", "--variant", "a"])
            .unwrap();
        assert!(!cli.no_cache && cli.cache_dir.is_none());
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
