//! The per-worker table of a merged report: one [`WorkerRow`] per worker report, with what makes
//! its figures doubtful (a CPU-bound generator, a late start), as data and as text.

use serde::{Deserialize, Serialize};

use crate::report::{Report, Requests, Violations};

/// A worker that started this much after the agreed start (or the earliest worker) is late.
pub const LATE_AFTER_S: f64 = 1.0;

/// One worker in a merged report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerRow {
    /// The file the report came from.
    pub source: String,
    /// `--worker-index`, when the report says.
    pub index: Option<usize>,
    pub started_at_unix_s: f64,
    /// Seconds after `--start-at` (or the earliest worker's start, without one).
    pub late_s: f64,
    pub duration_s: f64,
    pub requests: Requests,
    pub violations: Violations,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub cpu_percent: Option<f64>,
    /// The worker's self-check found its generator saturated, or it started late.
    pub suspect: bool,
    pub notes: Vec<String>,
}

impl WorkerRow {
    /// `worker 2`, or the file name when the report did not say.
    pub fn who(&self) -> String {
        self.index
            .map_or_else(|| self.source.clone(), |i| format!("worker {i}"))
    }

    /// `ok`, or why its figures are doubtful.
    pub fn verdict(&self) -> String {
        if self.suspect {
            format!("SUSPECT: {}", self.notes.join("; "))
        } else {
            "ok".to_owned()
        }
    }
}

/// The per-worker table of a merged report, as text (empty for a single run).
pub fn render_workers(report: &Report) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if report.workers.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "\nWorkers ({} merged; latency of passed requests, ms)",
        report.workers.len()
    );
    let _ = writeln!(
        out,
        "{:<10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8}  check",
        "worker", "requests", "fail", "violation", "rps", "p50", "p99", "late s"
    );
    for row in &report.workers {
        let _ = writeln!(
            out,
            "{:<10} {:>9} {:>9} {:>9} {:>9.2} {:>9.3} {:>9.3} {:>8.3}  {}",
            row.who(),
            row.requests.total,
            row.requests.fail,
            row.requests.violation,
            row.rps,
            row.p50_ms,
            row.p99_ms,
            row.late_s,
            row.verdict()
        );
    }
    let f = &report.figures;
    let _ = writeln!(
        out,
        "{:<10} {:>9} {:>9} {:>9} {:>9.2} {:>9.3} {:>9.3}",
        "total",
        f.requests.total,
        f.requests.fail,
        f.requests.violation,
        f.rps,
        f.latency_ms.p50,
        f.latency_ms.p99
    );
    out
}

pub(super) fn worker_row(source: &str, report: &Report, agreed_start: f64) -> WorkerRow {
    let late_s = (report.started_at_unix_s - agreed_start).max(0.0);
    let mut notes = report.self_check.notes.clone();
    if late_s > LATE_AFTER_S {
        notes.push(format!(
            "started {late_s:.3} s late: its requests miss the merged run's first intervals"
        ));
    }
    WorkerRow {
        source: source.to_owned(),
        index: report.worker.map(|w| w.index),
        started_at_unix_s: report.started_at_unix_s,
        late_s,
        duration_s: report.duration_s,
        requests: report.figures.requests,
        violations: report.figures.violations,
        rps: report.figures.rps,
        p50_ms: report.figures.latency_ms.p50,
        p99_ms: report.figures.latency_ms.p99,
        cpu_percent: report.self_check.cpu_percent,
        suspect: !notes.is_empty(),
        notes,
    }
}
