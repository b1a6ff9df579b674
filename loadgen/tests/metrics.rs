//! `--metrics-listen`: while a run goes on, `GET /metrics` answers the Prometheus text format, which
//! a real parser (the `prometheus-parse` crate) reads into requests by name and outcome, a latency
//! histogram, violations by class and active users.

mod common;

use std::time::Duration;

use prometheus_parse::{Scrape, Value};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

/// One `GET /metrics` over a fresh connection; the body.
async fn scrape(addr: &str) -> String {
    let mut stream = TcpStream::connect(addr)
        .await
        .expect("metrics port accepts");
    stream
        .write_all(
            format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "status line: {answer}");
    assert!(
        answer.contains("text/plain; version=0.0.4"),
        "the exposition content type: {answer}"
    );
    answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}

fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == metric
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(k).is_some_and(|x| x == *v))
        })
        .map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
            Value::Summary(_) => f64::NAN,
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_during_the_run_parses_into_requests_latency_violations_and_users() {
    let server = common::server(Duration::from_millis(2)).await;
    let mut child = common::binary()
        .args(["json", "--url", &server.url("/json"), "--users", "2"])
        .args([
            "--duration",
            "30s",
            "--quiet",
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("loadgen starts");
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = stderr
            .next_line()
            .await
            .unwrap()
            .expect("loadgen announces the metrics address before it ends");
        if let Some(rest) = line.strip_prefix("metrics: http://") {
            break rest.trim_end_matches("/metrics").to_owned();
        }
    };

    // The page is rendered at every tick; scrape until it holds passed requests (the run lasts
    // 30 s, and the loop ends at the first tick after the first request).
    let parsed = loop {
        let body = scrape(&addr).await;
        let parsed = Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).expect("parses");
        let passes = value(
            &parsed,
            "loadgen_requests_total",
            &[("name", "GET /json"), ("outcome", "pass")],
        );
        if passes.is_some_and(|p| p > 0.0) {
            break parsed;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "loadgen ended before a page with passed requests was served"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    child.start_kill().unwrap();

    let fails = value(
        &parsed,
        "loadgen_requests_total",
        &[("name", "GET /json"), ("outcome", "fail")],
    );
    assert_eq!(fails, Some(0.0), "every outcome has a counter, fail too");
    let histogram = parsed
        .samples
        .iter()
        .find(|s| s.metric == "loadgen_request_duration_seconds")
        .expect("a latency histogram");
    let Value::Histogram(buckets) = &histogram.value else {
        panic!("loadgen_request_duration_seconds is a histogram: {histogram:?}");
    };
    assert_eq!(
        histogram.labels.get("name"),
        Some("GET /json"),
        "the latency histogram is labelled with the request name: {histogram:?}"
    );
    assert!(
        buckets.windows(2).all(|w| w[0].count <= w[1].count),
        "buckets are cumulative: {buckets:?}"
    );
    assert!(
        buckets
            .iter()
            .all(|b| (b.less_than < 0.002 && b.count == 0.0) || b.less_than >= 0.002),
        "no request answered faster than the server's 2 ms delay: {buckets:?}"
    );
    assert_eq!(
        value(&parsed, "loadgen_violations_total", &[("class", "leak")]),
        Some(0.0),
        "violations by class"
    );
    assert_eq!(
        value(&parsed, "loadgen_active_users", &[]),
        Some(2.0),
        "both users are active"
    );
}
