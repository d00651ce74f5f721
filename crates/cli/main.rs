//! The `wheelgate` binary: parses flags, calls one library operation per command, renders
//! the result, maps errors to exit codes. No logic of its own.

mod args;
mod commands;
mod render;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::args::{Cli, Output};

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
        .with_span_events(if cli.verbose > 0 {
            tracing_subscriber::fmt::format::FmtSpan::CLOSE
        } else {
            tracing_subscriber::fmt::format::FmtSpan::NONE
        })
        .try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            render::error(&anyhow::Error::new(e), None);
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::run(&cli)) {
        Ok(code) => code,
        Err(err) => {
            let core = err.downcast_ref::<wheelgate_core::Error>();
            if cli.output == Output::Json {
                render::json_error(&err, core);
            }
            render::error(&err, core.and_then(|e| e.hint()));
            let code = core.map(|e| e.class().exit_code()).unwrap_or(1);
            ExitCode::from(code)
        }
    }
}
