//! Stages, as k6 has them: the number of users goes linearly from the previous stage's target
//! (0 before the first stage) to each stage's target over the stage's duration, so
//! `[10s -> 20, 30s -> 20, 10s -> 0]` ramps up, holds, and ramps down. The run lasts the stages'
//! total.
//!
//! The target is users (closed model) or iterations per second (open model, `ramp = "rate"`).
//! The schedule is a pure function of the time since the start: user `i` (0-based) is wanted while
//! the target is at least `i + 1`; arrival `k` is due when the rate's integral reaches `k`. Users ask it between iterations (a few float operations, no lock)
//! and sleep until they are wanted again, so a ramp costs nothing per request.

use std::time::Duration;

/// One stage: reach `target` users by the end of `duration`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    pub duration: Duration,
    pub target: u64,
}

/// A validated, non-empty list of stages.
#[derive(Debug, Clone, PartialEq)]
pub struct Stages {
    stages: Vec<Stage>,
}

impl Stages {
    /// Checks that there is at least one stage, that every stage lasts, and that some stage has
    /// users.
    pub fn new(stages: Vec<Stage>) -> Result<Self, String> {
        if stages.is_empty() {
            return Err("stages: at least one stage is needed".into());
        }
        if let Some(index) = stages.iter().position(|s| s.duration.is_zero()) {
            return Err(format!("stages[{index}]: duration must be longer than 0"));
        }
        if stages.iter().all(|s| s.target == 0) {
            return Err("stages: every target is 0, no user would run".into());
        }
        Ok(Self { stages })
    }

    pub fn as_slice(&self) -> &[Stage] {
        &self.stages
    }

    /// How long the stages last together: the run's duration.
    pub fn total(&self) -> Duration {
        self.stages.iter().map(|s| s.duration).sum()
    }

    /// The highest target: how many users the run starts.
    pub fn peak(&self) -> u64 {
        self.stages.iter().map(|s| s.target).max().unwrap_or(0)
    }

