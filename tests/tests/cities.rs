//! `loadgen cities` against `mock-server`, end to end over real sockets: a clean server shows no
//! violation, and every fault of the catalogue is detected within 5 s by 20 users and classified as
//! issue 5 says. Race faults are switched on with `barrier=10`, so the first 10 requests that reach
//! the racy pause are released together: the interleaving is forced, not hoped for. (Ten, not
//! twenty: with a fault on, cities requests also go through the server's correct connection pool
//! of `size + overflow` = 10, so at most ten can be inside a handler at once.)

use e2e::{cities, fails_of, server, set_faults};
use loadgen::report::Report;

const USERS: &str = "20";

/// 20 users for 3 s (plus `extra` flags) against a fresh server with only `fault` on.
async fn run_with_fault(fault: &str, extra: &[&str]) -> Report {
    let server = server().await;
    set_faults(&server, &[fault]).await;
    let mut words = vec!["--users", USERS, "--duration", "3s"];
    words.extend_from_slice(extra);
    let report = cities(&server, &words).await;
    // Off again, so the server's shutdown does not wait on requests a fault holds.
    set_faults(&server, &[]).await;
    report
}

/// Whether some evidence of `class` was seen at `step`.
fn has_evidence(report: &Report, class: &str, step: &str) -> bool {
    report
        .evidence
        .iter()
        .any(|e| e.class == class && e.step == step)
}

