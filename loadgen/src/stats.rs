//! Recording without a global lock, and collecting into intervals and run totals.
//!
//! Users record into shards: `Mutex<Window>`s, each shared by the few users mapped onto it
//! (`user % shards`) and by the collector, which swaps every shard for a fresh window once per
//! tick. With a few shards per thread a lock is nearly always uncontended (a couple of atomic
//! operations), no request waits on a global lock, and nothing per user holds a histogram (one
//! 1 µs..1 h histogram is ~190 KB of address space, too much for 10,000 users). The collector
//! merges the shards' windows into an [`Interval`] for the timeline and into the run's totals.
//!
//! Locking rule: a shard lock is held only to record one request or to swap the window; never
//! across an `.await`.
//!
//! Layout: [`latency`] (histogram and exact percentiles), [`window`] (per-name counts and
//! latencies, mergeable), [`status`] (answers per status code), [`timeline`] (per-interval summaries for CSV and charts).

pub mod latency;
pub mod status;
pub mod timeline;
pub mod window;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use crate::checks::Outcome;

pub use latency::{DecodeError, Latency, Quantile};
pub use status::StatusCounts;
pub use timeline::{Interval, IntervalRow, Timeline};
pub use window::{StepWindow, Timing, Window};

/// A request name, as an index into the scenario's [`crate::scenario::Scenario::steps`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Step(pub usize);

/// The shared sink: shards plus run-wide gauges. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Stats {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shards: Box<[Shard]>,
    steps: usize,
    started: Instant,
    /// Requests abandoned unanswered when the run stopped (the users' tasks were aborted).
    in_flight_at_stop: AtomicU64,
    /// Users that finished their set-up and run iterations.
    active_users: AtomicU64,
}

impl Stats {
    pub fn new(steps: usize, shards: usize, started: Instant) -> Self {
        Self {
            inner: Arc::new(Inner {
                shards: (0..shards.max(1)).map(|_| Shard::new(steps)).collect(),
                steps,
                started,
                in_flight_at_stop: AtomicU64::new(0),
                active_users: AtomicU64::new(0),
            }),
        }
    }

    /// The handle a virtual user records with.
    pub fn recorder(&self, user: usize) -> Recorder {
        Recorder {
            stats: self.clone(),
            shard: user % self.inner.shards.len(),
        }
    }

    /// Swaps every shard for an empty window and returns their merge: everything recorded since
    /// the previous call.
    pub fn collect(&self) -> Window {
        let mut merged = Window::new(self.inner.steps);
        let mut spare = Window::new(self.inner.steps);
        self.collect_into(&mut merged, &mut spare);
        merged
    }

    /// As [`Stats::collect`], into `into` (emptied first), with `spare` as the one window that
    /// circulates: it is emptied and swapped into a shard, the shard's window merged and kept as
    /// the next spare. No histogram is allocated per tick, so a long run does not churn (and
    /// fragment) the heap with ~190 KB blocks.
    pub fn collect_into(&self, into: &mut Window, spare: &mut Window) {
        into.clear();
        for shard in self.inner.shards.iter() {
            spare.clear();
            {
                let mut guard = shard
                    .window
                    .lock()
                    .unwrap_or_else(|poison| poison.into_inner());
                std::mem::swap(&mut *guard, spare);
            }
            into.merge(spare);
        }
    }

    pub fn started(&self) -> Instant {
        self.inner.started
    }

    /// Requests sent and not yet answered, across all users (evidence for violations).
    pub fn in_flight(&self) -> u64 {
        self.inner
            .shards
            .iter()
            .map(|shard| shard.in_flight.load(Ordering::Relaxed))
            .sum()
    }

    pub fn in_flight_at_stop(&self) -> u64 {
        self.inner.in_flight_at_stop.load(Ordering::Relaxed)
    }

    /// Iterations completed, across all users (progress bar).
    pub fn iterations(&self) -> u64 {
        self.inner
            .shards
            .iter()
            .map(|shard| shard.iterations.load(Ordering::Relaxed))
            .sum()
    }

    pub fn active_users(&self) -> u64 {
        self.inner.active_users.load(Ordering::Relaxed)
    }
}

/// One shard: the window its users record into, and their counters. Aligned to two cache lines,
/// so counters of shards used by different threads never share one (no line bounces between
/// cores on every request with `--threads N`: a shard's users all run on one thread).
#[derive(Debug)]
#[repr(align(128))]
struct Shard {
    window: Mutex<Window>,
    /// Requests sent and not yet answered by this shard's users.
    in_flight: AtomicU64,
    /// Iterations this shard's users completed.
    iterations: AtomicU64,
}

impl Shard {
    fn new(steps: usize) -> Self {
        Self {
            window: Mutex::new(Window::new(steps)),
            in_flight: AtomicU64::new(0),
            iterations: AtomicU64::new(0),
        }
    }
}

/// A user's handle on its shard.
#[derive(Debug, Clone)]
pub struct Recorder {
    stats: Stats,
    shard: usize,
}

