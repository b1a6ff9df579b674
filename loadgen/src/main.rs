//! `loadgen` binary: parse the CLI, set up tracing, validate the plan, run it.

use std::{io::IsTerminal, process::ExitCode};

use loadgen::{cli::Cli, plan::Plan};
use shared::cli::{exit_usage, parse_or_exit};

fn main() -> ExitCode {
    let cli: Cli = parse_or_exit();
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
    let plan = Plan::from_cli(cli).unwrap_or_else(|error| exit_usage(&error.to_string()));
    loadgen::main_with(plan)
}
