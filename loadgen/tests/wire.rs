//! What loadgen's HTTP/1.1 client reads back from a raw socket: responses split into single
//! bytes, chunked bodies with extensions and trailers, bodies read until the close, interim
//! `100 Continue` answers, `Connection: close`, bytes nobody asked for after a response, an
//! oversized head and a malformed status line. Each server is a scripted `TcpListener` on port 0
//! that counts the connections it accepts, so connection reuse is asserted, not assumed.

mod common;

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use loadgen::report::Report;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// How a scripted server writes its answer.
#[derive(Clone, Copy)]
enum Delivery {
    /// In one write.
    Whole,
    /// One byte per write, flushed each time.
    BytePerWrite,
}

/// A server on port 0 that answers every request with `answer`, and closes the connection after
/// it when `close` is set; returns its URL and its count of accepted connections.
async fn scripted(
    answer: &'static [u8],
    delivery: Delivery,
    close: bool,
) -> (String, Arc<AtomicUsize>) {
    scripted_after(answer, answer, delivery, close).await
}

/// [`scripted`], answering `preflight` on the first connection (the preflight's probe).
async fn scripted_after(
    preflight: &'static [u8],
    answer: &'static [u8],
    delivery: Delivery,
    close: bool,
) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/json", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let first = counter.fetch_add(1, Ordering::SeqCst) == 0;
            let answer = if first { preflight } else { answer };
            tokio::spawn(serve(socket, answer, delivery, close));
        }
    });
    (url, connections)
}

/// Reads bodiless requests (up to their empty line) and answers each.
async fn serve(mut socket: TcpStream, answer: &[u8], delivery: Delivery, close: bool) {
    socket.set_nodelay(true).unwrap();
    let mut pending = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            pending.drain(..end + 4);
            let written = match delivery {
                Delivery::Whole => socket.write_all(answer).await,
                Delivery::BytePerWrite => {
                    let mut result = Ok(());
                    for byte in answer {
                        result = socket.write_all(std::slice::from_ref(byte)).await;
                        if result.is_err() {
                            break;
                        }
                        socket.flush().await.ok();
                        tokio::task::yield_now().await;
                    }
                    result
                }
            };
            if written.is_err() || close {
                return;
            }
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => pending.extend_from_slice(&chunk[..n]),
        }
    }
}

async fn run(url: &str, loops: &str) -> Report {
    common::run_json(url, &["--loops", loops, "--expect-json", "code=1"]).await
}

fn reasons(report: &Report) -> Vec<&str> {
    report
        .failure_reasons
        .iter()
        .map(|r| r.reason.as_str())
        .collect()
}

const PLAIN: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"code\": 1}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_connection_carries_every_request() {
    let (url, connections) = scripted(PLAIN, Delivery::Whole, false).await;

    let report = run(&url, "20").await;

    assert_eq!(report.figures.requests.pass, 20, "{:?}", reasons(&report));
    assert_eq!(
        connections.load(Ordering::SeqCst),
        2,
        "the preflight's connection, then one for all 20 requests"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_written_one_byte_at_a_time_reads_as_a_whole_one() {
    const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\n{\"co\r\n7\r\nde\": 1}\r\n0\r\nX-Trailer: t\r\n\r\n";
    for answer in [PLAIN, CHUNKED] {
        let (url, connections) = scripted(answer, Delivery::BytePerWrite, false).await;

        let report = run(&url, "3").await;

        assert_eq!(
            report.figures.requests.pass,
            3,
            "{}: {:?}",
            String::from_utf8_lossy(answer),
            reasons(&report)
        );
        assert_eq!(
            connections.load(Ordering::SeqCst),
            2,
            "kept alive when split"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_close_makes_each_request_dial_again() {
    const CLOSING: &[u8] =
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 11\r\n\r\n{\"code\": 1}";
    let (url, connections) = scripted(CLOSING, Delivery::Whole, true).await;

    let report = run(&url, "4").await;

    assert_eq!(report.figures.requests.pass, 4, "{:?}", reasons(&report));
    assert_eq!(connections.load(Ordering::SeqCst), 1 + 4, "one per request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_without_a_length_is_read_until_the_close() {
    const UNTIL_CLOSE: &[u8] =
        b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"code\": 1}";
    let (url, connections) = scripted(UNTIL_CLOSE, Delivery::BytePerWrite, true).await;

    let report = run(&url, "3").await;

    assert_eq!(report.figures.requests.pass, 3, "{:?}", reasons(&report));
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1 + 3,
        "the close ends each body"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interim_100_continue_is_skipped_for_the_real_answer() {
    const CONTINUED: &[u8] =
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"code\": 1}";
    let (url, connections) = scripted(CONTINUED, Delivery::Whole, false).await;

    let report = run(&url, "3").await;

    assert_eq!(report.figures.requests.pass, 3, "{:?}", reasons(&report));
    assert_eq!(
        connections.load(Ordering::SeqCst),
        2,
        "one connection for the preflight, one for the user: a 100 Continue does not close it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_after_a_response_retire_the_connection_instead_of_answering_the_next_request() {
    // A second, unasked-for answer after each real one: read as the next response, it would fail
    // the status check.
    const PIPELINED_GARBAGE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"code\": 1}HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n";
    let (url, connections) = scripted(PIPELINED_GARBAGE, Delivery::Whole, false).await;

    let report = run(&url, "3").await;

    assert_eq!(report.figures.requests.pass, 3, "{:?}", reasons(&report));
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1 + 3,
        "each connection out of step is dropped and a fresh one dialled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_head_is_an_exception_and_a_closed_connection() {
    let head = format!(
        "HTTP/1.1 200 OK\r\n{}Content-Length: 11\r\n\r\n{{\"code\": 1}}",
        "X-Filler: 0123456789012345678901234567890123456789\r\n".repeat(2000)
    );
    let head: &'static [u8] = head.leak().as_bytes();
    let (url, _) = scripted(head, Delivery::Whole, false).await;
    let refused = common::try_run_json(&url, &[]).await.unwrap_err();
    assert!(
        refused
            .0
            .ends_with("http: the response head exceeds 64 KiB"),
        "the preflight refuses the target: {refused:?}"
    );
    let (url, connections) = scripted_after(PLAIN, head, Delivery::Whole, false).await;

    let report = run(&url, "2").await;

    assert_eq!(
        report.figures.requests.exception,
        2,
        "{:?}",
        reasons(&report)
    );
    assert_eq!(
        reasons(&report),
        ["http: the response head exceeds 64 KiB"],
        "the reason names the limit"
    );
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1 + 2,
        "closed after each"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_status_line_is_an_exception_naming_the_head() {
    const MALFORMED: &[u8] = b"HTTP/1.1 OK\r\nContent-Length: 0\r\n\r\n";
    let (url, _) = scripted_after(PLAIN, MALFORMED, Delivery::Whole, false).await;

    let report = run(&url, "1").await;

    assert_eq!(
        report.figures.requests.exception,
        1,
        "{:?}",
        reasons(&report)
    );
    assert!(
        reasons(&report)[0].starts_with("http: invalid response head"),
        "{:?}",
        reasons(&report)
    );
}
