//! The timeline: one [`Interval`] per collector tick, each a row of summary figures per request
//! name plus an `all` row. Rows keep numbers only (no histograms), so an hour-long run costs a few
//! megabytes at most; the CSV file and the HTML charts are drawn from them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::checks::Outcome;

use super::{Quantile, StepWindow, Window, millis};

/// Name of the row that merges every request name.
pub const ALL: &str = "all";

/// One tick of the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Interval {
    /// Seconds since the run started.
    pub start_s: f64,
    pub end_s: f64,
    /// Requests in flight when the interval closed.
    pub in_flight: u64,
    /// Users past their set-up when the interval closed.
    pub active_users: u64,
    /// One row per request name, then the `all` row.
    pub rows: Vec<IntervalRow>,
}

/// Figures of one request name over one interval; latencies of passed requests, in ms.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IntervalRow {
    pub name: String,
    pub total: u64,
    pub pass: u64,
    pub fail: u64,
    /// Transport errors and timeouts.
    pub exception: u64,
    pub timeout: u64,
    pub leak: u64,
    pub lost_write: u64,
    pub corrupt: u64,
    /// Passed requests per second.
    pub rps: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Open model: p99 of the corrected latency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corrected_p99_ms: Option<f64>,
}

impl IntervalRow {
    pub fn new(name: &str, window: &StepWindow, span: Duration, open: bool) -> Self {
        let counts = &window.counts;
        let latency = &window.latency;
        let span = span.as_secs_f64();
        Self {
            name: name.to_owned(),
            total: counts.total(),
            pass: counts.pass(),
            fail: counts.fail(),
            exception: counts.exception(),
            timeout: counts.get(Outcome::Timeout),
            leak: counts.get(Outcome::Leak),
            lost_write: counts.get(Outcome::LostWrite),
            corrupt: counts.get(Outcome::Corrupt),
            rps: if span > 0.0 {
                counts.pass() as f64 / span
            } else {
                0.0
            },
            mean_ms: millis(latency.mean()),
            p50_ms: millis(latency.percentile(Quantile::P50)),
            p90_ms: millis(latency.percentile(Quantile::P90)),
            p99_ms: millis(latency.percentile(Quantile::P99)),
            max_ms: millis(latency.max()),
            corrected_p99_ms: open.then(|| millis(window.corrected.percentile(Quantile::P99))),
        }
    }
}

impl Interval {
    /// Summarises a collected window; `names` are the scenario's request names.
    pub fn new(
        names: &[String],
        window: &Window,
        start: Duration,
        end: Duration,
        in_flight: u64,
        active_users: u64,
        open: bool,
    ) -> Self {
        let span = end.saturating_sub(start);
        let mut rows: Vec<IntervalRow> = names
            .iter()
            .zip(&window.steps)
            .map(|(name, step)| IntervalRow::new(name, step, span, open))
            .collect();
        rows.push(IntervalRow::new(ALL, &window.total(), span, open));
        Self {
            start_s: start.as_secs_f64(),
            end_s: end.as_secs_f64(),
            in_flight,
            active_users,
            rows,
        }
    }

    /// The `all` row.
    pub fn all(&self) -> &IntervalRow {
        self.rows
            .last()
            .expect("an interval always has its `all` row")
    }
}
