//! The preflight tries a failing target again before it calls it broken (issue 25): a reset or a
//! 5xx is retried with back-off, a 4xx is an answer and is not, and the time it took is in the
//! report and the summary. The target is a small scripted server that counts the requests it
//! reads, so each assertion is on what the server saw, not on timing.

mod common;

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

/// What the scripted server does with one request.
#[derive(Debug, Clone, Copy)]
enum Act {
    /// Resets the connection (`SO_LINGER` 0) instead of answering.
    Reset,
    /// Answers this status with a small JSON body.
    Status(u16),
}

/// A server that does `script[n]` with its n-th request and answers 200 once the script is out;
/// returns its `/json` URL and the count of requests it read.
async fn scripted(script: Vec<Act>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/json", listener.local_addr().unwrap());
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (script, seen) = (script.clone(), counter.clone());
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    // One request head (loadgen's probe and `/json` requests have no body).
                    while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let end = buffer.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                    buffer.drain(..end);
                    let n = seen.fetch_add(1, Ordering::SeqCst);
                    match script.get(n).copied().unwrap_or(Act::Status(200)) {
                        Act::Reset => {
                            let _ = socket.set_zero_linger();
                            return;
                        }
                        Act::Status(status) => {
                            let body = r#"{"code": 1, "message": "Hello, World!"}"#;
                            let answer = format!(
                                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                                 content-length: {}\r\n\r\n{body}",
                                body.len()
                            );
                            if socket.write_all(answer.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    (url, seen)
}

const ONE_REQUEST: [&str; 4] = ["--users", "1", "--loops", "1"];

#[tokio::test]
async fn a_target_that_resets_the_first_two_probes_is_measured_after_the_third() {
    let (url, seen) = scripted(vec![Act::Reset, Act::Reset]).await;
    let report = common::try_run_json(&url, &ONE_REQUEST)
        .await
        .expect("two resets do not make the target broken: the third probe is answered");
    assert_eq!(
        seen.load(Ordering::SeqCst),
        4,
        "three probes (two reset, one answered) and the one request of the run"
    );
    assert_eq!(
        report.figures.requests.pass, 1,
        "the run measured the target after the preflight: {:?}",
        report.figures.requests
    );
    let preflight = report
        .preflight_s
        .expect("the report says how long the preflight took");
    assert!(
        preflight >= 0.3,
        "the preflight includes its back-off pauses (0.1 s + 0.2 s): {preflight}"
    );
    let summary = loadgen::report::text::render(&report);
    assert!(
        summary.contains(&format!("; preflight {preflight:.1} s before it")),
        "the summary states the preflight's time: {summary}"
    );
}

#[tokio::test]
async fn a_target_that_resets_every_probe_is_a_set_up_error_after_four_tries() {
    let (url, seen) = scripted(vec![Act::Reset; 10]).await;
    let error = common::try_run_json(&url, &ONE_REQUEST)
        .await
        .expect_err("a target that resets every probe cannot be measured");
    assert!(
        error
            .to_string()
            .starts_with(&format!("cannot reach {url}: ")),
        "the set-up error names the target: {error}"
    );
    assert_eq!(
        seen.load(Ordering::SeqCst),
        4,
        "four tries in all, then the set-up error"
    );
}

#[tokio::test]
async fn a_5xx_probe_is_tried_again_and_a_4xx_probe_is_not() {
    let (url, seen) = scripted(vec![Act::Status(503), Act::Status(500)]).await;
    common::run_json(&url, &ONE_REQUEST).await;
    assert_eq!(
        seen.load(Ordering::SeqCst),
        4,
        "two 5xx probes tried again, the third answered 200, then the run's request"
    );

    let (url, seen) = scripted(vec![Act::Status(404), Act::Status(404)]).await;
    let report = common::run_json(&url, &ONE_REQUEST).await;
    assert_eq!(
        seen.load(Ordering::SeqCst),
        2,
        "a 4xx is an answer: one probe, then the run's request (which got the second 404)"
    );
    assert_eq!(
        report.figures.requests.fail, 1,
        "the run judged the 404: {:?}",
        report.figures.requests
    );
}
