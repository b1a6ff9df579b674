//! Tests of the merge: percentiles against one histogram fed every sample, missing and late
//! workers.

use std::time::{Duration, SystemTime};

use proptest::prelude::*;

use super::*;
use crate::{
    checks::Outcome,
    stats::{Quantile, Timing, Window},
    summary::{Run, Setting},
};

/// Worker `index` of 3's report of `samples` (microseconds), all passed, one request name.
fn report(index: usize, samples: &[u64], started_at: SystemTime) -> Report {
    let mut totals = Window::new(1);
    for &us in samples {
        totals.record(0, Outcome::Pass, Timing::closed(Duration::from_micros(us)));
    }
    let run = Run::sample(
        vec!["json".into()],
        totals,
        started_at,
        StopReason::Duration,
        samples.len() as u64,
    );
    // `loadgen json --users 3 --workers 3 --worker-index {index} --run-id t`.
    Report::new(&Setting::json_closed(3, index, 3, "t"), run)
}

proptest! {
    // Each case encodes and decodes three 1 us .. 1 h histograms: a few cases suffice.
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn merged_percentiles_are_those_of_one_histogram_fed_every_sample(
        samples in prop::collection::vec(
            prop_oneof![1u64..2_000, 1u64..2_000_000, 1u64..3_600_000_000], 3..300),
        cut in (0usize..300, 0usize..300),
    ) {
        let (a, b) = (cut.0.min(cut.1).min(samples.len()), cut.0.max(cut.1).min(samples.len()));
        let now = SystemTime::now();
        let parts = [&samples[..a], &samples[a..b], &samples[b..]];
        let reports = parts
            .iter()
            .enumerate()
            .map(|(k, part)| (format!("w{k}"), report(k, part, now)))
            .collect();
        let merged = merge(reports).unwrap().report;
        let mut one = Latency::new();
        for &us in &samples {
            one.record(Duration::from_micros(us));
        }
        let ms = |q| crate::stats::millis(one.percentile(q));
        let l = &merged.figures.latency_ms;
        prop_assert_eq!(l.count, samples.len() as u64, "the merged count is every worker's samples");
        prop_assert_eq!(l.p50, ms(Quantile::P50), "the merged p50 is the p50 of all samples");
        prop_assert_eq!(l.p90, ms(Quantile::P90), "the merged p90 is the p90 of all samples");
        prop_assert_eq!(l.p99, ms(Quantile::P99), "the merged p99 is the p99 of all samples");
        prop_assert_eq!(l.p999, ms(Quantile::P999), "the merged p99.9 is the p99.9 of all samples");
        prop_assert_eq!(l.max, crate::stats::millis(one.max()), "the merged max is the max of all samples");
        prop_assert_eq!(l.min, crate::stats::millis(one.min()), "the merged min is the min of all samples");
        // Each worker's mean is exact to the nanosecond, the merged one to two.
        prop_assert!((l.mean - crate::stats::millis(one.mean())).abs() <= 2e-6 + 1e-12, "the merged mean is within 2 ns of the mean of all samples: {} vs {}", l.mean, crate::stats::millis(one.mean()));
        prop_assert_eq!(merged.figures.requests.pass, samples.len() as u64, "the merged passes are every worker's");
        prop_assert!(merged.warnings_free_of_missing(), "a merge of every worker warns of no missing one");
    }
}

impl Report {
    fn warnings_free_of_missing(&self) -> bool {
        !self.self_check.notes.iter().any(|n| n.contains("missing"))
    }
}

#[test]
fn a_missing_or_late_worker_is_named() {
    let now = SystemTime::now();
    let late = now + Duration::from_secs(3);
    let reports = vec![
        ("a.json".to_owned(), report(0, &[100, 200], now)),
        ("c.json".to_owned(), report(2, &[300], late)),
    ];
    let Merged { report, warnings } = merge(reports).unwrap();
    assert_eq!(
        warnings,
        ["merged 2 of 3 workers; missing worker(s) 1"],
        "a missing worker is warned about"
    );
    let row = &report.workers[1];
    assert_eq!(row.index, Some(2), "a worker row keeps its index");
    assert!(
        row.suspect && row.notes[0].contains("late"),
        "{:?}",
        row.notes
    );
    assert!(
        report.self_check.suspect,
        "a worker that started late makes the merge suspect"
    );
    assert!(
        (report.duration_s - 5.0).abs() < 1e-6,
        "first start to last stop"
    );
    assert_eq!(
        report.intervals.len(),
        2,
        "the late worker's interval is 3 ticks later"
    );
    assert!(
        render_workers(&report).contains("SUSPECT: started 3.000 s late"),
        "the workers table says why a worker is suspect"
    );
}
