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
    let exit_on_stdin_eof = cli.exit_on_stdin_eof;
    let config = cli
        .into_config()
        .unwrap_or_else(|error| exit_usage(&error.to_string()));
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime starts");
    let result = runtime.block_on(async {
        // A port that is taken (or an address not ours) is a set-up error: exit 2, naming it.
        let listener = match mock_server::bind(config.bind).await {
            Ok(listener) => listener,
            Err(error) => exit_usage(&format!("cannot listen on {}: {error}", config.bind)),
        };
        let address = listener.local_addr()?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{address}")?;
        stdout.flush()?;
        drop(stdout);
        let shutdown = async move {
            tokio::select! {
                () = mock_server::shutdown_signal() => {}
                () = stdin_closed(), if exit_on_stdin_eof => {
                    tracing::info!("stdin closed; finishing in-flight requests");
                }
            }
        };
        mock_server::run(listener, AppState::new(&config), config.limits, shutdown).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves when stdin reaches end of file (or fails): the parent holding the pipe is gone.
///
/// A plain thread, not `tokio::io::stdin`, whose blocking read would keep the runtime from
/// shutting down on a signal while stdin is still open.
async fn stdin_closed() {
    let (closed, on_closed) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        let _ = closed.send(());
    });
    let _ = on_closed.await;
}
