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

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

pub use crate::summary::{
    Endpoint, Figures, LatencyMs, OpenFigures, Requests, Run, Setting, Signal, StopReason,
    Violations, WorkerPlace, WorkloadReport,
};
use crate::{
    scenario::findings::{Evidence, Findings, LedgerFigures, PreflightFigures, Score},
    selfcheck::SelfCheckReport,
    stats::Interval,
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
    /// When the mock server's faults were switched on or off during the run (read from its admin
    /// API with `--score` or `--admin-url`); drawn on the HTML time charts. Absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fault_switches: Vec<FaultSwitchAt>,
}

/// One switch of the mock server's faults during the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultSwitchAt {
    /// Seconds since the run started.
    pub at_s: f64,
    /// Faults switched on, `NAME:key=value,...`.
    pub on: Vec<String>,
    /// Names of the faults switched off.
    pub off: Vec<String>,
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

impl Report {
    /// Builds the report of `run` under `setting` (the plan's: [`crate::plan::Plan::setting`]); thresholds are evaluated afterwards.
    pub fn new(setting: &Setting, run: Run) -> Self {
        let open = setting.open;
        let duration_s = run.duration.as_secs_f64();
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
            scenario: setting.scenario.clone(),
            target: setting.target.clone(),
            run_id: setting.run_id.clone(),
            worker: Some(setting.worker),
            start_at_unix_s: setting.start_at_unix_s,
            started_at_unix_s: unix_s(run.started_at),
            duration_s,
            stopped_by: run.stopped_by,
            interrupted_by: None,
            workload: setting.workload.clone(),
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
            fault_switches: Vec::new(),
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
        self.fault_switches = findings
            .fault_switches
            .into_iter()
            .map(|switch| FaultSwitchAt {
                at_s: switch.at_unix_ms as f64 / 1000.0 - self.started_at_unix_s,
                on: switch.on,
                off: switch.off,
            })
            .filter(|switch| (0.0..=self.duration_s).contains(&switch.at_s))
            .collect();
    }

    /// Evaluates `thresholds` into `self.thresholds`; true when all hold.
    pub fn evaluate(&mut self, thresholds: &[crate::thresholds::Threshold]) -> bool {
        let judged = crate::summary::Judged {
            all: &self.figures,
            endpoints: &self.endpoints,
            open: self.open_model,
        };
        self.thresholds = thresholds.iter().map(|t| t.evaluate(&judged)).collect();
        self.thresholds.iter().all(|v| v.passed)
    }
}

/// Seconds since the Unix epoch.
pub fn unix_s(time: std::time::SystemTime) -> f64 {
    time.duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
