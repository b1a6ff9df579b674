//! `loadgen` binary: catch the signals, parse the CLI, set up tracing, hand over to the library.

use std::{io::IsTerminal, process::ExitCode};

use loadgen::cli::{Cli, mistakes};
use shared::cli::parse_from_or_exit;

fn main() -> ExitCode {
    // First of all, so that a Ctrl-C at any moment still ends a run with its reports. Should it
    // fail, the runner listens through tokio from its start, as before.
    if let Err(error) = loadgen::runner::stop::install() {
        eprintln!("warning: cannot catch SIGINT and SIGTERM before the run starts: {error}");
    }
    let cli: Cli = parse_from_or_exit(mistakes::expand(std::env::args_os()), mistakes::hint);
    if matches!(
        cli.command,
        loadgen::cli::Command::Completions { .. } | loadgen::cli::Command::Man
    ) {
        loadgen::runner::stop::release();
    }
    if let Some(code) = loadgen::print_docs(&cli.command) {
        return code;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    loadgen::main_of(cli)
}
