//! Findings: what a scenario found beyond counts — evidence, a score, hints, the reason it tested
//! nothing — handed to the engine by [`super::Scenario::finish`] and copied into the report by
//! one generic path, so neither `lib.rs` nor the renderers name a scenario.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// One violation, enough to reproduce and explain it.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
}
