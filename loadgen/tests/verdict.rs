//! What a run says at its end: the totals line adds up, the last line is the verdict and says why,
//! the open model warns when --max-users caps the rate (and `dropped<N` gates it), report paths
//! are checked before the load starts and listed after it, and `--users` is refused beside ramp
//! stages.

mod common;

use std::time::Duration;

async fn output(args: &[&str]) -> std::process::Output {
    tokio::time::timeout(
        Duration::from_secs(60),
        common::binary().args(args).output(),
    )
    .await
    .expect("loadgen finishes")
    .expect("loadgen runs")
}

/// `Total requests: 10, pass: 10, fail: 0, exception: 0[, violation: 0]` as numbers.
fn totals(stdout: &str) -> Vec<u64> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Total requests: "))
        .unwrap_or_else(|| panic!("a totals line: {stdout}"));
    line.split(['(', ','])
        .take_while(|part| !part.contains("includes"))
        .filter_map(|part| part.rsplit(": ").next()?.trim().parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_run_ends_with_pass_and_its_totals_add_up() {
    let server = common::server(Duration::ZERO).await;
    let url = server.url("/json");
    let dir = common::temp_dir("verdict-pass");
    let html = dir.join("run.html");
    let out = output(&[
        "json",
        &url,
        "-u",
        "2",
        "--loops",
        "5",
        "--quiet",
        "--threshold",
        "p99<10s",
        "--html-out",
        html.to_str().unwrap(),
    ])
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "a clean run exits 0: {stdout}");
    let numbers = totals(&stdout);
    assert_eq!(
        numbers,
        vec![10, 10, 0, 0],
        "total, pass, fail, exception of 2 users x 5 loops: {stdout}"
    );
    assert_eq!(
        stdout.lines().last(),
        Some("PASS: 10 requests, 0 failed, 0 violations, 1 threshold met"),
        "the last line is the verdict, saying why: {stdout}"
    );
    assert!(
        stdout.contains(&format!("Reports: HTML {}", html.display())),
        "the run says where its report went: {stdout}"
    );
    assert!(
        stdout.contains("ok     p99<10s (actual ") && stdout.contains(" ms)"),
        "a latency threshold's actual value has its unit: {stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_iterations_are_warned_and_gated_by_the_dropped_threshold() {
    // One user on a 200 ms server cannot start 200 iterations a second: most are dropped.
    let server = common::server(Duration::from_millis(200)).await;
    let url = server.url("/json");
    let out = output(&[
        "json",
        &url,
        "--rate",
        "200",
        "--max-users",
        "1",
        "--duration",
        "1s",
        "--quiet",
        "--threshold",
        "dropped<1",
    ])
    .await;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "dropped<1 is breached: {stdout}{stderr}"
    );
    assert!(
        stderr.contains("warning: the open model is") && stderr.contains("behind schedule"),
        "warned live, on stderr, while the run goes on: {stderr}"
    );
    assert!(
        stdout.contains("scheduled iterations were dropped: all 1 users (--max-users) were busy"),
        "warned in the summary: {stdout}"
    );
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("FAIL: threshold breached: dropped<1;") && last.ends_with("exit 1"),
        "the verdict names the breached gate: {last}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_report_path_fails_before_the_load() {
    // Nothing listens on port 1: had the run started, the preflight would say so instead.
    let out = output(&[
        "json",
        "http://127.0.0.1:1/json",
        "--duration",
        "30s",
        "--html-out",
        "/nonexistent-racebench-dir/run.html",
    ])
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "a set-up error: {stderr}");
    assert!(
        stderr.starts_with("error: cannot write /nonexistent-racebench-dir/run.html")
            && stderr.contains("checked before the run"),
        "the path is checked first, and named: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_beside_ramp_stages_are_refused() {
    let scenario = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/scenarios/ramp-json.toml"
    );
    let out = output(&["run", scenario, "--users", "50"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "refused, not ignored: {stderr}");
    assert!(
        stderr.contains("stages set the number of users") && stderr.contains("drop --users"),
        "says why and what to change: {stderr}"
    );
}