impl Recorder {
    /// Counts one request. `reason` is kept among the first distinct reasons when the outcome is
    /// not a pass; a violation also marks the time of the first one.
    pub fn record(&self, step: Step, outcome: Outcome, timing: Timing, reason: Option<&str>) {
        let mut window = self
            .shard()
            .window
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        window.record(step.0, outcome, timing);
        if outcome != Outcome::Pass {
            window.note_reason(step.0, outcome, reason.unwrap_or(outcome.as_str()), 1);
        }
        if outcome.is_violation() {
            window.note_violation(self.stats.inner.started.elapsed());
        }
    }

    /// Counts a request abandoned unanswered when the run stopped; one older than `timeout` is
    /// also recorded as a `timeout` (it would have been one had the run gone on).
    pub(crate) fn abandoned(&self, step: Step, age: Duration, timeout: Duration) {
        self.stats
            .inner
            .in_flight_at_stop
            .fetch_add(1, Ordering::Relaxed);
        if age >= timeout {
            let reason = format!("timed out after {timeout:?} (in flight at the stop)");
            self.record(step, Outcome::Timeout, Timing::closed(age), Some(&reason));
        }
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    fn shard(&self) -> &Shard {
        &self.stats.inner.shards[self.shard]
    }

    pub(crate) fn request_started(&self) {
        self.shard().in_flight.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn request_ended(&self) {
        self.shard().in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn iteration_done(&self) {
        self.shard().iterations.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn user_active(&self, active: bool) {
        if active {
            self.stats
                .inner
                .active_users
                .fetch_add(1, Ordering::Relaxed);
        } else {
            self.stats
                .inner
                .active_users
                .fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Seconds as `f64`, the unit of every time in reports.
pub fn secs(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

/// Milliseconds as `f64`, the unit of latencies in reports.
pub fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collect_takes_everything_once_from_all_shards() {
        let stats = Stats::new(1, 3, Instant::now());
        for user in 0..10 {
            stats.recorder(user).record(
                Step(0),
                Outcome::Pass,
                Timing::closed(Duration::from_millis(user as u64 + 1)),
                None,
            );
        }
        let first = stats.collect();
        assert_eq!(
            first.total().counts.pass(),
            10,
            "the first collect holds the 10 passes"
        );
        assert_eq!(
            first.total().latency.max(),
            Duration::from_millis(10),
            "the first collect holds the max latency"
        );
        assert_eq!(
            stats.collect().total().counts.total(),
            0,
            "a collect starts a fresh window"
        );
    }

    #[test]
    fn recycled_windows_carry_nothing_from_one_tick_into_the_next() {
        let stats = Stats::new(1, 2, Instant::now());
        let (mut window, mut spare) = (Window::new(1), Window::new(1));
        let record = |user: usize, ms: u64, outcome: Outcome| {
            let timing = Timing::closed(Duration::from_millis(ms));
            stats
                .recorder(user)
                .record(Step(0), outcome, timing, Some("bad"));
        };
        (0..4).for_each(|user| record(user, 50, Outcome::Fail));
        (0..4).for_each(|user| record(user, 40, Outcome::Pass));
        stats.collect_into(&mut window, &mut spare);
        assert_eq!(
            window.total().counts.total(),
            8,
            "the first tick sees all eight"
        );
        assert_eq!(window.reasons.len(), 1, "one distinct reason");
        record(1, 7, Outcome::Pass);
        stats.collect_into(&mut window, &mut spare);
        let total = window.total();
        assert_eq!(
            total.counts.total(),
            1,
            "the second tick sees only its own request"
        );
        assert_eq!(
            total.latency.max(),
            Duration::from_millis(7),
            "no latency carried over"
        );
        assert!(window.reasons.is_empty(), "no reason carried over");
        stats.collect_into(&mut window, &mut spare);
        assert_eq!(window.total().counts.total(), 0, "a quiet tick is empty");
    }

    #[test]
    fn an_abandoned_request_is_counted_in_flight_and_as_a_timeout_only_past_the_timeout() {
        let stats = Stats::new(2, 1, Instant::now());
        let recorder = stats.recorder(0);
        let timeout = Duration::from_secs(1);
        recorder.abandoned(Step(0), Duration::from_millis(999), timeout);
        recorder.abandoned(Step(1), Duration::from_secs(2), timeout);
        let window = stats.collect();
        assert_eq!(
            stats.in_flight_at_stop(),
            2,
            "both were in flight at the stop"
        );
        assert_eq!(
            window.steps[0].counts.total(),
            0,
            "younger than the timeout: no outcome yet"
        );
        assert_eq!(
            window.steps[1].counts.get(Outcome::Timeout),
            1,
            "older than the timeout: it would have timed out"
        );
        assert_eq!(
            window.reasons[0].reason, "timed out after 1s (in flight at the stop)",
            "a request in flight at the stop is a timeout, saying so"
        );
    }

    #[test]
    fn violations_mark_their_time_and_reason() {
        let stats = Stats::new(2, 1, Instant::now());
        let recorder = stats.recorder(0);
        recorder.record(
            Step(1),
            Outcome::Leak,
            Timing::closed(Duration::ZERO),
            Some("user 1 read city of user 2"),
        );
        let window = stats.collect();
        assert!(
            window.first_violation.is_some(),
            "the window records its first violation"
        );
        assert_eq!(
            window.reasons[0].reason, "user 1 read city of user 2",
            "the violation's reason is kept"
        );
        assert_eq!(
            window.steps[1].counts.get(Outcome::Leak),
            1,
            "the leak is counted in its step"
        );
    }
}
