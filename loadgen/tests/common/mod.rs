//! Helpers shared by loadgen's integration tests: a mock server on port 0, a plan from
//! command-line words, an in-process run, and the binary.

#![allow(dead_code)]

use std::{path::PathBuf, time::Duration};

use clap::Parser;
use loadgen::{
    cli::Cli,
    plan::{Plan, PlanError},
    report::Report,
    runner::live::Live,
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

/// A fresh temporary directory for output files (`loadgen-test-NAME-*` under the system temp
/// dir), removed with everything in it when the test drops it, pass or fail.
pub fn temp_dir(name: &str) -> TempDir {
    TempDir(
        tempfile::Builder::new()
            .prefix(&format!("loadgen-test-{name}-"))
            .tempdir()
            .expect("a temp dir can be created"),
    )
}

/// A temporary directory that reads as its path (`dir.join(..)`, `&dir` as `&Path`).
pub struct TempDir(tempfile::TempDir);

impl std::ops::Deref for TempDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        self.0.path()
    }
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// A program of the test suite's Python venv (`target/pyenv`, or `$RACEBENCH_PYENV`), built by
/// `scripts/test-deps.sh`; a missing venv fails the test with that instruction, never skips it.
pub fn pyenv_bin(program: &str) -> PathBuf {
    let venv = std::env::var_os("RACEBENCH_PYENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/pyenv"));
    let path = venv.join("bin").join(program);
    assert!(
        path.exists(),
        "{} is missing: run scripts/test-deps.sh (make test does) to build the test venv",
        path.display()
    );
    path
}

/// Validates a JUnit XML file against `fixtures/junit.xsd` with the venv's `xmlschema`.
pub fn assert_valid_junit(path: &std::path::Path) {
    let out = std::process::Command::new(pyenv_bin("python"))
        .args([
            "-c",
            "import sys, xmlschema; xmlschema.XMLSchema(sys.argv[1]).validate(sys.argv[2])",
        ])
        .arg(workspace().join("fixtures/junit.xsd"))
        .arg(path)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{} does not validate against fixtures/junit.xsd: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Validates a JSON report against `fixtures/report.schema.json`.
pub fn assert_valid_report(report: &serde_json::Value) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(workspace().join("fixtures/report.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "the report breaks its schema: {errors:#?}"
    );
}

/// Reads a JSON file.
pub fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("the file was written"))
        .expect("the file is JSON")
}
