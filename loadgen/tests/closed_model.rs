//! The closed model against a delayed `/json`: the first article's acceptance figures.

mod common;

use std::time::{Duration, Instant};

use loadgen::runner::StopReason;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_five_loops_make_exactly_ten_requests_of_about_200ms() {
    let server = common::server(Duration::from_millis(200)).await;

    let report = common::run_json(&server.url("/json"), &["--users", "2", "--loops", "5"]).await;

    let requests = report.figures.requests;
    assert_eq!(
        (requests.total, requests.pass),
        (10, 10),
        "2 users x 5 loops make exactly 10 requests, all passing: {requests:?}"
    );
    assert_eq!(
        report.iterations, 10,
        "each of the 10 loops is counted as an iteration"
    );
    assert_eq!(
        report.stopped_by,
        StopReason::Loops,
        "a run with --loops ends by its loops: {:?}",
        report.stopped_by
    );
    // Lower bounds only (the server sleeps 200 ms per request; a loaded machine only adds).
    assert!(
        report.figures.latency_ms.min >= 200.0,
        "a request took {} ms, less than the server's 200 ms delay: latency is mismeasured",
        report.figures.latency_ms.min
    );
    // Two users, five sequential 200 ms requests each: at least one second.
    assert!(
        report.duration_s >= 1.0,
        "five sequential 200 ms requests per user took {} s: the users did not wait for answers",
        report.duration_s
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duration_stops_the_run_before_the_loops_end() {
    let server = common::server(Duration::from_millis(200)).await;
    let started = Instant::now();

    let report = common::run_json(
        &server.url("/json"),
        &["--users", "2", "--loops", "100", "--duration", "2s"],
    )
    .await;

    let elapsed = started.elapsed();
    assert_eq!(
        report.stopped_by,
        StopReason::Duration,
        "the run must stop at its duration, not after its 100 loops"
    );
    // Lower bounds only: the run may not end before its duration; a loaded machine only delays.
    assert!(
        elapsed >= Duration::from_secs(2),
        "the run returned after {elapsed:?}, before its 2 s duration"
    );
    assert!(
        report.duration_s >= 1.99,
        "the report says the run lasted {} s, less than its 2 s duration",
        report.duration_s
    );
    // Each request takes at least 200 ms, so at most 2 users x (2 s / 200 ms) complete, plus one
    // cut off per user: far fewer than the 200 the loops would make.
    let total = report.figures.requests.total;
    assert!(
        (2..=22).contains(&total),
        "{total} requests in 2 s of 200 ms requests by 2 users: the duration did not stop the loops"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_between_loops_slows_each_user_down() {
    let server = common::server(Duration::ZERO).await;
    let started = Instant::now();

    let report = common::run_json(
        &server.url("/json"),
        &["--users", "3", "--loops", "4", "--wait", "100ms..150ms"],
    )
    .await;

    assert_eq!(
        report.figures.requests.pass, 12,
        "3 users x 4 loops all pass: {:?}",
        report.failure_reasons
    );
    // Three pauses of at least 100 ms per user (a lower bound: load only adds).
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "the users did not wait between loops"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_rate_starts_users_gradually() {
    let server = common::server(Duration::ZERO).await;
    let started = Instant::now();

    let report = common::run_json(
        &server.url("/json"),
        &["--users", "4", "--loops", "1", "--spawn-rate", "10"],
    )
    .await;

    assert_eq!(
        report.figures.requests.pass, 4,
        "4 users x 1 loop all pass: {:?}",
        report.failure_reasons
    );
    // The fourth user starts 300 ms after the first (a lower bound: load only adds).
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "four users at 10 per second started faster than the spawn rate"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeline_has_an_interval_per_second_with_an_all_row() {
    let server = common::server(Duration::from_millis(50)).await;

    let report = common::run_json(
        &server.url("/json"),
        &["--users", "2", "--duration", "3200ms"],
    )
    .await;

    // Ticks at 1, 2 and 3 s; the last 200 ms join the third interval rather than stand alone. A
    // loaded machine can only delay the end (users still finishing their request): then a fourth,
    // final interval is allowed, never fewer than three.
    let spans: Vec<(f64, f64)> = report
        .intervals
        .iter()
        .map(|i| (i.start_s, i.end_s))
        .collect();
    assert!(
        (3..=4).contains(&spans.len()),
        "a 3.2 s run must have one interval per second tick (3, or 4 when its end was delayed): {spans:?}"
    );
    assert_eq!(
        spans[0].0, 0.0,
        "the first interval must start at the run's start: {spans:?}"
    );
    for pair in spans.windows(2) {
        assert_eq!(
            pair[0].1, pair[1].0,
            "each interval must start where the previous one ended: {spans:?}"
        );
    }
    // The k-th tick fires k seconds after the start or later (a late tick shortens the next
    // interval, it never moves a tick earlier).
    for (k, span) in spans.iter().enumerate().take(spans.len() - 1) {
        assert!(
            span.1 >= (k + 1) as f64,
            "interval {k} ended at {} s, before its tick at {} s: {spans:?}",
            span.1,
            k + 1
        );
    }
    let last = spans.last().expect("checked non-empty");
    assert!(
        last.1 >= 3.2 && (last.1 - report.duration_s).abs() < 1e-6,
        "the last interval must end with the run ({} s), after its 3.2 s duration: {spans:?}",
        report.duration_s
    );
    let counted: u64 = report.intervals.iter().map(|i| i.all().total).sum();
    assert_eq!(
        counted, report.figures.requests.total,
        "the intervals must count every request of the run once"
    );
    assert_eq!(
        report.intervals[0].rows[0].name, "GET /json",
        "the first row of an interval is the step's own"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_on_a_three_thread_runtime_all_run_and_every_request_is_counted_once() {
    // --threads 3: a runtime of three worker threads runs the six users, recording into shards
    // that the runner merges; the run ends when every user's loops are done.
    let server = common::server(Duration::from_millis(50)).await;

    let report = common::run_json(
        &server.url("/json"),
        &["--threads", "3", "--users", "6", "--loops", "4"],
    )
    .await;

    let requests = report.figures.requests;
    assert_eq!(
        (requests.total, requests.pass),
        (24, 24),
        "6 users x 4 loops on three worker threads make exactly 24 requests, all passing: {requests:?}"
    );
    assert_eq!(
        report.iterations, 24,
        "every loop of every user is counted once"
    );
    assert_eq!(
        report.stopped_by,
        StopReason::Loops,
        "the run ends when every user is done: {:?}",
        report.stopped_by
    );
    assert_eq!(
        report.in_flight_at_stop, 0,
        "nothing is left in flight when every user ended by its loops"
    );
}
