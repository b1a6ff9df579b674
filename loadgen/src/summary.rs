//! A plain summary of a run, below the runner that produces it and the report, thresholds,
//! merge and compare that read it: what the runner hands over ([`Run`], [`StopReason`],
//! [`Signal`], [`OpenFigures`]), the run's setting as the plan fixed it ([`Setting`]), and the
//! figures of a set of requests ([`Figures`] and its parts), which the JSON report carries as
//! they are. Nothing here knows a plan, a runner or a renderer.

use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime},
};

use serde::{Deserialize, Serialize};

use crate::{
    checks::{Counts, Outcome},
    selfcheck::SelfCheckReport,
    stats::{Interval, Latency, Quantile, StepWindow, Window, millis},
};

/// Width of a timeline interval (CSV rows, chart points): the runner's collector ticks at it,
/// merge aligns workers' intervals on it.
pub const TICK: Duration = Duration::from_secs(1);

/// Everything a finished run measured; [`crate::report::Report`] is built from it.
#[derive(Debug)]
pub struct Run {
    pub steps: Vec<String>,
    pub started_at: SystemTime,
    pub duration: Duration,
    pub stopped_by: StopReason,
    pub totals: Window,
    pub intervals: Vec<Interval>,
    pub iterations: u64,
    /// Requests still unanswered when the users were stopped.
    pub in_flight_at_stop: u64,
    pub open: Option<OpenFigures>,
    pub self_check: SelfCheckReport,
}

/// Why the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Every user finished its `--loops`.
    Loops,
    /// `--duration` elapsed.
    Duration,
    /// Ctrl-C or SIGTERM (or the caller's shutdown future).
    Signal,
}

impl StopReason {
    /// The name used in reports: `loops`, `duration`, `signal`.
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Loops => "loops",
            StopReason::Duration => "duration",
            StopReason::Signal => "signal",
        }
    }
}

/// Which signal stopped a run: its exit code is `128 + signo`, as a shell reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Signal {
    /// Ctrl-C.
    #[serde(rename = "SIGINT")]
    Interrupt,
    /// `kill`, a CI runner cancelling the job, a container stopping.
    #[serde(rename = "SIGTERM")]
    Terminate,
}

impl Signal {
    /// `SIGINT` or `SIGTERM`.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }
}

/// What the open model did, for the report.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OpenFigures {
    pub rate: f64,
    /// Iterations due before the run stopped.
    pub scheduled: u64,
    /// Iterations started.
    pub started: u64,
    /// Started more than 1 ms after their intended time because every user was busy.
    pub late: u64,
    /// Due but never started: all `--max-users` were busy until the end.
    pub dropped: u64,
}

/// What thresholds judge: the figures of all requests, of each request name, and the open
/// model's.
#[derive(Debug, Clone, Copy)]
pub struct Judged<'a> {
    pub all: &'a Figures,
    pub endpoints: &'a [Endpoint],
    pub open: Option<OpenFigures>,
}

/// The run's setting as the plan fixed it: what a report says about how it ran.
#[derive(Debug, Clone)]
pub struct Setting {
    pub scenario: String,
    pub target: String,
    pub run_id: String,
    pub worker: WorkerPlace,
    /// `--start-at` resolved, seconds since the Unix epoch.
    pub start_at_unix_s: Option<f64>,
    pub workload: WorkloadReport,
    /// The open model (its figures have a corrected latency).
    pub open: bool,
}

/// Worker K of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerPlace {
    pub index: usize,
    pub workers: usize,
}

/// The workload as run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkloadReport {
    /// `closed` or `open`.
    pub model: String,
    pub users: usize,
    pub loops: Option<u64>,
    pub rate: Option<f64>,
    pub spawn_rate: Option<f64>,
    pub duration_limit_s: Option<f64>,
    /// `--wait` as typed (`0`, `500ms`, `0.5s..3s`).
    pub wait: String,
    pub timeout_s: f64,
    pub threads: usize,
}

/// The figures of a set of requests (all, or one name).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Figures {
    pub requests: Requests,
    pub violations: Violations,
    /// Passed requests per second over the run (the article's "Request per Second - mean").
    pub rps: f64,
    /// Latency of passed requests, send to last body byte.
    pub latency_ms: LatencyMs,
    /// Open model only: latency from each iteration's intended start (coordinated omission
    /// corrected).
    pub latency_corrected_ms: Option<LatencyMs>,
    /// HdrHistogram V2 deflate, base64, of `latency_ms` in microseconds: merge runs exactly.
    pub histogram: String,
    pub histogram_corrected: Option<String>,
    /// Answers per status code (`{"200": 14000, "404": 3}`); requests without an answer
    /// (`requests.exception`) have no code. Absent from reports written before it existed.
    /// Keyed by the code's three digits as text: JSON keys are text, and a number key does not
    /// read back through `#[serde(flatten)]` (the figures are flattened into the report).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub status_codes: BTreeMap<String, u64>,
}

