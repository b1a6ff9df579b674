//! Checks and outcomes: a failed check is a `fail`, a transport error an `exception`, a slow
//! answer a `timeout` (counted as an exception), each with its reason.

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unexpected_status_is_a_fail_with_its_reason() {
    let server = common::server(Duration::ZERO).await;

    let report = common::run_json(
        &server.url("/json"),
        &["--users", "1", "--loops", "3", "--expect-status", "201"],
    )
    .await;

    let requests = report.figures.requests;
    assert_eq!(
        (requests.total, requests.fail, requests.pass),
        (3, 3, 0),
        "--expect-status 201 against a 200 server fails every request: {requests:?}"
    );
    assert_eq!(
        report.failure_reasons[0].reason, "status 200 != 201",
        "the failure reason names the status and the expected one: {:?}",
        report.failure_reasons
    );
    assert_eq!(
        report.failure_reasons[0].count, 3,
        "all three failures share one reason: {:?}",
        report.failure_reasons
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_field_that_differs_is_a_fail_and_a_matching_one_passes() {
    let server = common::server(Duration::ZERO).await;
    let url = server.url("/json");

    let good = common::run_json(&url, &["--loops", "2", "--expect-json", "code=1"]).await;
    let bad = common::run_json(
        &url,
        &[
            "--loops",
            "2",
            "--expect-json",
            "code=1",
            "--expect-json",
            "message=Bye",
        ],
    )
    .await;

    assert_eq!(
        good.figures.requests.pass, 2,
        "--expect-json code=1 matches /json, so both requests pass: {:?}",
        good.failure_reasons
    );
    assert_eq!(
        bad.figures.requests.fail, 2,
        "--expect-json message=Bye differs from /json, so both requests fail: {:?}",
        bad.figures.requests
    );
    assert_eq!(
        bad.failure_reasons[0].reason, "message = \"Hello, World!\" != \"Bye\"",
        "the failure reason shows the field, its value and the expected one: {:?}",
        bad.failure_reasons
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_port_at_start_is_a_set_up_error_naming_the_url_and_the_os_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/json", listener.local_addr().unwrap());
    drop(listener);

    let error = common::try_run_json(&url, &["--users", "2", "--loops", "2"])
        .await
        .expect_err("nothing listens, so the preflight must refuse to start");

    assert!(
        error.0.contains(&url) && error.0.contains("connection refused (os error 111)"),
        "the reason names the URL and the OS error: {error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_gone_after_the_preflight_gives_refused_exceptions_with_the_os_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/json", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        read_head(&mut socket).await;
        // Closed before the preflight's answer is written, so every later connect is refused.
        drop(listener);
        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
        let _ = socket.write_all(answer).await;
    });

    let report = common::run_json(&url, &["--users", "2", "--loops", "2"]).await;

    let requests = report.figures.requests;
    assert_eq!(
        (requests.total, requests.exception),
        (4, 4),
        "every request after the preflight is refused: {:?}",
        report.failure_reasons
    );
    assert_eq!(
        report.failure_reasons[0].outcome, "exception",
        "a refused connect is counted as an exception: {:?}",
        report.failure_reasons
    );
    assert_eq!(
        report.failure_reasons[0].reason, "connect: connection refused (os error 111)",
        "the reason carries the OS error"
    );
    assert!(
        report
            .tested_nothing
            .as_deref()
            .is_some_and(|r| r.starts_with("no request passed a check: 4 sent, 0 pass")),
        "{:?}",
        report.tested_nothing
    );
}

/// Reads up to the end of a request head.
/// One user's two requests to `url`, the second 2 s after the first was answered, under
/// `--timeout timeout`: the timer tests' run.
async fn two_requests_2s_apart(url: &str, timeout: &str) -> loadgen::report::Report {
    common::run_json(
        url,
        &[
            "--users",
            "1",
            "--loops",
            "2",
            "--wait",
            "2s",
            "--timeout",
            timeout,
        ],
    )
    .await
}

async fn read_head(socket: &mut tokio::net::TcpStream) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_answer_is_a_timeout_counted_as_an_exception() {
    let server = common::server(Duration::from_secs(2)).await;

    let report = common::run_json(
        &server.url("/json"),
        &["--users", "1", "--loops", "2", "--timeout", "100ms"],
    )
    .await;

    assert_eq!(
        report.figures.requests.exception, 2,
        "both requests to a 2 s server with --timeout 100ms are exceptions: {:?}",
        report.failure_reasons
    );
    assert_eq!(
        report.figures.violations.timeout, 2,
        "both are counted as timeout violations: {:?}",
        report.figures.violations
    );
    assert_eq!(
        report.failure_reasons[0].outcome, "timeout",
        "the failure reason's outcome is timeout: {:?}",
        report.failure_reasons
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_when_an_earlier_requests_deadline_passes_is_no_timeout() {
    // Each connection's first request is answered at once, every later one only once the first's
    // deadline has passed (the server holds it until then): the user's second request, sent 2 s
    // after the first, is in flight when the first one's 4 s timeout would have ended, and is
    // answered about 1.9 s before its own (a margin no scheduling delay of a loaded machine eats).
    let timeout = Duration::from_secs(4);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/json", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                read_head(&mut socket).await;
                let first = Instant::now();
                let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
                if socket.write_all(answer).await.is_err() {
                    return;
                }
                loop {
                    read_head(&mut socket).await;
                    tokio::time::sleep_until((first + timeout + Duration::from_millis(100)).into())
                        .await;
                    if socket.write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });

    let report = two_requests_2s_apart(&url, "4s").await;

    let requests = report.figures.requests;
    assert_eq!(
        (requests.pass, requests.exception),
        (2, 0),
        "the second request was younger than the timeout when answered: {:?}",
        report.failure_reasons
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_after_the_timer_fired_between_requests_still_times_out() {
    // Each connection's first request is answered at once, later ones never: the user's timer
    // (armed for the first request's 1 s deadline) fires during the 2 s wait, so the second
    // request finds it elapsed, moves it to its own deadline, and must time out there.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/json", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                read_head(&mut socket).await;
                let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
                if socket.write_all(answer).await.is_err() {
                    return;
                }
                let mut rest = [0u8; 1024];
                while matches!(socket.read(&mut rest).await, Ok(n) if n > 0) {}
            });
        }
    });

    let report = two_requests_2s_apart(&url, "1s").await;

    let requests = report.figures.requests;
    assert_eq!(
        (
            requests.pass,
            requests.exception,
            report.figures.violations.timeout
        ),
        (1, 1, 1),
        "the first request passes and the unanswered second one is a timeout: {:?}",
        report.failure_reasons
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_keeps_one_connection_across_its_loops() {
    let (url, connections) = counting_server(false).await;

    let report = common::run_json(&url, &["--users", "3", "--loops", "20"]).await;

    assert_eq!(
        report.figures.requests.pass, 60,
        "3 users x 20 loops all pass: {:?}",
        report.failure_reasons
    );
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1 + 3,
        "one connection for the preflight, then one per user"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_the_server_closed_while_idle_is_dialled_again_without_a_failure() {
    let (url, connections) = counting_server(true).await;

    let report = common::run_json(&url, &["--users", "2", "--loops", "4", "--wait", "50ms"]).await;

    assert_eq!(
        report.figures.requests.pass, 8,
        "{:?}",
        report.failure_reasons
    );
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1 + 8,
        "the preflight's, then one per request"
    );
}

/// A minimal keep-alive HTTP/1.1 server that counts the connections it accepts; with
/// `close_after_answer` it closes each connection after one answer, without saying so.
async fn counting_server(close_after_answer: bool) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/json", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 1024];
                loop {
                    let Ok(n) = socket.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                    while let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                        buffer.drain(..end + 4);
                        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
                        if socket.write_all(answer).await.is_err() || close_after_answer {
                            return;
                        }
                    }
                }
            });
        }
    });
    (url, connections)
}