fn detected_within_5s(report: &Report) -> f64 {
    let first = report
        .first_violation_after_s
        .expect("a violation was detected");
    assert!(first < 5.0, "first violation after {first} s");
    first
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_server_shows_no_violation_with_every_check_on() {
    let server = server().await;
    let report = cities(
        &server,
        &[
            "--users",
            USERS,
            "--duration",
            "3s",
            "--list-check",
            "--update-check",
            "--delete-check",
            "--probe-foreign",
            "2",
        ],
    )
    .await;
    let v = report.figures.violations;
    assert_eq!((v.leak, v.lost_write, v.corrupt, v.timeout), (0, 0, 0, 0));
    assert_eq!(
        report.figures.requests.fail, 0,
        "{:?}",
        report.failure_reasons
    );
    assert_eq!(report.figures.requests.exception, 0);
    assert!(
        report.figures.requests.pass > 200,
        "{}",
        report.figures.requests.pass
    );
    for step in [
        "register", "token", "create", "read", "list", "update", "delete", "gone", "probe",
    ] {
        assert!(
            report
                .endpoints
                .iter()
                .any(|e| e.name == step && e.figures.requests.pass > 0),
            "{step}"
        );
    }
    assert!(report.evidence.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_identity_is_a_leak_or_lost_write_and_the_score_confirms_every_leak() {
    let server = server().await;
    set_faults(&server, &["shared-identity:barrier=10"]).await;
    let report = cities(
        &server,
        &[
            "--users",
            USERS,
            "--duration",
            "3s",
            "--list-check",
            "--score",
        ],
    )
    .await;
    detected_within_5s(&report);
    let v = report.figures.violations;
    assert!(v.leak + v.lost_write > 0);
    assert_eq!(v.corrupt, 0);
    let score = report.score.expect("scored");
    assert!(score.cross_user_writes > 0);
    assert_eq!(score.precision.unwrap_or(1.0), 1.0, "{score:?}");
    // Reads cut off by the stop never reach the user; everything else is caught.
    if score.cross_user_reads > 20 {
        assert!(score.recall.unwrap() >= 0.9, "{score:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racy_id_is_a_leak_naming_observer_and_victim() {
    let report = run_with_fault("racy-id:barrier=10", &[]).await;
    detected_within_5s(&report);
    assert!(report.figures.violations.leak > 0);
    let leak = report
        .evidence
        .iter()
        .find(|e| e.class == "leak")
        .expect("leak evidence");
    let victim = leak.victim.expect("a victim");
    assert_ne!(victim, leak.observer);
    assert!(
        leak.message.contains(&format!("user {}", leak.observer)),
        "{}",
        leak.message
    );
    assert!(
        leak.message.contains(&format!("user {victim}")),
        "{}",
        leak.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unscoped_cache_is_a_leak_seen_in_lists() {
    let report = run_with_fault("unscoped-cache", &["--list-check"]).await;
    detected_within_5s(&report);
    assert!(report.figures.violations.leak > 0);
    assert!(has_evidence(&report, "leak", "list"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_race_is_a_failed_login_or_a_leak() {
    let report = run_with_fault("register-race:barrier=10", &["--list-check"]).await;
    let failed_logins = fails_of(&report, "token");
    assert!(
        failed_logins > 0 || report.figures.violations.leak > 0,
        "{:?}",
        report.failure_reasons
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_read_is_a_lost_write_not_a_leak() {
    let report = run_with_fault("stale-read", &[]).await;
    detected_within_5s(&report);
    let v = report.figures.violations;
    assert!(v.lost_write > 0);
    assert_eq!(v.leak, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bola_is_a_leak_found_by_foreign_probes() {
    let report = run_with_fault("bola", &["--probe-foreign", "1"]).await;
    detected_within_5s(&report);
    assert!(has_evidence(&report, "leak", "probe"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_starvation_is_a_timeout() {
    let report = run_with_fault("pool-starvation", &["--timeout", "1s"]).await;
    assert!(report.figures.violations.timeout > 0);
    let first = report
        .evidence
        .iter()
        .find(|e| e.class == "timeout")
        .expect("timeout evidence");
    assert!(first.since_start_s < 5.0, "{}", first.since_start_s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_rate_is_a_fail_and_reset_an_exception() {
    let server = server().await;
    set_faults(&server, &["error-rate"]).await;
    let report = cities(&server, &["--users", USERS, "--duration", "2s"]).await;
    assert!(fails_of(&report, "create") > 0);
    assert_eq!(report.figures.requests.violation, 0);

    set_faults(&server, &["reset"]).await;
    let report = cities(&server, &["--users", USERS, "--duration", "2s"]).await;
    assert!(report.figures.requests.exception > 0);
    assert_eq!(report.figures.requests.violation, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_switched_on_mid_run_shows_violations_only_after_the_switch() {
    let server = server().await;
    let switch_after = std::time::Duration::from_millis(1500);
    let admin = server.url("");
    let switch = tokio::spawn(async move {
        tokio::time::sleep(switch_after).await;
        reqwest::Client::new()
            .put(format!("{admin}/__admin/faults"))
            .json(&serde_json::json!({"enable": ["shared-identity"]}))
            .send()
            .await
            .expect("admin answers");
    });
    let report = cities(
        &server,
        &["--users", USERS, "--duration", "4s", "--list-check"],
    )
    .await;
    switch.await.unwrap();
    let first = detected_within_5s(&report);
    // The run starts a little after the switch timer, so the first violation is at least ~1.5 s in.
    assert!(
        first >= 1.3,
        "first violation after {first} s, before the switch"
    );
    let before: u64 = report
        .intervals
        .iter()
        .filter(|interval| interval.end_s <= 1.0)
        .flat_map(|interval| interval.rows.iter().filter(|row| row.name == "all"))
        .map(|row| row.leak + row.lost_write + row.corrupt)
        .sum();
    assert_eq!(before, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_update_is_a_lost_write_when_tabs_share_an_account() {
    let server = server().await;
    set_faults(&server, &["lost-update:barrier=4"]).await;
    let report = cities(
        &server,
        &[
            "--users",
            USERS,
            "--tabs",
            "4",
            "--duration",
            "3s",
            "--list-check",
        ],
    )
    .await;
    detected_within_5s(&report);
    let v = report.figures.violations;
    assert!(v.lost_write > 0);
    assert_eq!(v.leak, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tabs_of_one_account_are_clean_on_a_correct_server() {
    let server = server().await;
    let report = cities(
        &server,
        &[
            "--users",
            "8",
            "--tabs",
            "4",
            "--duration",
            "2s",
            "--list-check",
            "--update-check",
            "--delete-check",
        ],
    )
    .await;
    assert_eq!(
        report.figures.requests.violation, 0,
        "{:?}",
        report.evidence
    );
    assert_eq!(
        report.figures.requests.fail, 0,
        "{:?}",
        report.failure_reasons
    );
    // Two accounts registered, eight sessions working: the preflight registered the first (its
    // requests are not in the counts), the load the second.
    let registered = report
        .endpoints
        .iter()
        .find(|e| e.name == "register")
        .unwrap();
    assert_eq!(
        registered.figures.requests.pass, 1,
        "one registration besides the preflight's"
    );
}
