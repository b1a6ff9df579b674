//! The report: every figure of a finished run, in the shape of the JSON contract
//! (`fixtures/report.schema.json`), which the text summary, CSV and HTML renderers read too.
//!
//! Units: times in seconds (`*_s`), latencies in milliseconds (`*_ms`), rates per second.
//! Latencies are of *passed* requests, as the article's "For pass requests" figures are.
//!
//! Layout: [`text`] (the article's summary and percentile tables), [`json`], [`csv`] (one row per
//! interval per request name), [`html`] (self-contained page with inline SVG charts), [`merge`] (one
//! report from many workers' reports), [`compare`] (a run against a baseline), [`junit`] (JUnit
//! XML for CI test reporters).

pub mod compare;
pub mod csv;
pub mod findings;
pub mod html;
pub mod json;
pub mod junit;
pub mod merge;
#[cfg(test)]
pub(crate) mod sample;
pub mod text;

/// Transitional: the live view moved to `runner::live` (it belongs to the runner). This old path
/// keeps branches written before the move compiling; `scripts/layers.py` counts it as the
/// `report -> runner` edge it is. Remove it once no code names `report::progress`.
pub use crate::runner::live as progress;

use std::{collections::BTreeMap, fmt::Write as _};

use serde::{Deserialize, Serialize};

use crate::{
    checks::{Counts, Outcome},
    plan::{Model, Plan},
    runner::{OpenFigures, Run, StopReason, stop::Signal},
    scenario::findings::{Evidence, Findings, LedgerFigures, PreflightFigures, Score},
    selfcheck::SelfCheckReport,
    stats::{Interval, Latency, Quantile, StepWindow, millis},
    thresholds::Verdict,
};

/// Version of the JSON layout; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// A finished run, as written by `--json-out`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub scenario: String,
    pub target: String,
    /// `--run-id`: the workers of one run share it, and `loadgen merge` checks it.
    pub run_id: String,
    /// This process's place among the run's workers; null in a merged report.
    pub worker: Option<WorkerPlace>,
    /// `--start-at` resolved, seconds since the Unix epoch; null when the run started at once.
    pub start_at_unix_s: Option<f64>,
    /// Start time, seconds since the Unix epoch.
    pub started_at_unix_s: f64,
    /// From the first user's start to the stop: the article's "Total test time".
    pub duration_s: f64,
    pub stopped_by: StopReason,
    /// `SIGINT` or `SIGTERM` when a signal stopped the run (exit 130 or 143), else null.
    pub interrupted_by: Option<Signal>,
    pub workload: WorkloadReport,
    pub iterations: u64,
    /// All requests together.
    #[serde(flatten)]
    pub figures: Figures,
    /// Requests sent and still unanswered when the run stopped. Those older than `--timeout` are
    /// also counted as timeouts in `requests`; the others are in no other count.
    pub in_flight_at_stop: u64,
    /// Why the run tested nothing (exit 3), or null: no request passed a check, or a scenario's
    /// own reason (no user could log in). A scenario sets it with [`Report::tested_nothing`].
    pub tested_nothing: Option<String>,
    /// Time since start of the first leak, lost write or corruption.
    pub first_violation_after_s: Option<f64>,
    /// Open model only.
    pub open_model: Option<OpenFigures>,
    /// One entry per request name, in the scenario's order.
    pub endpoints: Vec<Endpoint>,
    /// The first distinct reasons why requests did not pass.
    pub failure_reasons: Vec<FailureReason>,
    pub self_check: SelfCheckReport,
    /// Filled in once thresholds are evaluated.
    pub thresholds: Vec<Verdict>,
    /// The timeline, one entry per second.
    pub intervals: Vec<Interval>,
    /// The first violations, with observer, victim, request, expected and actual.
    pub evidence: Vec<Evidence>,
    /// `--score`: recall and precision against mock-server's journal.
    pub score: Option<Score>,
    /// Distinct records that leaked (the isolation test), beside `violations.leak`, which counts
    /// leaking answers.
    #[serde(default)]
    pub leaked_records: Option<u64>,
    /// Same-origin redirects followed.
    #[serde(default)]
    pub redirects_followed: u64,
    /// Advice the scenario gives once (a redirect to write in the description, ...).
    #[serde(default)]
    pub hints: Vec<String>,
    /// What the isolation test's ledger held and forgot.
    #[serde(default)]
    pub ledger: Option<LedgerFigures>,
    /// Violation classes that do not fail the run (`--allow`).
    #[serde(skip)]
    pub allowed: Vec<&'static str>,
    /// Seconds from the run's set-up to its first user: the preflight's connect and probe (with
    /// its retries) and the scenario's own preflight; absent in a merged report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preflight_s: Option<f64>,
    /// What the scenario's preflight sent before the load, outside the step tables (the load
    /// went on with its logged-in users); absent without a preflight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preflight: Option<PreflightFigures>,
    /// The command line of the run, as typed (the binary sets it; absent for in-process runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_line: Option<String>,
    /// A merged report: one entry per worker report, in worker order; empty for a single run.
    pub workers: Vec<merge::WorkerRow>,
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

