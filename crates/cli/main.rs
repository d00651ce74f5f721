//! The `wheelgate` binary: parses flags, calls one library operation per command, renders
//! the result, maps errors to exit codes. No logic of its own.

mod cli;
mod commands;
mod exit;
mod output;
mod usage;

use std::io::IsTerminal;
use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

use crate::cli::Cli;
use crate::exit::ExitStatus;
use crate::output::Printer;

fn init_logging(cli: &Cli) {
    let default = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "warn,wheelgate=debug,wheelgate_core=debug,pulp_client=debug",
        (false, _) => "debug",
    };
    let filter =
        EnvFilter::try_from_env("WHEELGATE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        // One line per request: the request's span carries method and URL, its one event the
        // status and time; span open/close lines would repeat it.
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::NONE)
        .try_init();
}

fn main() -> ExitCode {
    let cli = match usage::parse() {
        Ok(cli) => cli,
        Err(status) => return status.into(),
    };
    init_logging(&cli);
    let out = Printer {
        format: cli.output,
        quiet: cli.quiet,
        verbose: cli.verbose,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let err = anyhow::Error::new(e);
            out.error(&err, ExitStatus::Failure.code());
            return ExitStatus::Failure.into();
        }
    };
    match runtime.block_on(commands::run(&cli, out)) {
        Ok(status) => status.into(),
        Err(err) => {
            let status = ExitStatus::of_error(&err);
            out.error(&err, status.code());
            status.into()
        }
    }
}
