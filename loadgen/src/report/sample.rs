//! A report of a made-up run, for the renderers' unit tests: the figures come from a [`Window`]
//! filled by the test, everything else is a plain two-second closed run.

use std::time::SystemTime;

use super::{Report, StopReason};
use crate::{
    stats::Window,
    summary::{Run, Setting},
};

/// The report of a `loadgen json` run whose request names are `steps` and whose requests are
/// those recorded in `totals`.
pub fn report(steps: &[&str], totals: Window) -> Report {
    let steps: Vec<String> = steps.iter().map(|s| (*s).to_owned()).collect();
    let run = Run::sample(steps, totals, SystemTime::now(), StopReason::Loops, 1);
    Report::new(&Setting::json_closed(1, 0, 1, "sample"), run)
}
