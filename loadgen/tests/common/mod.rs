//! Helpers shared by loadgen's integration tests: a mock server on port 0, a plan from
//! command-line words, an in-process run, and the binary.

#![allow(dead_code)]

use std::{path::PathBuf, time::Duration};

use clap::Parser;
use loadgen::{
    cli::Cli,
    plan::{Plan, PlanError},
    report::{Report, progress::Live},
};
use mock_server::{Config, testing::TestServer};
use shared::delay::DelaySpec;

/// A mock server whose `/json` answers after `delay`.
pub async fn server(delay: Duration) -> TestServer {
    let server = mock_server::testing::spawn(Config::default()).await;
    server.state.delay.set(DelaySpec::Fixed(delay));
    server
}

/// The plan for `loadgen <words...>`.
pub fn plan(words: &[&str]) -> Plan {
    let argv = std::iter::once("loadgen").chain(words.iter().copied());
    Plan::from_cli(Cli::try_parse_from(argv).expect("arguments parse")).expect("plan is valid")
}

/// Runs `loadgen json --url URL <words...>` in-process, quietly, to the end.
pub async fn run_json(url: &str, words: &[&str]) -> Report {
    try_run_json(url, words).await.expect("the run starts")
}

/// [`run_json`], or the set-up error that stopped it from starting.
pub async fn try_run_json(url: &str, words: &[&str]) -> Result<Report, PlanError> {
    let mut all = vec!["json", "--url", url, "--quiet"];
    all.extend_from_slice(words);
    loadgen::run(&plan(&all), std::future::pending(), Live::off()).await
}

/// The `loadgen` binary built for these tests.
pub fn binary() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"));
    command.kill_on_drop(true);
    command
}

/// A fresh temporary directory for output files.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("loadgen-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
