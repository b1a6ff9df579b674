//! The merged timeline: the workers' intervals aligned on wall-clock time.

use std::collections::BTreeMap;

use crate::{
    report::Report,
    stats::{Interval, IntervalRow},
    summary::TICK,
};

/// Interval `k` of the merged timeline covers whole ticks `k..k+1` after the merged start; a
/// worker's interval joins the tick its wall-clock start rounds to.
pub(super) fn merge_intervals(reports: &[(String, Report)], start: f64) -> Vec<Interval> {
    let tick = TICK.as_secs_f64();
    let mut buckets: BTreeMap<u64, Vec<(f64, &Interval)>> = BTreeMap::new();
    for (_, report) in reports {
        let offset = report.started_at_unix_s - start;
        for interval in &report.intervals {
            let at = ((offset + interval.start_s) / tick).round().max(0.0) as u64;
            buckets.entry(at).or_default().push((offset, interval));
        }
    }
    buckets
        .into_values()
        .map(|members| {
            let start_s = members
                .iter()
                .map(|(offset, i)| offset + i.start_s)
                .fold(f64::INFINITY, f64::min);
            let end_s = members
                .iter()
                .map(|(offset, i)| offset + i.end_s)
                .fold(f64::NEG_INFINITY, f64::max);
            let mut rows: Vec<IntervalRow> = Vec::new();
            for (_, interval) in &members {
                for row in &interval.rows {
                    match rows.iter_mut().find(|known| known.name == row.name) {
                        Some(known) => add_row(known, row),
                        None => rows.push(row.clone()),
                    }
                }
            }
            Interval {
                start_s,
                end_s,
                in_flight: members.iter().map(|(_, i)| i.in_flight).sum(),
                active_users: members.iter().map(|(_, i)| i.active_users).sum(),
                rows,
            }
        })
        .collect()
}

fn add_row(sum: &mut IntervalRow, row: &IntervalRow) {
    sum.add(row);
    // Workers ran side by side over the same second: their rates add up.
    sum.rps += row.rps;
}
