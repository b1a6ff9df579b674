//! The open model: arrivals at a constant rate whatever the server does, and latency corrected
//! for coordinated omission.

mod common;

use std::time::Duration;

use shared::delay::DelaySpec;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrected_latency_shows_a_stall_that_uncorrected_latency_hides() {
    let server = common::server(Duration::ZERO).await;
    let state = server.state.clone();
    // One second into the run, the server answers the requests arriving in the next 100 ms after
    // a full second: the single user is stuck on one of them while 200 arrivals fall due.
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        state.delay.set(DelaySpec::Fixed(Duration::from_secs(1)));
        tokio::time::sleep(Duration::from_millis(100)).await;
        state.delay.set(DelaySpec::Fixed(Duration::ZERO));
    });

    let report = common::run_json(
        &server.url("/json"),
        &["--rate", "200", "--max-users", "1", "--duration", "3s"],
    )
    .await;

    let plain = &report.figures.latency_ms;
    let corrected = report
        .figures
        .latency_corrected_ms
        .as_ref()
        .expect("open model");
    // About 600 fall due; one took a second. On a loaded machine the single user sends fewer (88
    // in one run at load 14), so the claims use p90, which leaves the one stalled request out as
    // soon as there are 20 of them.
    assert!(
        plain.count >= 20,
        "only {} requests in a 3 s run at 200/s: too few for p90 to leave one outlier out",
        plain.count
    );
    assert!(
        plain.max >= 900.0,
        "the stalled request itself took {} ms, less than the server's 1 s stall",
        plain.max
    );
    // Corrected, the arrivals that waited behind it carry up to a second each; uncorrected, they
    // look like quick requests (compared with each other, not with a fixed figure a loaded
    // machine could exceed).
    assert!(
        corrected.p99 > 700.0,
        "corrected p99 {} ms hides the 1 s stall",
        corrected.p99
    );
    assert!(
        plain.p90 * 2.0 < corrected.p90,
        "uncorrected p90 {} ms is not far below the corrected {} ms: the correction shows nothing",
        plain.p90,
        corrected.p90
    );
    let open = report.open_model.expect("open figures");
    assert!(
        open.late > 100,
        "the ~200 arrivals due during the stall must start late: {open:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrivals_that_no_user_could_start_are_dropped() {
    let server = common::server(Duration::from_millis(200)).await;

    let report = common::run_json(
        &server.url("/json"),
        &["--rate", "100", "--max-users", "1", "--duration", "1s"],
    )
    .await;

    let open = report.open_model.expect("open figures");
    // One user at 200 ms per request starts about 5 of the ~100 arrivals due.
    assert!((90..=110).contains(&open.scheduled), "{open:?}");
    assert!(open.started <= 8, "{open:?}");
    assert_eq!(
        open.dropped,
        open.scheduled - open.started,
        "every scheduled arrival no user started is counted as dropped: {open:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_server_gets_the_requested_rate() {
    let server = common::server(Duration::ZERO).await;

    let report = common::run_json(
        &server.url("/json"),
        &["--rate", "50", "--max-users", "4", "--duration", "2s"],
    )
    .await;

    // 2 s at 50/s: 100 arrivals (the one due at exactly 2 s is not started).
    // The schedule is the clock's, whatever the machine does; what a loaded machine can change is
    // how many of those arrivals found one of the 4 users free (each has 80 ms per request).
    let total = report.figures.requests.total;
    let open = report.open_model.expect("open figures");
    assert!(
        (95..=101).contains(&open.scheduled),
        "2 s at 50/s must schedule about 100 arrivals: {open:?}"
    );
    assert_eq!(
        open.started + open.dropped,
        open.scheduled,
        "every scheduled arrival is either started or dropped: {open:?}"
    );
    assert!(
        total <= open.started,
        "{total} requests counted, more than the {} arrivals started: {open:?}",
        open.started
    );
    assert!(
        open.dropped * 10 <= open.scheduled,
        "more than 10 % of the arrivals found all 4 users busy against an instant server: {open:?}"
    );
    // An open run has no loops: it ends by its duration.
    assert_eq!(
        report.stopped_by,
        loadgen::runner::StopReason::Duration,
        "an open run ends by its duration: {:?}",
        report.stopped_by
    );
}
