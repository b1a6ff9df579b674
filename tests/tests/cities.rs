//! `loadgen cities` against `mock-server`, end to end over real sockets: a clean server shows no
//! violation, and every fault of the catalogue is detected by 20 users within 3 iterations each
//! and classified as issue 5 says. The runs are bounded by `--loops`, so a loaded machine makes
//! them slower, not different; only the mid-run switch, the pool's timeouts and the runs that rely
//! on natural overlap (shared-identity's score, lost-update's tabs, register-race, stale-read) are
//! bounded by time. Race faults are switched on with `barrier=10`, so the first 10 requests that reach
//! the racy pause are released together: the interleaving is forced, not hoped for. (Ten, not
//! twenty: with a fault on, cities requests also go through the server's correct connection pool
//! of `size + overflow` = 10, so at most ten can be inside a handler at once.)

use e2e::{cities, fails_of, plan, server, set_faults};
use loadgen::{report::Report, runner::live::Live};

const USERS: &str = "20";

/// Iterations per user of a run bounded by count: a loaded machine makes it slower, not shorter.
const LOOPS: &str = "3";

/// 20 users for 3 iterations each (plus `extra` flags; with a `--duration` there, for that long
/// instead) against a fresh server with only `fault` on.
async fn run_with_fault(fault: &str, extra: &[&str]) -> Report {
    let server = server().await;
    set_faults(&server, &[fault]).await;
    let mut words = vec!["--users", USERS];
    if !extra.contains(&"--duration") {
        words.extend(["--loops", LOOPS]);
    }
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

/// When the run saw its first violation; fails when it saw none (the fault went undetected) or
/// dates it outside the run.
fn first_detection(report: &Report) -> f64 {
    let first = report
        .first_violation_after_s
        .expect("the fault went undetected: no violation in the whole run");
    assert!(
        (0.0..=report.duration_s).contains(&first),
        "the first violation is dated {first} s, outside the run's {} s",
        report.duration_s
    );
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
            // A count of iterations, not a duration: every step runs however slow the machine.
            "--loops",
            "5",
            "--list-check",
            "--update-check",
            "--delete-check",
            "--probe-foreign",
            "2",
        ],
    )
    .await;
    let v = report.figures.violations;
    assert_eq!(
        (v.leak, v.lost_write, v.corrupt, v.timeout),
        (0, 0, 0, 0),
        "a correct server is accused of (leak, lost write, corrupt, timeout): {:?}",
        report.evidence
    );
    assert_eq!(
        report.figures.requests.fail, 0,
        "{:?}",
        report.failure_reasons
    );
    assert_eq!(
        report.figures.requests.exception, 0,
        "a correct server left requests unanswered: {:?}",
        report.failure_reasons
    );
    // 20 users x 5 iterations of create, read, list, update, delete, gone (and probes).
    assert!(
        report.figures.requests.pass >= 20 * 5 * 6,
        "{} requests passed, fewer than 5 full iterations of 20 users make",
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
            "step `{step}` never passed in the run; steps and their outcomes: {:?}",
            report
                .endpoints
                .iter()
                .map(|e| (&e.name, &e.figures.requests))
                .collect::<Vec<_>>()
        );
    }
    assert!(
        report.evidence.is_empty(),
        "evidence against a correct server: {:?}",
        report.evidence
    );
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
    first_detection(&report);
    let v = report.figures.violations;
    assert!(
        v.leak + v.lost_write > 0,
        "a shared identity shows as neither a leak nor a lost write: {v:?}"
    );
    assert_eq!(
        v.corrupt, 0,
        "a shared identity hands over whole records, never corrupt ones: {v:?}"
    );
    let score = report.score.expect("scored");
    assert!(
        score.cross_user_writes > 0,
        "the journal confirms no cross-user write of shared-identity: {score:?}"
    );
    assert_eq!(
        score.leaks_confirmed, score.leaks_reported,
        "a reported leak the journal does not confirm is a false accusation: {score:?}"
    );
    // Every cross-user read is caught, except those whose response the stop cut off: at most one
    // in flight per user.
    let missed = score.cross_user_reads - score.reads_detected;
    assert!(
        missed <= 20,
        "{missed} cross-user reads went unreported, more than the 20 the stop can cut off: {score:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racy_id_is_a_leak_naming_observer_and_victim() {
    let report = run_with_fault("racy-id:barrier=10", &[]).await;
    first_detection(&report);
    assert!(
        report.figures.violations.leak > 0,
        "racy-id's reused ids show no leak: {:?}",
        report.figures.violations
    );
    let leak = report
        .evidence
        .iter()
        .find(|e| e.class == "leak")
        .expect("leak evidence");
    let victim = leak.victim.expect("the leak evidence names a victim");
    assert_ne!(
        victim, leak.observer,
        "a leak is another user's data: {leak:?}"
    );
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
    first_detection(&report);
    assert!(
        report.figures.violations.leak > 0,
        "a cache shared across users shows no leak: {:?}",
        report.figures.violations
    );
    assert!(
        has_evidence(&report, "leak", "list"),
        "the cached list is where the leak shows, yet no list evidence: {:?}",
        report.evidence
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_race_is_a_failed_login_or_a_leak() {
    // Bounded by time: the race is in the registrations, and a user whose login failed makes no
    // iteration to count.
    let report = run_with_fault(
        "register-race:barrier=10",
        &["--list-check", "--duration", "3s"],
    )
    .await;
    let failed_logins = fails_of(&report, "token");
    assert!(
        failed_logins > 0 || report.figures.violations.leak > 0,
        "{:?}",
        report.failure_reasons
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_read_is_a_lost_write_not_a_leak() {
    // A 600 ms lag, not the default 100 ms (shorter than a loaded machine's pause between a create
    // and its read back), and under the preflight's 3 retries 300 ms apart (which a longer lag
    // would fail as a description error). Bounded by time: every iteration is one more chance.
    let report = run_with_fault("stale-read:lag=600ms", &["--duration", "3s"]).await;
    first_detection(&report);
    let v = report.figures.violations;
    assert!(
        v.lost_write > 0,
        "a stale replica read shows no lost write: {v:?}"
    );
    assert_eq!(
        v.leak, 0,
        "a stale read of one's own data is no leak: {:?}",
        report.evidence
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preflight_walk_that_a_race_broke_is_walked_again_not_a_set_up_error() {
    // With seed 88 and p=0.5 the fault fires on its first write only (decisions 1 to 6 do not):
    // the preflight's first create stays unreadable for 5 s, longer than its read's retries, so
    // the first walk stops. The description is right; the second walk shows it and the run goes on.
    let server = server().await;
    set_faults(&server, &["stale-read:lag=5s,p=0.5,seed=88"]).await;
    let base = server.api_url("");
    let words = [
        "cities",
        "--base-url",
        base.as_str(),
        "--quiet",
        "--users",
        "1",
        "--loops",
        "1",
    ];
    let report = loadgen::run(&plan(&words), std::future::pending(), Live::off())
        .await
        .expect("one walk that a race broke is no set-up error");
    assert!(
        report
            .hints
            .iter()
            .any(|hint| hint.contains("walk 2 of 3 passed after an earlier one stopped")),
        "the hints tell of the walk that stopped: {:?}",
        report.hints
    );
    assert_eq!(
        report.figures.violations.leak, 0,
        "a stale read is nobody else's data: {:?}",
        report.evidence
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bola_is_a_leak_found_by_foreign_probes() {
    let report = run_with_fault("bola", &["--probe-foreign", "1"]).await;
    first_detection(&report);
    assert!(
        has_evidence(&report, "leak", "probe"),
        "a foreign id read by a probe is bola's leak, yet no probe evidence: {:?}",
        report.evidence
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_starvation_is_a_timeout() {
    // Every request hangs until its 1 s timeout: the duration, not the loops, ends this run.
    let report = run_with_fault("pool-starvation", &["--timeout", "1s", "--duration", "3s"]).await;
    assert!(
        report.figures.violations.timeout > 0,
        "no request timed out on the starved pool"
    );
    assert!(
        has_evidence(&report, "timeout", "create") || has_evidence(&report, "timeout", "read"),
        "no timeout evidence names the create or read that hung: {:?}",
        report.evidence
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_rate_is_a_fail_and_reset_an_exception() {
    let server = server().await;
    set_faults(&server, &["error-rate"]).await;
    let report = cities(&server, &["--users", USERS, "--loops", LOOPS]).await;
    assert!(
        fails_of(&report, "create") > 0,
        "injected 500s on create are no failed check: {:?}",
        report.failure_reasons
    );
    assert_eq!(
        report.figures.requests.violation, 0,
        "a 500 is a failure, never a violation: {:?}",
        report.evidence
    );

    set_faults(&server, &["reset"]).await;
    let report = cities(&server, &["--users", USERS, "--loops", LOOPS]).await;
    assert!(
        report.figures.requests.exception > 0,
        "dropped connections are no exception: {:?}",
        report.figures.requests
    );
    assert_eq!(
        report.figures.requests.violation, 0,
        "a dropped connection is an exception, never a violation: {:?}",
        report.evidence
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_switched_on_mid_run_shows_violations_only_after_the_switch() {
    let server = server().await;
    // Anchored to server-side state, not to the test's clock: the fault goes on 1.5 s after the
    // server answered the run's first create, so at least 1.5 s after the run started.
    let switch_after = std::time::Duration::from_millis(1500);
    let admin = server.url("");
    let switch = tokio::spawn(async move {
        let http = reqwest::Client::new();
        loop {
            let stats: shared::admin::Stats = http
                .get(format!("{admin}/__admin/stats"))
                .send()
                .await
                .expect("admin answers")
                .json()
                .await
                .expect("stats parse");
            if stats.requests.contains_key("POST /api/v1/cities") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        tokio::time::sleep(switch_after).await;
        http.put(format!("{admin}/__admin/faults"))
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
    let first = first_detection(&report);
    assert!(
        first >= switch_after.as_secs_f64(),
        "a violation at {first} s, before the fault was switched on (1.5 s after the first create)"
    );
    let before: u64 = report
        .intervals
        .iter()
        .filter(|interval| interval.end_s <= 1.0)
        .flat_map(|interval| interval.rows.iter().filter(|row| row.name == "all"))
        .map(|row| row.leak + row.lost_write + row.corrupt)
        .sum();
    assert_eq!(
        before, 0,
        "violations in the first second, while every fault was still off"
    );
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
    first_detection(&report);
    let v = report.figures.violations;
    assert!(
        v.lost_write > 0,
        "tabs overwriting each other's update show no lost write: {v:?}"
    );
    assert_eq!(
        v.leak, 0,
        "tabs of one account share its data: no leak: {:?}",
        report.evidence
    );
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
            "--loops",
            "5",
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
