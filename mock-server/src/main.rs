//! `mock-server` binary: parse the CLI, set up tracing, bind, print the address, serve.

use std::{
    io::{IsTerminal, Write},
    process::ExitCode,
};

use mock_server::{
    AppState,
    config::{Cli, Command},
};
use shared::cli::{exit_usage, parse_or_exit};

fn main() -> ExitCode {
    let cli: Cli = parse_or_exit();
    if let Some(Command::Faults) = cli.command {
        print!("{}", mock_server::faults::catalogue::describe());
        return ExitCode::SUCCESS;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let config = cli
        .into_config()
        .unwrap_or_else(|error| exit_usage(&error.to_string()));
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime starts");
    let result = runtime.block_on(async {
        let listener = mock_server::bind(config.bind).await?;
        let address = listener.local_addr()?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{address}")?;
        stdout.flush()?;
        drop(stdout);
        mock_server::run(
            listener,
            AppState::new(&config),
            mock_server::shutdown_signal(),
        )
        .await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
