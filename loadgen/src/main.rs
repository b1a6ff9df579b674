//! `loadgen` binary: parse the CLI, set up tracing, hand over to the library.

use std::{io::IsTerminal, process::ExitCode};

use loadgen::cli::Cli;
use shared::cli::parse_or_exit;

fn main() -> ExitCode {
    let cli: Cli = parse_or_exit();
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
