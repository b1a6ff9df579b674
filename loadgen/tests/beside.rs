//! The checks beside the peer-user ones in `loadgen isolation`: each finds its own mock-server
//! fault (`anonymous` finds `anonymous-fallback`, `resurrect` finds `delete-resurrect`) and
//! nothing else, and a clean server shows no violation with both on.

mod common;

use common::{binary, temp_dir};
use mock_server::{Config, testing::spawn};
use serde_json::Value;

/// The violation classes of a report.
const CLASSES: [&str; 6] = [
    "leak",
    "lost_write",
    "corrupt",
    "denied",
    "anonymous",
    "resurrect",
];

/// `loadgen isolation` (mock-server's default description, every default check) against
/// `server` with `fault` on: the report's violations.
async fn violations(fault: Option<&str>, extra: &[&str]) -> Value {
    let server = spawn(Config::default()).await;
    if let Some(fault) = fault {
        let update = shared::admin::FaultsUpdate {
            enable: vec![fault.to_owned()],
            ..Default::default()
        };
        server.state.faults.update(&update).expect("a known fault");
    }
    let dir = temp_dir("beside");
    let report = dir.join("report.json");
    let output = binary()
        .args(["isolation", "--base-url", &server.api_url("")])
        .args(["--users", "4", "--loops", "10", "--quiet", "--json-out"])
        .arg(&report)
        .args(extra)
        .output()
        .await
        .expect("loadgen runs");
    let text = std::fs::read_to_string(&report).unwrap_or_else(|e| {
        panic!(
            "a report ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let report: Value = serde_json::from_str(&text).expect("a JSON report");
    common::assert_valid_report(&report);
    report["violations"].clone()
}

fn count(violations: &Value, class: &str) -> u64 {
    violations[class].as_u64().unwrap_or(0)
}

/// Only `class` has violations (at least one).
fn only(violations: &Value, class: &str) {
    assert!(count(violations, class) > 0, "{class} found: {violations}");
    for other in CLASSES.into_iter().filter(|c| *c != class) {
        assert_eq!(
            count(violations, other),
            0,
            "no {other} beside {class}: {violations}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_server_shows_no_violation_with_both_checks_on() {
    let violations = violations(None, &[]).await;
    for class in CLASSES {
        assert_eq!(count(&violations, class), 0, "{class}: {violations}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_anonymous_check_finds_anonymous_fallback_and_only_it() {
    only(
        &violations(Some("anonymous-fallback"), &[]).await,
        "anonymous",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_resurrect_check_finds_delete_resurrect_and_only_it() {
    only(
        &violations(Some("delete-resurrect"), &[]).await,
        "resurrect",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipped_checks_find_nothing() {
    let violations = violations(
        Some("anonymous-fallback"),
        &["--skip", "anonymous", "--skip", "resurrect"],
    )
    .await;
    for class in CLASSES {
        assert_eq!(count(&violations, class), 0, "{class}: {violations}");
    }
}