    /// The stages as segments: (start, end, from, to).
    fn segments(&self) -> impl Iterator<Item = (Duration, Duration, f64, f64)> + '_ {
        let mut start = Duration::ZERO;
        let mut from = 0.0;
        self.stages.iter().map(move |stage| {
            let end = start + stage.duration;
            let to = stage.target as f64;
            let segment = (start, end, from, to);
            start = end;
            from = to;
            segment
        })
    }

    /// The (fractional) number of users wanted `at` since the start; the last target after the end.
    pub fn target_at(&self, at: Duration) -> f64 {
        for (start, end, from, to) in self.segments() {
            if at < end {
                let fraction = (at - start).as_secs_f64() / (end - start).as_secs_f64();
                return from + (to - from) * fraction;
            }
        }
        self.stages.last().map_or(0.0, |s| s.target as f64)
    }

    /// Open model: iterations due by `at` when the target is a rate (the integral of the rate).
    pub fn arrivals_by(&self, at: Duration) -> f64 {
        let mut total = 0.0;
        for (start, end, from, to) in self.segments() {
            if at <= start {
                break;
            }
            let span = (end - start).as_secs_f64();
            let t = (at.min(end) - start).as_secs_f64();
            total += from * t + (to - from) * t * t / (2.0 * span);
        }
        total
    }

    /// Open model: when arrival `k` (0-based) is due as the rate ramps, i.e. when
    /// [`Stages::arrivals_by`] reaches `k`; `None` when the stages end first.
    pub fn arrival_at(&self, k: f64) -> Option<Duration> {
        let mut before = 0.0;
        for (start, end, from, to) in self.segments() {
            let span = (end - start).as_secs_f64();
            let area = (from + to) / 2.0 * span;
            let need = k - before;
            if need <= area && area > 0.0 {
                // Solve from * t + slope / 2 * t^2 = need for t in [0, span].
                let slope = (to - from) / span;
                let t = if slope.abs() < 1e-12 {
                    need / from
                } else {
                    (-from + (from * from + 2.0 * slope * need).max(0.0).sqrt()) / slope
                };
                return Some(start + Duration::from_secs_f64(t.clamp(0.0, span)));
            }
            before += area;
        }
        None
    }

    /// Whether user `index` runs `at` since the start.
    pub fn wants(&self, index: usize, at: Duration) -> bool {
        self.target_at(at) >= (index + 1) as f64 - 1e-6
    }

    /// The first time at or after `at` when user `index` is wanted, or `None` if never again
    /// before the end.
    pub fn next_wanted(&self, index: usize, at: Duration) -> Option<Duration> {
        let need = (index + 1) as f64;
        for (start, end, from, to) in self.segments() {
            if end <= at {
                continue;
            }
            let from_at = start.max(at);
            if self.target_at(from_at) >= need - 1e-6 {
                return Some(from_at);
            }
            if to >= need {
                // Rising through `need` inside this segment.
                let fraction = (need - from) / (to - from);
                let crossing = start + (end - start).mul_f64(fraction.clamp(0.0, 1.0));
                return Some(crossing.max(from_at));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stages(list: &[(u64, u64)]) -> Stages {
        Stages::new(
            list.iter()
                .map(|&(secs, target)| Stage {
                    duration: Duration::from_secs(secs),
                    target,
                })
                .collect(),
        )
        .unwrap()
    }

    const fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    #[test]
    fn the_target_ramps_up_holds_and_ramps_down() {
        let ramp = stages(&[(10, 20), (10, 20), (10, 0)]);
        assert_eq!(ramp.total(), s(30), "the ramp lasts its stages' sum");
        assert_eq!(ramp.peak(), 20, "the peak is the highest target");
        assert_eq!(ramp.target_at(s(0)), 0.0, "the ramp starts at 0");
        assert_eq!(
            ramp.target_at(s(5)),
            10.0,
            "halfway up the first stage is half its target"
        );
        assert_eq!(
            ramp.target_at(s(15)),
            20.0,
            "the hold stage keeps its target"
        );
        assert_eq!(
            ramp.target_at(s(25)),
            10.0,
            "halfway down the last stage is half the peak"
        );
        assert_eq!(ramp.target_at(s(40)), 0.0, "after the end the target is 0");
    }

    #[test]
    fn a_user_is_wanted_once_the_target_reaches_its_number() {
        let ramp = stages(&[(10, 10), (10, 0)]);
        assert!(
            !ramp.wants(4, s(4)),
            "user 4 is not wanted before the target reaches 5"
        );
        assert!(
            ramp.wants(4, s(5)),
            "user 4 is wanted once the target reaches 5"
        );
        assert_eq!(
            ramp.next_wanted(4, s(0)),
            Some(s(5)),
            "user 4 is next wanted at 5 s"
        );
        assert_eq!(
            ramp.next_wanted(4, s(12)),
            Some(s(12)),
            "user 4 is wanted right away during the hold"
        );
        // On the way down user 4 (the fifth) leaves at 15 s and never comes back.
        assert!(
            !ramp.wants(4, Duration::from_millis(15_100)),
            "user 4 is no longer wanted on the way down"
        );
        assert_eq!(
            ramp.next_wanted(4, Duration::from_millis(15_100)),
            None,
            "user 4 is never wanted again after the ramp down passed it"
        );
    }

    #[test]
    fn a_second_ramp_brings_users_back() {
        let ramp = stages(&[(2, 4), (2, 0), (2, 4)]);
        assert_eq!(
            ramp.next_wanted(3, s(3)),
            Some(s(6)),
            "user 3 is next wanted when the third stage brings it back"
        );
        assert_eq!(ramp.next_wanted(1, s(3)), Some(s(3)), "still wanted at 3 s");
        assert_eq!(
            ramp.next_wanted(1, Duration::from_millis(3500)),
            Some(s(5)),
            "user 1, gone at 3.5 s, is wanted again at 5 s"
        );
    }

    #[test]
    fn arrivals_follow_a_ramping_rate() {
        // 0 -> 10/s over 2 s (10 arrivals), then 10/s for 1 s (10 more).
        let ramp = stages(&[(2, 10), (1, 10)]);
        assert!(
            (ramp.arrivals_by(s(2)) - 10.0).abs() < 1e-9,
            "arrivals are the integral of the rate: {}",
            ramp.arrivals_by(s(2))
        );
        assert!(
            (ramp.arrivals_by(s(3)) - 20.0).abs() < 1e-9,
            "arrivals are the integral of the rate: {}",
            ramp.arrivals_by(s(3))
        );
        // Arrival k is due when the integral reaches k: k = 2.5 t^2 on the ramp.
        let at = ramp.arrival_at(10.0).unwrap().as_secs_f64();
        assert!((at - 2.0).abs() < 1e-6, "{at}");
        let at = ramp.arrival_at(15.0).unwrap().as_secs_f64();
        assert!((at - 2.5).abs() < 1e-6, "{at}");
        let at = ramp.arrival_at(2.5).unwrap().as_secs_f64();
        assert!((at - 1.0).abs() < 1e-6, "{at}");
        assert_eq!(ramp.arrival_at(20.5), None, "after the last stage");
    }

    #[test]
    fn empty_zero_length_or_userless_stages_are_refused() {
        assert!(Stages::new(vec![]).is_err(), "no stage is refused");
        let zero = Stage {
            duration: Duration::ZERO,
            target: 3,
        };
        assert!(
            Stages::new(vec![zero]).unwrap_err().contains("stages[0]"),
            "a zero-length stage is refused, naming it"
        );
        let idle = Stage {
            duration: s(1),
            target: 0,
        };
        assert!(
            Stages::new(vec![idle]).is_err(),
            "stages that never start a user are refused"
        );
    }
}
