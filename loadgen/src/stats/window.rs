//! A window of statistics: outcome counts, status codes, latencies and failure reasons per request name, for
//! one shard over one tick, for one tick over all shards, or for the whole run. Windows merge
//! exactly, so the order in which shards are collected does not matter.

use std::time::Duration;

use crate::checks::{Counts, Outcome};

use super::{latency::Latency, status::StatusCounts};

/// How many distinct failure reasons a window keeps; later new ones are only counted.
pub const MAX_REASONS: usize = 10;

/// Timing of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// From just before the request is written (or the connection dialled) to the last body byte.
    pub latency: Duration,
    /// Open model only: from the iteration's *intended* start to the last body byte, so time spent
    /// waiting for a busy generator counts (coordinated omission corrected).
    pub corrected: Option<Duration>,
    /// The answer's status code; `None` when no answer came back (an exception or a timeout).
    /// It travels with the timing so that every place recording an exchange counts its code.
    pub status: Option<u16>,
}

impl Timing {
    /// A closed-model timing without an answer's status.
    pub fn closed(latency: Duration) -> Self {
        Self {
            latency,
            corrected: None,
            status: None,
        }
    }
}

/// One request name's figures.
#[derive(Debug, Clone, Default)]
pub struct StepWindow {
    pub counts: Counts,
    /// Answers per status code; `counts.total() - statuses.answered()` got no answer.
    pub statuses: StatusCounts,
    /// Latency of passed requests (the article's "Time per Request ... For pass requests").
    pub latency: Latency,
    /// Open model only: corrected latency of passed requests.
    pub corrected: Latency,
}

impl StepWindow {
    /// Empties the figures, keeping the histograms' memory.
    pub fn clear(&mut self) {
        self.counts = Default::default();
        self.statuses.clear();
        self.latency.clear();
        self.corrected.clear();
    }

    pub fn merge(&mut self, other: &StepWindow) {
        self.counts.merge(&other.counts);
        self.statuses.merge(&other.statuses);
        self.latency.merge(&other.latency);
        self.corrected.merge(&other.corrected);
    }
}

/// A distinct failure reason and how often it was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub step: usize,
    pub outcome: Outcome,
    pub reason: String,
    pub count: u64,
}

/// All request names over some span.
#[derive(Debug, Clone)]
pub struct Window {
    pub steps: Vec<StepWindow>,
    /// The first distinct reasons, in the order first seen.
    pub reasons: Vec<Reason>,
    /// Time since the run started of the earliest violation in this window.
    pub first_violation: Option<Duration>,
}

impl Window {
    pub fn new(steps: usize) -> Self {
        Self {
            steps: (0..steps).map(|_| StepWindow::default()).collect(),
            reasons: Vec::new(),
            first_violation: None,
        }
    }

    /// Empties the window, keeping its memory: the collector recycles windows instead of
    /// allocating fresh histograms every tick.
    pub fn clear(&mut self) {
        self.steps.iter_mut().for_each(StepWindow::clear);
        self.reasons.clear();
        self.first_violation = None;
    }

    pub fn record(&mut self, step: usize, outcome: Outcome, timing: Timing) {
        let window = &mut self.steps[step];
        window.counts.add(outcome, 1);
        if let Some(code) = timing.status {
            window.statuses.add(code, 1);
        }
        if outcome == Outcome::Pass {
            window.latency.record(timing.latency);
            if let Some(corrected) = timing.corrected {
                window.corrected.record(corrected);
            }
        }
    }

    pub fn note_reason(&mut self, step: usize, outcome: Outcome, reason: &str, count: u64) {
        if let Some(known) = self
            .reasons
            .iter_mut()
            .find(|r| r.step == step && r.outcome == outcome && r.reason == reason)
        {
            known.count += count;
        } else if self.reasons.len() < MAX_REASONS {
            self.reasons.push(Reason {
                step,
                outcome,
                reason: reason.to_owned(),
                count,
            });
        }
    }

    pub fn note_violation(&mut self, since_start: Duration) {
        self.first_violation = Some(match self.first_violation {
            Some(earlier) => earlier.min(since_start),
            None => since_start,
        });
    }

    pub fn merge(&mut self, other: &Window) {
        for (mine, theirs) in self.steps.iter_mut().zip(&other.steps) {
            mine.merge(theirs);
        }
        for reason in &other.reasons {
            self.note_reason(reason.step, reason.outcome, &reason.reason, reason.count);
        }
        if let Some(at) = other.first_violation {
            self.note_violation(at);
        }
    }

    /// Every request name merged into one.
    pub fn total(&self) -> StepWindow {
        let mut total = StepWindow::default();
        for step in &self.steps {
            total.merge(step);
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_merged_by_text_and_capped() {
        let mut window = Window::new(1);
        for i in 0..(MAX_REASONS + 5) {
            window.note_reason(0, Outcome::Fail, &format!("reason {i}"), 1);
        }
        window.note_reason(0, Outcome::Fail, "reason 0", 2);
        assert_eq!(window.reasons.len(), MAX_REASONS, "the reasons are capped");
        assert_eq!(window.reasons[0].count, 3, "a repeated reason is counted");
    }

    #[test]
    fn only_passes_carry_latency() {
        let mut window = Window::new(2);
        window.record(0, Outcome::Pass, Timing::closed(Duration::from_millis(2)));
        window.record(1, Outcome::Fail, Timing::closed(Duration::from_millis(9)));
        let total = window.total();
        assert_eq!(
            total.counts.total(),
            2,
            "a merged window counts both windows' outcomes"
        );
        assert_eq!(
            total.latency.count(),
            1,
            "a merged window keeps both latencies"
        );
        assert_eq!(
            total.latency.max(),
            Duration::from_millis(2),
            "a merged window's max is the larger one"
        );
    }

    #[test]
    fn status_counts_and_unanswered_requests_add_up_to_the_total() {
        let answered = |code, ms| Timing {
            status: Some(code),
            ..Timing::closed(Duration::from_millis(ms))
        };
        let (mut one, mut two) = (Window::new(2), Window::new(2));
        one.record(0, Outcome::Pass, answered(200, 1));
        one.record(0, Outcome::Fail, answered(404, 2));
        one.record(1, Outcome::Leak, answered(200, 3));
        two.record(0, Outcome::Pass, answered(200, 4));
        two.record(0, Outcome::Timeout, Timing::closed(Duration::from_secs(1)));
        one.merge(&two);
        let step = &one.steps[0];
        assert_eq!(
            step.statuses.sorted(),
            vec![(200, 2), (404, 1)],
            "each answered request is counted under its code, across windows"
        );
        assert_eq!(
            step.statuses.answered() + step.counts.exception(),
            step.counts.total(),
            "codes plus the unanswered (exceptions, timeouts) add up to the total"
        );
        let total = one.total();
        assert_eq!(
            total.statuses.sorted(),
            vec![(200, 3), (404, 1)],
            "the total merges every request name's codes"
        );
    }
}
