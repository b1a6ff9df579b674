//! `loadgen cities` as a CI gate: exit 0 when clean, 1 on any violation unless its class is
//! allowed, 2 on a usage error; the evidence file is written as JSON lines.

mod common;

use common::{binary, temp_dir};
use mock_server::{Config, testing::spawn};

async fn enable(server: &mock_server::testing::TestServer, fault: &str) {
    let update = shared::admin::FaultsUpdate {
        enable: vec![fault.to_owned()],
        ..Default::default()
    };
    server.state.faults.update(&update).expect("a known fault");
}

async fn run(base: &str, extra: &[&str]) -> std::process::Output {
    binary()
        .args([
            "cities",
            "--base-url",
            base,
            "--users",
            "10",
            "--duration",
            "2s",
            "--quiet",
        ])
        .args(extra)
        .output()
        .await
        .expect("loadgen runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_run_exits_0_and_a_leak_exits_1_with_evidence() {
    let server = spawn(Config::default()).await;
    let base = server.api_url("");
    let clean = run(&base, &[]).await;
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );

    enable(&server, "bola").await;
    let dir = temp_dir("cities-cli");
    let evidence = dir.join("evidence.jsonl");
    let leaking = run(
        &base,
        &[
            "--probe-foreign",
            "1",
            "--evidence-out",
            evidence.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(
        leaking.status.code(),
        Some(1),
        "with bola on, a run probing foreign ids finds a leak and exits 1: {}",
        String::from_utf8_lossy(&leaking.stderr)
    );
    let stderr = String::from_utf8_lossy(&leaking.stderr);
    assert!(stderr.contains("leak"), "{stderr}");
    let stdout = String::from_utf8_lossy(&leaking.stdout);
    assert!(stdout.contains("Evidence (first"), "{stdout}");
    let lines = std::fs::read_to_string(&evidence).unwrap();
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(
        first["class"], "leak",
        "the first evidence line is a leak: {first}"
    );
    assert!(
        first["victim"].is_u64(),
        "the evidence names the victim's user number: {first}"
    );

    let allowed = run(&base, &["--probe-foreign", "1", "--allow", "leak"]).await;
    assert_eq!(
        allowed.status.code(),
        Some(0),
        "--allow leak turns the leak into a clean run, exit 0: {}",
        String::from_utf8_lossy(&allowed.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preflights_sign_ups_are_reported_beside_the_steps_and_add_up_to_the_users() {
    let server = spawn(Config::default()).await;
    let dir = temp_dir("cities-preflight");
    let json = dir.join("report.json");
    let out = run(&server.api_url(""), &["--json-out", json.to_str().unwrap()]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "a clean run passes: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let count = |list: &serde_json::Value, field: &str| {
        list.as_array()
            .and_then(|items| items.iter().find(|i| i["name"] == "register"))
            .map(|item| item.pointer(field).and_then(|v| v.as_u64()).unwrap_or(0))
            .unwrap_or(0)
    };
    let in_load = count(&report["endpoints"], "/requests/total");
    let in_preflight = count(&report["preflight"]["requests"], "/count");
    assert!(
        in_preflight > 0,
        "the preflight's sign-ups are reported: {}",
        report["preflight"]
    );
    assert_eq!(
        in_load + in_preflight,
        10,
        "the load's and the preflight's sign-ups add up to --users 10: {}",
        report["preflight"]
    );
    assert_eq!(
        report["preflight"]["users"].as_u64(),
        Some(in_preflight),
        "each user the preflight signed up went on into the load: {}",
        report["preflight"]
    );
}

#[tokio::test]
async fn bad_cities_flags_are_one_line_and_exit_2() {
    for extra in [
        &["--tabs", "0"][..],
        &["--worker-index", "2", "--workers", "2"],
        &["--cities-path", "cities"],
        &["--run-id", "a.b"],
        &["--allow", "everything"],
    ] {
        let output = binary()
            .args(["cities", "--duration", "1s"])
            .args(extra)
            .output()
            .await
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{extra:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{extra:?}: {stderr}");
    }
}

/// `PUT /__admin/faults` with `body`, over a plain HTTP/1.1 connection.
async fn put_faults(server: &mock_server::testing::TestServer, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect to the admin API");
    let request = format!(
        "PUT /__admin/faults HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        server.addr,
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_switched_on_mid_run_is_marked_in_the_report() {
    let server = spawn(Config::default()).await;
    let dir = temp_dir("fault-switches");
    let (json, html) = (dir.join("report.json"), dir.join("report.html"));
    let run = binary()
        .args(["cities", "--base-url", &server.api_url(""), "--users", "4"])
        .args([
            "--duration",
            "3s",
            "--quiet",
            "--admin-url",
            &server.url("/__admin"),
        ])
        .args(["--json-out", json.to_str().unwrap()])
        .args(["--html-out", html.to_str().unwrap()])
        .spawn()
        .expect("loadgen starts");
    // The load is under way once the server has served far more requests than a preflight sends.
    let mut polls = 0;
    while server.state.metrics.snapshot().0 < 300 {
        polls += 1;
        assert!(polls < 1000, "the load never reached 300 requests");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let answer = put_faults(&server, r#"{"enable": ["bola"]}"#).await;
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "the switch is accepted: {answer}"
    );
    let output = run.wait_with_output().await.expect("loadgen ends");
    let report = common::read_json(&json);
    common::assert_valid_report(&report);
    let switches = report["fault_switches"].as_array().unwrap_or_else(|| {
        panic!(
            "the report lists the switch: {report}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(switches.len(), 1, "one switch during the run: {switches:?}");
    let at_s = switches[0]["at_s"].as_f64().unwrap_or(-1.0);
    assert!(
        at_s > 0.0 && at_s <= report["duration_s"].as_f64().unwrap_or(0.0),
        "the switch is inside the run: {switches:?}"
    );
    let on = switches[0]["on"][0].as_str().unwrap_or_default();
    assert!(
        on.starts_with("bola:"),
        "bola was switched on: {switches:?}"
    );
    let page = std::fs::read_to_string(&html).expect("the HTML report was written");
    assert!(page.contains("+bola</text>"), "the charts mark the switch");
}

/// `loadgen isolation --base-url BASE --quiet --users 4 --loops 3 EXTRA...`.
async fn isolation(base: &str, extra: &[&str]) -> std::process::Output {
    binary()
        .args([
            "isolation",
            "--base-url",
            base,
            "--users",
            "4",
            "--loops",
            "3",
            "--quiet",
        ])
        .args(extra)
        .output()
        .await
        .expect("loadgen runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolation_exits_0_clean_2_on_a_wrong_description_and_3_when_nothing_was_tested() {
    let server = spawn(Config::default()).await;
    let base = server.api_url("");
    let api = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/apis/mock-server.toml"
    );

    let clean = isolation(&base, &["--api", api]).await;
    let stderr = String::from_utf8_lossy(&clean.stderr);
    assert_eq!(
        clean.status.code(),
        Some(0),
        "a clean mock-server: {stderr}"
    );

    // A wrong path: the preflight names the request, the answer and the setting, one line.
    let wrong = isolation(&base, &["--api", api, "--set", "records.collection=/towns"]).await;
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert_eq!(
        wrong.status.code(),
        Some(2),
        "a preflight mismatch is a set-up error: {stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    for words in ["POST /api/v1/towns", "404", "records.collection"] {
        assert!(stderr.contains(words), "the error names {words}: {stderr}");
    }
    assert!(
        !String::from_utf8_lossy(&wrong.stdout).contains("leak:"),
        "no report, no violation"
    );

    // Without the preflight, a login that never works tests nothing: exit 3 with its reason.
    let nothing = isolation(
        &base,
        &[
            "--no-preflight",
            "--set",
            "login.password-field=pass",
            "--duration",
            "2s",
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&nothing.stderr);
    assert_eq!(
        nothing.status.code(),
        Some(3),
        "no user could log in: {stderr}"
    );
    assert!(stderr.contains("no user could log in"), "{stderr}");

    // Nothing listening: a set-up error naming the base URL.
    let closed = isolation("http://127.0.0.1:1/api/v1", &[]).await;
    let stderr = String::from_utf8_lossy(&closed.stderr);
    assert_eq!(
        closed.status.code(),
        Some(2),
        "an unreachable target: {stderr}"
    );
    assert!(
        stderr.contains("127.0.0.1:1") && stderr.trim_end().lines().count() == 1,
        "one line naming the URL: {stderr}"
    );
}
