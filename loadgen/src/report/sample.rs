//! A report of a made-up run, for the renderers' unit tests: the figures come from a [`Window`]
//! filled by the test, everything else is a plain two-second closed run.

use std::time::{Duration, SystemTime};

use super::{Report, StopReason};
use crate::{
    selfcheck::{LagMs, SelfCheckReport},
    stats::{Interval, Window},
    summary::{Run, Setting},
};

/// The report of a `loadgen json` run whose request names are `steps` and whose requests are
/// those recorded in `totals`.
pub fn report(steps: &[&str], totals: Window) -> Report {
    let steps: Vec<String> = steps.iter().map(|s| (*s).to_owned()).collect();
    let run = Run {
        intervals: vec![Interval::new(
            &steps,
            &totals,
            Duration::ZERO,
            Duration::from_secs(2),
            0,
            1,
            false,
        )],
        steps,
        started_at: SystemTime::now(),
        duration: Duration::from_secs(2),
        stopped_by: StopReason::Loops,
        totals,
        iterations: 1,
        open: None,
        in_flight_at_stop: 0,
        self_check: SelfCheckReport {
            cpu_percent: Some(10.0),
            cores: 1,
            scheduler_lag_ms: LagMs {
                p50: 0.1,
                p99: 0.2,
                max: 0.3,
            },
            suspect: false,
            notes: Vec::new(),
        },
    };
    Report::new(&Setting::json_closed(1, 0, 1, "sample"), run)
}
