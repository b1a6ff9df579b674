//! The timeline: one [`Interval`] per collector tick, each a row of summary figures per request
//! name plus an `all` row. Rows keep numbers only (no histograms); the CSV file and the HTML charts
//! are drawn from them.
//!
//! Memory stays bounded however long the run: a [`Timeline`] keeps the last [`RECENT`] intervals
//! tick by tick and folds older ones into coarser intervals, at most [`COARSE`] of them, whose
//! width doubles whenever they would exceed that number. Counts stay exact (they add up); the
//! percentiles of a folded interval are the highest of its parts' (an upper bound, as intervals
//! keep no histogram). A run of up to `RECENT + COARSE` ticks is kept whole.

use std::{collections::VecDeque, time::Duration};

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
    /// Own actions refused (absent from reports written before the class existed).
    #[serde(default)]
    pub denied: u64,
    pub anonymous: u64,
    pub resurrect: u64,
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
            denied: counts.get(Outcome::Denied),
            anonymous: counts.get(Outcome::Anonymous),
            resurrect: counts.get(Outcome::Resurrect),
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

    /// Adds `other`'s figures; `span` is the joined interval's length in seconds.
    fn absorb(&mut self, other: &IntervalRow, span: f64) {
        self.add(other);
        self.rps = if span > 0.0 {
            self.pass as f64 / span
        } else {
            0.0
        };
    }

    /// Adds `other`'s counts, weights the mean by passes and keeps the higher percentiles and
    /// max (an upper bound); `rps` is left to the caller, which knows the span.
    pub(crate) fn add(&mut self, other: &IntervalRow) {
        let passes = self.pass + other.pass;
        if passes > 0 {
            self.mean_ms = (self.mean_ms * self.pass as f64 + other.mean_ms * other.pass as f64)
                / passes as f64;
        }
        self.total += other.total;
        self.pass = passes;
        self.fail += other.fail;
        self.exception += other.exception;
        self.timeout += other.timeout;
        self.leak += other.leak;
        self.lost_write += other.lost_write;
        self.corrupt += other.corrupt;
        self.denied += other.denied;
        self.anonymous += other.anonymous;
        self.resurrect += other.resurrect;
        self.p50_ms = self.p50_ms.max(other.p50_ms);
        self.p90_ms = self.p90_ms.max(other.p90_ms);
        self.p99_ms = self.p99_ms.max(other.p99_ms);
        self.max_ms = self.max_ms.max(other.max_ms);
        self.corrected_p99_ms = match (self.corrected_p99_ms, other.corrected_p99_ms) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
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
        // Sized exactly: collecting the names' rows and then pushing `all` would double the
        // capacity, and the timeline holds thousands of these.
        let mut rows = Vec::with_capacity(names.len() + 1);
        rows.extend(
            names
                .iter()
                .zip(&window.steps)
                .map(|(name, step)| IntervalRow::new(name, step, span, open)),
        );
        rows.push(IntervalRow::new(ALL, &window.total(), span, open));
        Self {
            start_s: start.as_secs_f64(),
            end_s: end.as_secs_f64(),
            in_flight,
            active_users,
            rows,
        }
    }

    /// Appends `later`, the interval that follows this one: counts add up, the gauges are the
    /// later ones (taken at the close), percentiles the higher.
    pub fn absorb(&mut self, later: &Interval) {
        let span = later.end_s - self.start_s;
        for (row, other) in self.rows.iter_mut().zip(&later.rows) {
            debug_assert_eq!(
                row.name, other.name,
                "intervals of one run share their rows"
            );
            row.absorb(other, span);
        }
        self.end_s = later.end_s;
        self.in_flight = later.in_flight;
        self.active_users = later.active_users;
    }

    /// The `all` row.
    pub fn all(&self) -> &IntervalRow {
        self.rows
            .last()
            .expect("an interval always has its `all` row")
    }
}

/// Intervals kept at full resolution, the newest.
pub const RECENT: usize = 300;
/// Most coarse intervals kept for the older part of the run.
pub const COARSE: usize = 360;

/// The run's intervals, bounded: the newest tick by tick, older ones folded (see the module doc).
#[derive(Debug, Default)]
pub struct Timeline {
    /// Older intervals, each folded from `width` closed intervals (the last one from `filled`).
    coarse: Vec<Interval>,
    width: usize,
    filled: usize,
    /// The newest intervals, unfolded.
    recent: VecDeque<Interval>,
}

impl Timeline {
    pub fn new() -> Self {
        Self {
            width: 1,
            ..Self::default()
        }
    }

    pub fn push(&mut self, interval: Interval) {
        self.recent.push_back(interval);
        if self.recent.len() > RECENT
            && let Some(old) = self.recent.pop_front()
        {
            self.fold(old);
        }
    }

    /// The newest interval.
    pub fn last(&self) -> Option<&Interval> {
        self.recent.back()
    }

    /// Takes back the newest interval (the collector joins a stub final interval to it).
    pub fn pop(&mut self) -> Option<Interval> {
        self.recent.pop_back()
    }

