//! Helpers for the end-to-end tests in `tests/tests/`: a mock server in process on port 0, faults
//! switched through its admin API (black box, over HTTP), and `loadgen` runs in process; and
//! [`targets`]: servers on real Python frameworks (FastAPI, Django REST framework) as child processes.

pub mod targets;
pub use targets::{Framework, PythonTarget};

use clap::Parser;
use loadgen::{cli::Cli, plan::Plan, report::Report, runner::live::Live};
use mock_server::{Config, testing::TestServer};
use serde_json::json;

/// A fresh mock server with every fault off.
pub async fn server() -> TestServer {
    mock_server::testing::spawn(Config::default()).await
}

/// Switches every fault off, then `enable` on (`NAME[:key=value,...]`), through `PUT /__admin/faults`.
pub async fn set_faults(server: &TestServer, enable: &[&str]) {
    let response = reqwest::Client::new()
        .put(server.url("/__admin/faults"))
        .json(&json!({"disable": ["*"], "enable": enable}))
        .send()
        .await
        .expect("admin answers");
    assert!(
        response.status().is_success(),
        "PUT /__admin/faults: {}",
        response.status()
    );
}

/// The plan of `loadgen <words...>`.
pub fn plan(words: &[&str]) -> Plan {
    let argv = std::iter::once("loadgen").chain(words.iter().copied());
    Plan::from_cli(Cli::try_parse_from(argv).expect("arguments parse")).expect("plan is valid")
}

/// Runs `loadgen cities --base-url <server> --quiet <words...>` in process, to the end.
pub async fn cities(server: &TestServer, words: &[&str]) -> Report {
    let base = server.api_url("");
    let mut all = vec!["cities", "--base-url", base.as_str(), "--quiet"];
    all.extend_from_slice(words);
    let report = loadgen::run(&plan(&all), std::future::pending(), Live::off())
        .await
        .expect("the run starts");
    assert_follows_schema(&report);
    report
}

/// Asserts that `report`, as `--json-out` writes it, follows `fixtures/report.schema.json`: every
/// report an end-to-end test gets is checked, with its evidence and score when it has them.
pub fn assert_follows_schema(report: &Report) {
    static SCHEMA: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    let validator = SCHEMA.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/report.schema.json"
        );
        let text = std::fs::read_to_string(path).expect("fixtures/report.schema.json is readable");
        let schema = serde_json::from_str(&text).expect("the schema is JSON");
        jsonschema::validator_for(&schema).expect("the schema compiles")
    });
    let json: serde_json::Value =
        serde_json::from_str(&loadgen::report::json::render(report)).expect("the report is JSON");
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|error| format!("{} at {}", error, error.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "the report breaks fixtures/report.schema.json: {errors:#?}"
    );
}

/// Failed requests of one step, by name.
pub fn fails_of(report: &Report, step: &str) -> u64 {
    report
        .endpoints
        .iter()
        .find(|endpoint| endpoint.name == step)
        .map_or(0, |endpoint| endpoint.figures.requests.fail)
}
