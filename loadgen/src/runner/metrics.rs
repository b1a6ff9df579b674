//! Live metrics for Prometheus (`--metrics-listen ADDR`): while a run goes on, `GET /metrics`
//! answers the text exposition format (version 0.0.4) with requests by name and outcome, a latency
//! histogram of passed requests by name, violations by class, iterations, active users and
//! requests in flight.
//!
//! Nothing is added to the hot path: the collector already merges the recorders' shards into the
//! run's totals once per tick, and [`Metrics::update`] renders the page from those totals then
//! (one small lock per tick, none per request). A scrape reads the last page, so figures are at
//! most one tick (1 s) old.

use std::{
    fmt::Write,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode, header::CONTENT_TYPE, service::service_fn};
use hyper_util::rt::TokioIo;
use tokio::{net::TcpListener, task::JoinHandle};

use crate::{
    checks::Outcome,
    stats::{Interval, Stats, StepWindow, Window},
};

/// Upper bounds of the latency buckets, in seconds (Prometheus' default buckets, from 0.5 ms).
pub const BUCKETS_S: [f64; 15] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The page a scrape returns; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    page: Arc<Mutex<Bytes>>,
}

/// The running metrics server; stops when dropped.
#[derive(Debug)]
pub struct Server {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Metrics {
    /// Binds `addr` and serves `GET /metrics` until the returned server is dropped.
    pub async fn serve(&self, addr: SocketAddr) -> std::io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let page = self.page.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let page = page.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: hyper::Request<_>| {
                        let page = page.clone();
                        async move {
                            let response = if request.uri().path() == "/metrics" {
                                let body = page.lock().map(|p| p.clone()).unwrap_or_default();
                                Response::builder()
                                    .header(
                                        CONTENT_TYPE,
                                        "text/plain; version=0.0.4; charset=utf-8",
                                    )
                                    .body(Full::new(body))
                            } else {
                                Response::builder()
                                    .status(StatusCode::NOT_FOUND)
                                    .body(Full::new(Bytes::from_static(b"see /metrics\n")))
                            };
                            Ok::<_, std::convert::Infallible>(response.expect("static parts"))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Server { addr, task })
    }

    /// Renders the page from the run's totals at a tick.
    pub fn update(&self, totals: &Window, interval: &Interval, stats: &Stats) {
        let names: Vec<&str> = interval
            .rows
            .iter()
            .take(totals.steps.len())
            .map(|row| row.name.as_str())
            .collect();
        let page = render(&names, totals, interval, stats.iterations());
        if let Ok(mut current) = self.page.lock() {
            *current = Bytes::from(page);
        }
    }
}

/// The exposition text.
pub fn render(names: &[&str], totals: &Window, interval: &Interval, iterations: u64) -> String {
    let mut out = String::with_capacity(1024 + names.len() * 2048);
    let steps = names.iter().zip(&totals.steps);
    out.push_str(
        "# HELP loadgen_requests_total Requests by name and outcome.\n\
         # TYPE loadgen_requests_total counter\n",
    );
    for (name, step) in steps.clone() {
        for outcome in Outcome::ALL {
            let _ = writeln!(
                out,
                "loadgen_requests_total{{name=\"{}\",outcome=\"{outcome}\"}} {}",
                escape(name),
                step.counts.get(outcome)
            );
        }
    }
    out.push_str(
        "# HELP loadgen_request_duration_seconds Latency of passed requests, send to last byte.\n\
         # TYPE loadgen_request_duration_seconds histogram\n",
    );
    for (name, step) in steps {
        histogram(&mut out, &escape(name), step);
    }
    let total = totals.total();
    out.push_str(
        "# HELP loadgen_violations_total Leaks, lost writes, corruptions, denials, anonymous answers and resurrected records found.\n\
         # TYPE loadgen_violations_total counter\n",
    );
    for class in Outcome::ALL
        .into_iter()
        .filter(|class| class.is_violation())
    {
        let _ = writeln!(
            out,
            "loadgen_violations_total{{class=\"{class}\"}} {}",
            total.counts.get(class)
        );
    }
    let _ = write!(
        out,
        "# HELP loadgen_iterations_total Iterations completed.\n\
         # TYPE loadgen_iterations_total counter\n\
         loadgen_iterations_total {iterations}\n\
         # HELP loadgen_active_users Users past their set-up.\n\
         # TYPE loadgen_active_users gauge\n\
         loadgen_active_users {}\n\
         # HELP loadgen_in_flight_requests Requests sent and not yet answered.\n\
         # TYPE loadgen_in_flight_requests gauge\n\
         loadgen_in_flight_requests {}\n\
         # HELP loadgen_elapsed_seconds Time since the run started.\n\
         # TYPE loadgen_elapsed_seconds gauge\n\
         loadgen_elapsed_seconds {}\n",
        interval.active_users, interval.in_flight, interval.end_s
    );
    out
}

fn histogram(out: &mut String, name: &str, step: &StepWindow) {
    let latency = &step.latency;
    for bound in BUCKETS_S {
        let count = latency.count_at_or_below_us((bound * 1e6) as u64);
        let _ = writeln!(
            out,
            "loadgen_request_duration_seconds_bucket{{name=\"{name}\",le=\"{bound}\"}} {count}"
        );
    }
    let _ = writeln!(
        out,
        "loadgen_request_duration_seconds_bucket{{name=\"{name}\",le=\"+Inf\"}} {count}\n\
         loadgen_request_duration_seconds_sum{{name=\"{name}\"}} {sum}\n\
         loadgen_request_duration_seconds_count{{name=\"{name}\"}} {count}",
        count = latency.count(),
        sum = latency.sum().as_secs_f64(),
    );
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Timing;
    use std::time::Duration;

    #[test]
    fn buckets_are_cumulative_and_end_at_the_count() {
        let mut window = Window::new(1);
        for ms in [1, 2, 3, 20, 700] {
            window.record(0, Outcome::Pass, Timing::closed(Duration::from_millis(ms)));
        }
        window.record(0, Outcome::Fail, Timing::closed(Duration::from_millis(1)));
        let interval = Interval::new(
            &["json".to_owned()],
            &window,
            Duration::ZERO,
            Duration::from_secs(1),
            0,
            2,
            false,
        );
        let page = render(&["json"], &window, &interval, 6);
        for line in [
            "loadgen_requests_total{name=\"json\",outcome=\"pass\"} 5",
            "loadgen_requests_total{name=\"json\",outcome=\"fail\"} 1",
            "loadgen_request_duration_seconds_bucket{name=\"json\",le=\"0.001\"} 1",
            "loadgen_request_duration_seconds_bucket{name=\"json\",le=\"0.005\"} 3",
            "loadgen_request_duration_seconds_bucket{name=\"json\",le=\"0.5\"} 4",
            "loadgen_request_duration_seconds_bucket{name=\"json\",le=\"+Inf\"} 5",
            "loadgen_request_duration_seconds_count{name=\"json\"} 5",
            "loadgen_active_users 2",
            "loadgen_iterations_total 6",
        ] {
            assert!(page.contains(line), "missing `{line}` in:\n{page}");
        }
    }
}
