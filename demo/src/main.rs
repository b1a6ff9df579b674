//! `racebench-demo` binary (`make bench`): parse the CLI, run the demo, map the outcome to an exit
//! code (0 every act met its expectation, 1 one did not, 2 the demo could not run).

use std::process::ExitCode;

use demo::cli::Cli;
use shared::cli::parse_or_exit;

fn main() -> ExitCode {
    let cli: Cli = parse_or_exit();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime starts");
    runtime.block_on(demo::main_with(cli.into_plan()))
}