/// Outcome counts. `total = pass + fail + exception + violation`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Requests {
    pub total: u64,
    pub pass: u64,
    pub fail: u64,
    /// Transport errors and timeouts.
    pub exception: u64,
    /// Of `exception`: no answer within `--timeout`.
    pub timeout: u64,
    /// Leaks, lost writes and corruptions: the one definition of a violation (a proven
    /// contradiction). Timeouts are not violations.
    pub violation: u64,
}

impl Requests {
    pub fn fail_rate(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            (self.total - self.pass) as f64 / self.total as f64
        }
    }
}

/// Counts of each violation class. `timeout` is not a violation: it repeats `requests.timeout`
/// for readers of schema version 1.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Violations {
    pub leak: u64,
    pub lost_write: u64,
    pub corrupt: u64,
    /// Own actions refused (absent from reports written before the class existed).
    #[serde(default)]
    pub denied: u64,
    /// Requests without a valid credential that were answered (the `anonymous` check; absent
    /// from older reports).
    #[serde(default)]
    pub anonymous: u64,
    /// Acknowledged deletes whose record came back (the `resurrect` check; absent from older
    /// reports).
    #[serde(default)]
    pub resurrect: u64,
    pub timeout: u64,
}

/// Latency summary in milliseconds; zeros when `count` is 0.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LatencyMs {
    pub count: u64,
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// One request name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Endpoint {
    pub name: String,
    #[serde(flatten)]
    pub figures: Figures,
}

impl LatencyMs {
    pub fn new(latency: &Latency) -> Self {
        Self {
            count: latency.count(),
            min: millis(latency.min()),
            mean: millis(latency.mean()),
            p50: millis(latency.percentile(Quantile::P50)),
            p90: millis(latency.percentile(Quantile::P90)),
            p95: millis(latency.percentile(Quantile::P95)),
            p99: millis(latency.percentile(Quantile::P99)),
            p999: millis(latency.percentile(Quantile::P999)),
            max: millis(latency.max()),
        }
    }
}

impl Figures {
    /// The figures of `window` over `duration_s`.
    pub fn new(window: &StepWindow, duration_s: f64, open: bool) -> Self {
        let counts: &Counts = &window.counts;
        Self {
            requests: Requests {
                total: counts.total(),
                pass: counts.pass(),
                fail: counts.fail(),
                exception: counts.exception(),
                timeout: counts.get(Outcome::Timeout),
                violation: counts.violation(),
            },
            violations: Violations {
                leak: counts.get(Outcome::Leak),
                lost_write: counts.get(Outcome::LostWrite),
                corrupt: counts.get(Outcome::Corrupt),
                denied: counts.get(Outcome::Denied),
                anonymous: counts.get(Outcome::Anonymous),
                resurrect: counts.get(Outcome::Resurrect),
                timeout: counts.get(Outcome::Timeout),
            },
            rps: if duration_s > 0.0 {
                counts.pass() as f64 / duration_s
            } else {
                0.0
            },
            latency_ms: LatencyMs::new(&window.latency),
            latency_corrected_ms: open.then(|| LatencyMs::new(&window.corrected)),
            histogram: window.latency.encode(),
            histogram_corrected: open.then(|| window.corrected.encode()),
            status_codes: window
                .statuses
                .sorted()
                .into_iter()
                .map(|(code, count)| (code.to_string(), count))
                .collect(),
        }
    }
}

#[cfg(test)]
impl Setting {
    /// A closed `json` run of `users` users, worker `index` of `workers`, for the unit tests of
    /// what reads a report (renderers, merge): what `loadgen json --users N` would set.
    pub fn json_closed(users: usize, index: usize, workers: usize, run_id: &str) -> Self {
        Self {
            scenario: "json".to_owned(),
            target: "http://127.0.0.1:8020/json".to_owned(),
            run_id: run_id.to_owned(),
            worker: WorkerPlace { index, workers },
            start_at_unix_s: None,
            workload: WorkloadReport {
                model: "closed".to_owned(),
                users,
                loops: None,
                rate: None,
                spawn_rate: None,
                duration_limit_s: None,
                wait: "0".to_owned(),
                timeout_s: 10.0,
                threads: 1,
            },
            open: false,
        }
    }
}

#[cfg(test)]
impl Run {
    /// A two-second run of `steps` whose requests are those recorded in `totals`, one interval,
    /// a quiet self-check: what the unit tests of the report's readers build reports from.
    pub fn sample(
        steps: Vec<String>,
        totals: Window,
        started_at: SystemTime,
        stopped_by: StopReason,
        iterations: u64,
    ) -> Self {
        let duration = Duration::from_secs(2);
        Self {
            intervals: vec![Interval::new(
                &steps,
                &totals,
                Duration::ZERO,
                duration,
                0,
                1,
                false,
            )],
            steps,
            started_at,
            duration,
            stopped_by,
            totals,
            iterations,
            open: None,
            in_flight_at_stop: 0,
            self_check: SelfCheckReport {
                cpu_percent: Some(10.0),
                cores: 1,
                scheduler_lag_ms: crate::selfcheck::LagMs {
                    p50: 0.1,
                    p99: 0.2,
                    max: 0.3,
                },
                suspect: false,
                notes: Vec::new(),
            },
        }
    }
}
