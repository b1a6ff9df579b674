//! Findings: what a scenario found beyond counts — evidence, a score, hints, the reason it tested
//! nothing — handed to the engine by [`super::Scenario::finish`] and copied into the report by
//! one generic path, so neither `lib.rs` nor the renderers name a scenario.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// One violation, enough to reproduce and explain it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Evidence {
    /// `leak`, `lost_write`, `corrupt` or `timeout`.
    pub class: Cow<'static, str>,
    /// The virtual user who saw it (global index).
    pub observer: usize,
    /// Its account id on the server, when known.
    pub observer_account: Option<String>,
    /// The virtual user whose data showed up (leaks only).
    pub victim: Option<usize>,
    pub victim_account: Option<String>,
    /// The record involved, when known (its id on the server).
    pub record: Option<String>,
    /// The step's name (`read`, `list`, ...).
    pub step: String,
    /// Method and path, e.g. `GET /api/v1/cities/3`.
    pub request: String,
    pub expected: String,
    /// Status and the start of the body (at most 300 characters).
    pub actual: String,
    /// One sentence: "user 7 read record c.3.12 created by user 3".
    pub message: String,
    /// Seconds since the run started.
    pub since_start_s: f64,
    /// Requests in flight across all users when the response came back.
    pub in_flight: u64,
    /// The observer's request: seconds since the run started when it was sent, when its first
    /// and last byte came back (absent in reports written before these fields existed).
    #[serde(default)]
    pub sent_s: Option<f64>,
    #[serde(default)]
    pub first_byte_s: Option<f64>,
    #[serde(default)]
    pub last_byte_s: Option<f64>,
    /// Other users' requests in flight while the observer's was (the victim's first): the other
    /// half of the racing pair, for `loadgen repro`.
    #[serde(default)]
    pub overlapping: Vec<Span>,
    /// The latest requests of the observer and of the victim (a few each, from a per-user ring),
    /// oldest first: the timeline around the violation, and the pair when the race happened a
    /// step before the answer that showed it (two creates given one id, read back later).
    #[serde(default)]
    pub recent: Vec<Span>,
}

/// One request on the run's clock, as evidence keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    /// The virtual user (global index).
    pub user: usize,
    /// The step's name (`create`, `read`, ...).
    pub step: String,
    /// Method and path, e.g. `GET /api/v1/cities/3`.
    pub request: String,
    /// Seconds since the run started when it was sent.
    pub sent_s: f64,
    /// When its first byte came back; null without an answer.
    pub first_byte_s: Option<f64>,
    /// When its last byte came back (or it failed); null while still in flight.
    pub last_byte_s: Option<f64>,
}

impl Span {
    /// Whether this request was in flight at some moment of `[from, to]`.
    pub fn overlaps(&self, from: f64, to: f64) -> bool {
        self.sent_s <= to && self.last_byte_s.is_none_or(|end| end >= from)
    }
}

/// Recall and precision against a ground-truth journal (mock-server's `--score`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Score {
    /// Journal entries written during the run.
    pub journal_entries: usize,
    /// Cross-user reads that reached one of this run's users.
    pub cross_user_reads: usize,
    /// Cross-user writes made by one of this run's users.
    pub cross_user_writes: usize,
    /// Cross-user reads that the run reported.
    pub reads_detected: usize,
    /// `reads_detected / cross_user_reads`; null when nothing leaked.
    pub recall: Option<f64>,
    pub leaks_reported: usize,
    /// Reported leaks that the journal confirms.
    pub leaks_confirmed: usize,
    /// `leaks_confirmed / leaks_reported`; null when nothing was reported.
    pub precision: Option<f64>,
    /// True when the journal's ring buffer overflowed during the run: the figures are then partial.
    pub journal_overflowed: bool,
}

/// One example answer of a failure reason.
#[derive(Debug, Clone, Serialize)]
pub struct FailureExample {
    pub name: String,
    pub reason: String,
    /// Status and the first 300 characters of the body.
    pub example: String,
}

/// What the oracle's ledger held at the end, and what it forgot.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct LedgerFigures {
    /// Records held at the end.
    pub records: u64,
    /// Newest records kept per identity.
    pub window: u64,
    /// Records forgotten because they fell out of the window (never deleted): their ids are no
    /// longer recognised, their markers still are.
    pub evicted: u64,
    /// Records forgotten because they were deleted.
    pub deleted: u64,
}

/// What a scenario's preflight sent before the load. Its requests are in no step table (they ran
/// serially, before the clock of the run started), and the load went on with its logged-in
/// users, whose sign-up and login steps it therefore did not repeat: `register 18` for
/// `--users 20` when the preflight signed up two.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PreflightFigures {
    /// Requests per step name, in the scenario's order (steps it did not send are left out).
    pub requests: Vec<StepCount>,
    /// Identities it logged in, which the load's users then reused.
    pub users: u64,
}

/// A count under a step name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepCount {
    pub name: String,
    pub count: u64,
}

/// Everything a scenario reports beyond the engine's counts.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    /// The first violations, with observer, victim, request, expected and actual.
    pub evidence: Vec<Evidence>,
    /// Distinct records (or markers) that leaked, beside the raw count of leaking answers.
    pub leaked_records: Option<u64>,
    pub score: Option<Score>,
    /// Violation classes that do not fail the run (`--allow`).
    pub allowed: Vec<&'static str>,
    /// Why the run tested nothing (no user could log in, no check passed): exit 3.
    pub tested_nothing: Option<String>,
    /// Same-origin redirects followed.
    pub redirects: u64,
    /// Advice shown once after the summary.
    pub hints: Vec<String>,
    /// One example answer per distinct failure reason.
    pub failure_examples: Vec<FailureExample>,
    pub ledger: Option<LedgerFigures>,
    /// What a preflight sent before the load (not in the step tables).
    pub preflight: Option<PreflightFigures>,
    /// The mock server's fault switches, as its admin API lists them (the report keeps those
    /// within the run).
    pub fault_switches: Vec<shared::admin::FaultSwitch>,
}