    pub fn len(&self) -> usize {
        self.coarse.len() + self.recent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every interval, oldest first.
    pub fn into_intervals(self) -> Vec<Interval> {
        let mut all = self.coarse;
        all.extend(self.recent);
        all
    }

    fn fold(&mut self, old: Interval) {
        match self.coarse.last_mut() {
            Some(last) if self.filled < self.width => {
                last.absorb(&old);
                self.filled += 1;
            }
            _ => {
                self.coarse.push(old);
                self.filled = 1;
            }
        }
        if self.coarse.len() > COARSE {
            self.halve();
        }
    }

    /// Joins coarse intervals pairwise: twice the width, half the count.
    fn halve(&mut self) {
        let pairs = std::mem::take(&mut self.coarse);
        let odd = pairs.len() % 2 == 1;
        let mut pairs = pairs.into_iter();
        while let Some(mut first) = pairs.next() {
            if let Some(second) = pairs.next() {
                first.absorb(&second);
            }
            self.coarse.push(first);
        }
        self.filled = if odd {
            self.filled
        } else {
            self.width + self.filled
        };
        self.width *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Interval `k` of a one-name run: `k % 7 + 1` passes up to `k % 50 + 1` ms, one failure.
    fn tick(k: usize) -> Interval {
        let pass = (k % 7 + 1) as u64;
        let ms = (k % 50 + 1) as f64;
        let row = |name: &str| IntervalRow {
            name: name.to_owned(),
            total: pass + 1,
            pass,
            fail: 1,
            exception: 0,
            timeout: 0,
            leak: 0,
            lost_write: 0,
            corrupt: 0,
            denied: 0,
            anonymous: 0,
            resurrect: 0,
            rps: pass as f64,
            mean_ms: ms / 2.0,
            p50_ms: ms / 2.0,
            p90_ms: ms,
            p99_ms: ms,
            max_ms: ms,
            corrected_p99_ms: None,
        };
        Interval {
            start_s: k as f64,
            end_s: (k + 1) as f64,
            in_flight: k as u64,
            active_users: 3,
            rows: vec![row("get"), row(ALL)],
        }
    }

    #[test]
    fn an_interval_holds_no_spare_rows() {
        let names: Vec<String> = (0..9).map(|k| format!("step {k}")).collect();
        let interval = Interval::new(
            &names,
            &Window::new(names.len()),
            Duration::ZERO,
            Duration::from_secs(1),
            0,
            0,
            false,
        );
        assert_eq!(interval.rows.len(), 10, "one row per name plus `all`");
        assert_eq!(
            interval.rows.capacity(),
            10,
            "a timeline of thousands of intervals must not carry spare capacity in each"
        );
    }

    fn timeline_of(ticks: usize) -> Vec<Interval> {
        let mut timeline = Timeline::new();
        (0..ticks).for_each(|k| timeline.push(tick(k)));
        assert_eq!(
            timeline.last().map(|i| i.in_flight),
            Some(ticks as u64 - 1),
            "the last interval shows the in-flight count"
        );
        timeline.into_intervals()
    }

    #[test]
    fn a_run_shorter_than_the_budget_is_kept_tick_by_tick() {
        let intervals = timeline_of(RECENT + COARSE);
        assert_eq!(intervals.len(), RECENT + COARSE, "nothing is folded yet");
        for (k, interval) in intervals.iter().enumerate() {
            assert_eq!(
                interval.start_s, k as f64,
                "interval {k} is the tick pushed {k}th"
            );
            assert_eq!(
                interval.all().pass,
                (k % 7 + 1) as u64,
                "interval {k} is not folded"
            );
        }
    }

    #[test]
    fn a_long_run_is_bounded_and_its_totals_stay_exact() {
        let ticks = 20_000;
        let intervals = timeline_of(ticks);
        assert!(
            intervals.len() <= RECENT + COARSE,
            "{} intervals for {ticks} ticks: the timeline is not bounded",
            intervals.len()
        );
        let pushed: Vec<Interval> = (0..ticks).map(tick).collect();
        let sum = |list: &[Interval], f: fn(&IntervalRow) -> u64| -> u64 {
            list.iter().map(|i| f(i.all())).sum()
        };
        for (what, f) in [
            (
                "total",
                (|r: &IntervalRow| r.total) as fn(&IntervalRow) -> u64,
            ),
            ("pass", |r| r.pass),
            ("fail", |r| r.fail),
        ] {
            assert_eq!(
                sum(&intervals, f),
                sum(&pushed, f),
                "{what} counts must add up"
            );
        }
        for pair in intervals.windows(2) {
            assert_eq!(
                pair[0].end_s, pair[1].start_s,
                "folded intervals stay contiguous"
            );
        }
        assert_eq!(intervals[0].start_s, 0.0, "the run's start is still drawn");
        assert_eq!(
            intervals.last().unwrap().end_s,
            ticks as f64,
            "the last interval ends at the last tick"
        );
        let recent = &intervals[intervals.len() - RECENT..];
        assert!(
            recent.iter().all(|i| i.end_s - i.start_s == 1.0),
            "the newest intervals keep their tick resolution"
        );
        let oldest = &intervals[0];
        let span = oldest.end_s - oldest.start_s;
        let passes: u64 = pushed[..span as usize].iter().map(|i| i.all().pass).sum();
        assert_eq!(
            oldest.all().pass,
            passes,
            "a folded interval holds its ticks' passes"
        );
        assert_eq!(
            oldest.all().rps,
            passes as f64 / span,
            "rate over the folded span"
        );
        assert_eq!(
            oldest.all().max_ms,
            50.0,
            "the highest max of the folded ticks"
        );
        assert_eq!(
            oldest.in_flight,
            span as u64 - 1,
            "gauges are the last tick's"
        );
    }
}
