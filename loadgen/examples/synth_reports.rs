//! Writes synthetic worker reports for measuring `loadgen merge`: N reports of one run, each of M
//! passed requests on one request name over 60 one-second intervals, latencies log-normal
//! (median 5 ms, sigma 0.6) with 0.1 % spikes up to 2 s, so the histograms are as wide as real ones.
//!
//! Run with: `cargo run --release -p loadgen --example synth_reports -- DIR N M`, then
//! `/usr/bin/time -f '%e s %M KB' target/release/loadgen merge DIR/*.json --json-out merged.json`.

use std::time::{Duration, SystemTime};

use clap::Parser;
use loadgen::{
    checks::Outcome,
    cli::Cli,
    plan::Plan,
    report::{Report, json},
    runner::{Run, StopReason},
    selfcheck::{LagMs, SelfCheckReport},
    stats::{Interval, Timing, Window},
};

const INTERVALS: u64 = 60;

fn latency_us() -> u64 {
    // Box-Muller: one standard normal from two uniforms.
    let (u, v): (f64, f64) = (rand::random::<f64>().max(1e-12), rand::random());
    let normal = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
    let mut us = 5_000.0 * (0.6 * normal).exp();
    if rand::random::<f64>() < 0.001 {
        us += rand::random::<f64>() * 2_000_000.0;
    }
    us.max(1.0) as u64
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, workers, requests] = args.as_slice() else {
        eprintln!("usage: synth_reports DIR REPORTS REQUESTS_PER_REPORT");
        std::process::exit(2);
    };
    let workers: usize = workers.parse().expect("REPORTS is a number");
    let requests: u64 = requests.parse().expect("REQUESTS_PER_REPORT is a number");
    std::fs::create_dir_all(dir).expect("DIR can be made");
    let started_at = SystemTime::now();
    for index in 0..workers {
        let words = format!(
            "loadgen json --users {workers} --workers {workers} --worker-index {index} --run-id synth --duration 60s"
        );
        let plan = Plan::from_cli(Cli::try_parse_from(words.split_whitespace()).unwrap()).unwrap();
        let steps = vec!["json".to_owned()];
        let mut totals = Window::new(1);
        let mut intervals = Vec::new();
        for second in 0..INTERVALS {
            let mut window = Window::new(1);
            for _ in 0..requests / INTERVALS {
                let timing = Timing::closed(Duration::from_micros(latency_us()));
                window.record(0, Outcome::Pass, timing);
            }
            intervals.push(Interval::new(
                &steps,
                &window,
                Duration::from_secs(second),
                Duration::from_secs(second + 1),
                0,
                1,
                false,
            ));
            totals.merge(&window);
        }
        let run = Run {
            steps,
            started_at,
            duration: Duration::from_secs(INTERVALS),
            stopped_by: StopReason::Duration,
            totals,
            intervals,
            iterations: requests,
            open: None,
            in_flight_at_stop: 0,
            self_check: SelfCheckReport {
                cpu_percent: Some(50.0),
                cores: 1,
                scheduler_lag_ms: LagMs {
                    p50: 0.05,
                    p99: 0.2,
                    max: 1.0,
                },
                suspect: false,
                notes: Vec::new(),
            },
        };
        let report = Report::new(&plan.setting(), run);
        let path = std::path::Path::new(dir).join(format!("w{index:02}.json"));
        json::write(&report, &path).expect("the report is written");
    }
}