impl Figures {
    /// `200: 14,000, 404: 3, no answer: 2`: the status codes, then the requests without an
    /// answer; `None` for a report without codes (written before they were counted).
    pub fn status_line(&self) -> Option<String> {
        if self.status_codes.is_empty() {
            return None;
        }
        let mut parts: Vec<String> = self
            .status_codes
            .iter()
            .map(|(code, count)| format!("{code}: {}", text::thousands(*count)))
            .collect();
        let answered: u64 = self.status_codes.values().sum();
        let unanswered = self.requests.total.saturating_sub(answered);
        if unanswered > 0 {
            parts.push(format!("no answer: {}", text::thousands(unanswered)));
        }
        Some(parts.join(", "))
    }
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

/// A distinct reason, with its request name and outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailureReason {
    pub name: String,
    pub outcome: String,
    pub reason: String,
    pub count: u64,
    /// One answer that gave this reason: status and the first 300 characters of the body.
    pub example: Option<String>,
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
    fn new(window: &StepWindow, duration_s: f64, open: bool) -> Self {
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

impl Report {
    /// Builds the report of `run` under `plan`; thresholds are evaluated afterwards.
    pub fn new(plan: &Plan, run: Run) -> Self {
        let workload = &plan.workload;
        let open = workload.model.is_open();
        let duration_s = run.duration.as_secs_f64();
        let (model, loops, rate) = match workload.model {
            Model::Closed { loops, .. } => ("closed", loops, None),
            Model::Open { rate, .. } => ("open", None, Some(rate)),
        };
        let endpoints = run
            .steps
            .iter()
            .zip(&run.totals.steps)
            .map(|(name, window)| Endpoint {
                name: name.clone(),
                figures: Figures::new(window, duration_s, open),
            })
            .collect();
        let failure_reasons = run
            .totals
            .reasons
            .iter()
            .map(|reason| FailureReason {
                name: run.steps[reason.step].clone(),
                outcome: reason.outcome.as_str().to_owned(),
                reason: reason.reason.clone(),
                count: reason.count,
                example: None,
            })
            .collect();
        let mut report = Self {
            schema_version: SCHEMA_VERSION,
            scenario: plan.scenario.name().to_owned(),
            target: plan.url.clone(),
            run_id: plan.run_id.clone(),
            worker: Some(WorkerPlace {
                index: workload.worker.index,
                workers: workload.worker.workers,
            }),
            start_at_unix_s: workload.start_at.map(unix_s),
            started_at_unix_s: unix_s(run.started_at),
            duration_s,
            stopped_by: run.stopped_by,
            interrupted_by: None,
            workload: WorkloadReport {
                model: model.to_owned(),
                users: workload.model.users(),
                loops,
                rate,
                spawn_rate: workload.spawn_rate,
                duration_limit_s: workload.duration.map(|d| d.as_secs_f64()),
                wait: workload.wait.to_string(),
                timeout_s: workload.timeout.as_secs_f64(),
                threads: workload.threads,
            },
            iterations: run.iterations,
            figures: Figures::new(&run.totals.total(), duration_s, open),
            in_flight_at_stop: run.in_flight_at_stop,
            tested_nothing: None,
            first_violation_after_s: run.totals.first_violation.map(|d| d.as_secs_f64()),
            open_model: run.open,
            endpoints,
            failure_reasons,
            self_check: run.self_check,
            thresholds: Vec::new(),
            intervals: run.intervals,
            evidence: Vec::new(),
            score: None,
            leaked_records: None,
            redirects_followed: 0,
            hints: Vec::new(),
            ledger: None,
            allowed: Vec::new(),
            workers: Vec::new(),
            preflight_s: None,
            preflight: None,
            command_line: None,
        };
        report.tested_nothing = report.nothing_passed();
        report
    }

    /// The hook for a scenario's own "tested nothing" reason (no user could log in): it replaces
    /// the generic one, so the run exits 3 with it.
    pub fn tested_nothing(&mut self, reason: impl Into<String>) {
        self.tested_nothing = Some(reason.into());
    }

    /// The generic "tested nothing" reason of a run in which no request passed a check, or `None`
    /// when one did. Scenarios may give their own reason instead (see [`Report::tested_nothing`]).
    fn nothing_passed(&self) -> Option<String> {
        let report = self;
        let requests = &report.figures.requests;
        if requests.pass > 0 {
            return None;
        }
        let mut reason = format!(
            "no request passed a check: {} sent, {} pass, {} fail, {} exception",
            text::thousands(requests.total + report.in_flight_at_stop),
            text::thousands(requests.pass),
            text::thousands(requests.fail),
            text::thousands(requests.exception),
        );
        if let Some(top) = report.failure_reasons.iter().max_by_key(|r| r.count) {
            let _ = write!(reason, " ({})", top.reason);
        }
        if report.in_flight_at_stop > 0 {
            let _ = write!(
                reason,
                ", {} unanswered at the stop after {:.1} s",
                text::thousands(report.in_flight_at_stop),
                report.duration_s
            );
        }
        Some(reason)
    }

    /// Copies a scenario's findings in.
    pub fn apply_findings(&mut self, findings: Findings) {
        for example in &findings.failure_examples {
            if let Some(reason) = self
                .failure_reasons
                .iter_mut()
                .find(|r| r.name == example.name && r.reason == example.reason)
            {
                reason.example = Some(example.example.clone());
            }
        }
        self.evidence = findings.evidence;
        self.score = findings.score;
        self.leaked_records = findings.leaked_records;
        // A scenario's own reason (no user could log in) is the more precise one.
        if let Some(reason) = findings.tested_nothing {
            self.tested_nothing(reason);
        }
        self.redirects_followed = findings.redirects;
        self.hints = findings.hints;
        self.ledger = findings.ledger;
        self.preflight = findings.preflight;
        self.allowed = findings.allowed;
    }

    /// Evaluates `plan`'s thresholds into `self.thresholds`; true when all hold.
    pub fn apply_thresholds(&mut self, plan: &Plan) -> bool {
        self.evaluate(&plan.thresholds)
    }

    /// Evaluates `thresholds` into `self.thresholds`; true when all hold.
    pub fn evaluate(&mut self, thresholds: &[crate::thresholds::Threshold]) -> bool {
        self.thresholds = thresholds.iter().map(|t| t.evaluate(self)).collect();
        self.thresholds.iter().all(|v| v.passed)
    }
}

/// Seconds since the Unix epoch.
pub fn unix_s(time: std::time::SystemTime) -> f64 {
    time.duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
