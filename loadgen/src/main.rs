//! `loadgen` binary: parse the CLI, set up tracing, hand over to the library.

use std::{io::IsTerminal, process::ExitCode};

use loadgen::cli::{Cli, mistakes};
use shared::cli::parse_from_or_exit;

fn main() -> ExitCode {
    let cli: Cli = parse_from_or_exit(mistakes::expand(std::env::args_os()), mistakes::hint);
    if let Some(code) = loadgen::cli::docs::print(&cli.command) {
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
