//! `loadgen merge`: one [`Report`] from the reports of a run's workers, as if one generator had
//! made every request.
//!
//! - Counts are summed; latencies are merged from the reports' HdrHistograms, so the merged
//!   percentiles are those of one histogram fed every worker's samples (exact min, max and mean
//!   come from the figures printed beside each histogram). Rates are over the merged wall-clock
//!   span, first worker's start to last worker's stop.
//! - Intervals are aligned on wall-clock time (start of the earliest worker + whole ticks): counts,
//!   rates, in-flight and active users are summed, means weighted; an interval's p50/p90/p99 is the
//!   highest worker's (intervals keep no histogram), an upper bound of the true one. The whole-run
//!   figures are exact.
//! - Evidence is united (times rebased on the merged start), failure reasons united, the score
//!   summed; thresholds are evaluated afterwards on the merged figures.
//! - Beside the total, [`WorkerRow`]s: one per worker, with what makes its figures doubtful: a
//!   CPU-bound generator (self-check SUSPECT) or a late start.
//!
//! Reports of different runs (run id), scenarios, models or request names are refused.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    Endpoint, FailureReason, Figures, LatencyMs, Report, Requests, Violations, WorkloadReport,
};
use crate::{
    runner::{OpenFigures, StopReason, TICK},
    scenario::cities::score::Score,
    selfcheck::{LagMs, SelfCheckReport},
    stats::{DecodeError, Latency, window::MAX_REASONS},
    stats::{Interval, IntervalRow},
    thresholds::Threshold,
};

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

/// Why reports cannot be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge")]
    Empty,
    #[error(
        "{second} and {first} are of different runs: {what} `{second_value}` vs `{first_value}`; \
         merge only the reports of one run (same --run-id, scenario and request names)"
    )]
    DifferentRuns {
        what: &'static str,
        first: String,
        first_value: String,
        second: String,
        second_value: String,
    },
    #[error("{second} and {first} are both worker {index}: a report was given twice?")]
    DuplicateWorker {
        index: usize,
        first: String,
        second: String,
    },
    #[error("{source_name} is already a merged report: merge the workers' own reports")]
    AlreadyMerged { source_name: String },
    #[error("{source_name}: {what} histogram: {error}")]
    Histogram {
        source_name: String,
        what: String,
        error: DecodeError,
    },
}

/// A merged report and what the caller should say about it.
#[derive(Debug)]
pub struct Merged {
    pub report: Report,
    /// Workers missing from `--workers N`, and the like (also in the self-check notes).
    pub warnings: Vec<String>,
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

/// Merges `reports`, each with the name of its file. Thresholds are left empty: evaluate them on
/// the result ([`Report::evaluate`], [`thresholds_of`]).
pub fn merge(reports: Vec<(String, Report)>) -> Result<Merged, MergeError> {
    let (_, first) = reports.first().ok_or(MergeError::Empty)?;
    check_same_run(&reports)?;
    let mut indexes: BTreeMap<usize, &str> = BTreeMap::new();
    for (source, report) in &reports {
        if !report.workers.is_empty() || report.worker.is_none() {
            return Err(MergeError::AlreadyMerged {
                source_name: source.clone(),
            });
        }
        let index = report.worker.map_or(0, |w| w.index);
        if let Some(previous) = indexes.insert(index, source) {
            return Err(MergeError::DuplicateWorker {
                index,
                first: previous.to_owned(),
                second: source.clone(),
            });
        }
    }
    let mut warnings = Vec::new();
    let declared = first.worker.map_or(1, |w| w.workers);
    if indexes.len() < declared {
        let missing: Vec<String> = (0..declared)
            .filter(|index| !indexes.contains_key(index))
            .map(|index| index.to_string())
            .collect();
        warnings.push(format!(
            "merged {} of {declared} workers; missing worker(s) {}",
            indexes.len(),
            missing.join(", ")
        ));
    }

    let start = reports
        .iter()
        .map(|(_, r)| r.started_at_unix_s)
        .fold(f64::INFINITY, f64::min);
    let end = reports
        .iter()
        .map(|(_, r)| r.started_at_unix_s + r.duration_s)
        .fold(f64::NEG_INFINITY, f64::max);
    let duration_s = (end - start).max(0.0);
    let open = first.workload.model == "open";
    let agreed_start = first.start_at_unix_s;

    let figures = merge_figures(
        reports.iter().map(|(s, r)| (s.as_str(), &r.figures)),
        duration_s,
        open,
        "run",
    )?;
    let endpoints = first
        .endpoints
        .iter()
        .enumerate()
        .map(|(at, endpoint)| {
            let figures = merge_figures(
                reports
                    .iter()
                    .map(|(s, r)| (s.as_str(), &r.endpoints[at].figures)),
                duration_s,
                open,
                &endpoint.name,
            )?;
            Ok(Endpoint {
                name: endpoint.name.clone(),
                figures,
            })
        })
        .collect::<Result<Vec<_>, MergeError>>()?;

    let mut rows: Vec<WorkerRow> = reports
        .iter()
        .map(|(source, report)| worker_row(source, report, agreed_start.unwrap_or(start)))
        .collect();
    rows.sort_by_key(|row| row.index);

    let mut self_check = merge_self_checks(&reports);
    for row in rows.iter().filter(|row| row.suspect) {
        let who = row
            .index
            .map_or_else(|| row.source.clone(), |i| format!("worker {i}"));
        for note in &row.notes {
            self_check.notes.push(format!("{who}: {note}"));
        }
    }
    self_check.notes.extend(warnings.iter().cloned());
    self_check.suspect = !self_check.notes.is_empty();

    let report = Report {
        schema_version: first.schema_version,
        scenario: first.scenario.clone(),
        target: first.target.clone(),
        run_id: first.run_id.clone(),
        worker: None,
        start_at_unix_s: agreed_start,
        started_at_unix_s: start,
        duration_s,
        stopped_by: stopped_by(&reports),
        workload: merge_workloads(&reports),
        iterations: reports.iter().map(|(_, r)| r.iterations).sum(),
        figures,
        first_violation_after_s: reports
            .iter()
            .filter_map(|(_, r)| {
                r.first_violation_after_s
                    .map(|at| at + r.started_at_unix_s - start)
            })
            .reduce(f64::min),
        open_model: merge_open(&reports),
        endpoints,
        failure_reasons: merge_reasons(&reports),
        self_check,
        thresholds: Vec::new(),
        intervals: merge_intervals(&reports, start),
        evidence: merge_evidence(&reports, start),
        score: merge_scores(&reports),
        workers: rows,
    };
    Ok(Merged { report, warnings })
}

/// The thresholds the workers ran with (each text once), to re-evaluate on the merged figures.
pub fn thresholds_of(reports: &[(String, Report)]) -> Vec<Threshold> {
    let mut texts: Vec<&str> = Vec::new();
    for (_, report) in reports {
        for verdict in &report.thresholds {
            if !texts.contains(&verdict.threshold.as_str()) {
                texts.push(&verdict.threshold);
            }
        }
    }
    texts
        .into_iter()
        .filter_map(|text| Threshold::parse(text).ok())
        .collect()
}

fn check_same_run(reports: &[(String, Report)]) -> Result<(), MergeError> {
    let (first_source, first) = &reports[0];
    let names = |r: &Report| {
        r.endpoints
            .iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    for (source, report) in &reports[1..] {
        let checks: [(&'static str, String, String); 5] = [
            ("run id", first.run_id.clone(), report.run_id.clone()),
            ("scenario", first.scenario.clone(), report.scenario.clone()),
            (
                "model",
                first.workload.model.clone(),
                report.workload.model.clone(),
            ),
            ("request names", names(first), names(report)),
            (
                "report version",
                first.schema_version.to_string(),
                report.schema_version.to_string(),
            ),
        ];
        for (what, first_value, second_value) in checks {
            if first_value != second_value {
                return Err(MergeError::DifferentRuns {
                    what,
                    first: first_source.clone(),
                    first_value,
                    second: source.clone(),
                    second_value,
                });
            }
        }
    }
    Ok(())
}

fn ms_to_duration(ms: f64) -> std::time::Duration {
    std::time::Duration::from_nanos((ms * 1e6).round().max(0.0) as u64)
}

fn decode(
    source: &str,
    what: &str,
    encoded: &str,
    latency: &LatencyMs,
) -> Result<Latency, MergeError> {
    Latency::decode(
        encoded,
        ms_to_duration(latency.min),
        ms_to_duration(latency.max),
        ms_to_duration(latency.mean),
    )
    .map_err(|error| MergeError::Histogram {
        source_name: source.to_owned(),
        what: what.to_owned(),
        error,
    })
}

fn merge_figures<'a>(
    parts: impl Iterator<Item = (&'a str, &'a Figures)>,
    duration_s: f64,
    open: bool,
    what: &str,
) -> Result<Figures, MergeError> {
    let mut requests = Requests {
        total: 0,
        pass: 0,
        fail: 0,
        exception: 0,
        violation: 0,
    };
    let mut violations = Violations {
        leak: 0,
        lost_write: 0,
        corrupt: 0,
        timeout: 0,
    };
    let mut latency = Latency::new();
    let mut corrected = open.then(Latency::new);
    for (source, figures) in parts {
        let r = figures.requests;
        requests.total += r.total;
        requests.pass += r.pass;
        requests.fail += r.fail;
        requests.exception += r.exception;
        requests.violation += r.violation;
        let v = figures.violations;
        violations.leak += v.leak;
        violations.lost_write += v.lost_write;
        violations.corrupt += v.corrupt;
        violations.timeout += v.timeout;
        latency.merge(&decode(
            source,
            what,
            &figures.histogram,
            &figures.latency_ms,
        )?);
        if let Some(sum) = corrected.as_mut() {
            match (&figures.histogram_corrected, &figures.latency_corrected_ms) {
                (Some(encoded), Some(summary)) => {
                    sum.merge(&decode(source, what, encoded, summary)?);
                }
                _ => corrected = None,
            }
        }
    }
    Ok(Figures {
        requests,
        violations,
        rps: if duration_s > 0.0 {
            requests.pass as f64 / duration_s
        } else {
            0.0
        },
        latency_ms: LatencyMs::new(&latency),
        latency_corrected_ms: corrected.as_ref().map(LatencyMs::new),
        histogram: latency.encode(),
        histogram_corrected: corrected.as_ref().map(Latency::encode),
    })
}

fn worker_row(source: &str, report: &Report, agreed_start: f64) -> WorkerRow {
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

fn stopped_by(reports: &[(String, Report)]) -> StopReason {
    let reasons: Vec<StopReason> = reports.iter().map(|(_, r)| r.stopped_by).collect();
    if reasons.contains(&StopReason::Signal) {
        StopReason::Signal
    } else if reasons.iter().all(|r| *r == StopReason::Loops) {
        StopReason::Loops
    } else {
        StopReason::Duration
    }
}

fn sum_options(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    values.reduce(|a, b| Some(a? + b?)).flatten()
}

fn merge_workloads(reports: &[(String, Report)]) -> WorkloadReport {
    let first = &reports[0].1.workload;
    let all = || reports.iter().map(|(_, r)| &r.workload);
    WorkloadReport {
        model: first.model.clone(),
        users: all().map(|w| w.users).sum(),
        loops: first.loops,
        rate: sum_options(all().map(|w| w.rate)),
        spawn_rate: sum_options(all().map(|w| w.spawn_rate)),
        duration_limit_s: first.duration_limit_s,
        wait: first.wait.clone(),
        timeout_s: first.timeout_s,
        threads: all().map(|w| w.threads).sum(),
    }
}

fn merge_open(reports: &[(String, Report)]) -> Option<OpenFigures> {
    reports
        .iter()
        .map(|(_, r)| r.open_model)
        .reduce(|a, b| {
            let (a, b) = (a?, b?);
            Some(OpenFigures {
                rate: a.rate + b.rate,
                scheduled: a.scheduled + b.scheduled,
                started: a.started + b.started,
                late: a.late + b.late,
                dropped: a.dropped + b.dropped,
            })
        })
        .flatten()
}

fn merge_reasons(reports: &[(String, Report)]) -> Vec<FailureReason> {
    let mut united: Vec<FailureReason> = Vec::new();
    for (_, report) in reports {
        for reason in &report.failure_reasons {
            if let Some(known) = united.iter_mut().find(|known| {
                known.name == reason.name
                    && known.outcome == reason.outcome
                    && known.reason == reason.reason
            }) {
                known.count += reason.count;
            } else if united.len() < MAX_REASONS {
                united.push(reason.clone());
            }
        }
    }
    united
}

fn merge_self_checks(reports: &[(String, Report)]) -> SelfCheckReport {
    let all = || reports.iter().map(|(_, r)| &r.self_check);
    let max = |field: fn(&LagMs) -> f64| {
        all()
            .map(|c| field(&c.scheduler_lag_ms))
            .fold(0.0, f64::max)
    };
    SelfCheckReport {
        cpu_percent: sum_options(all().map(|c| c.cpu_percent)),
        cores: all().map(|c| c.cores).sum(),
        scheduler_lag_ms: LagMs {
            p50: max(|l| l.p50),
            p99: max(|l| l.p99),
            max: max(|l| l.max),
        },
        suspect: false,
        notes: Vec::new(),
    }
}

/// Interval `k` of the merged timeline covers whole ticks `k..k+1` after the merged start; a
/// worker's interval joins the tick its wall-clock start rounds to.
fn merge_intervals(reports: &[(String, Report)], start: f64) -> Vec<Interval> {
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
    let passes = sum.pass + row.pass;
    if passes > 0 {
        sum.mean_ms =
            (sum.mean_ms * sum.pass as f64 + row.mean_ms * row.pass as f64) / passes as f64;
    }
    sum.total += row.total;
    sum.pass = passes;
    sum.fail += row.fail;
    sum.exception += row.exception;
    sum.timeout += row.timeout;
    sum.leak += row.leak;
    sum.lost_write += row.lost_write;
    sum.corrupt += row.corrupt;
    sum.rps += row.rps;
    sum.p50_ms = sum.p50_ms.max(row.p50_ms);
    sum.p90_ms = sum.p90_ms.max(row.p90_ms);
    sum.p99_ms = sum.p99_ms.max(row.p99_ms);
    sum.max_ms = sum.max_ms.max(row.max_ms);
    sum.corrected_p99_ms = match (sum.corrected_p99_ms, row.corrected_p99_ms) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
}

fn merge_evidence(
    reports: &[(String, Report)],
    start: f64,
) -> Vec<crate::scenario::cities::evidence::Evidence> {
    let mut united: Vec<_> = reports
        .iter()
        .flat_map(|(_, report)| {
            let offset = report.started_at_unix_s - start;
            report.evidence.iter().map(move |evidence| {
                let mut evidence = evidence.clone();
                evidence.since_start_s += offset;
                evidence
            })
        })
        .collect();
    united.sort_by(|a, b| a.since_start_s.total_cmp(&b.since_start_s));
    united
}

/// Each worker scored its own users' reads and leaks against the same journal: the counts add up,
/// the journal is one.
fn merge_scores(reports: &[(String, Report)]) -> Option<Score> {
    let scores: Vec<&Score> = reports
        .iter()
        .filter_map(|(_, r)| r.score.as_ref())
        .collect();
    if scores.len() != reports.len() {
        return None;
    }
    let sum = |field: fn(&Score) -> usize| scores.iter().map(|s| field(s)).sum::<usize>();
    let ratio = |part: usize, whole: usize| (whole > 0).then(|| part as f64 / whole as f64);
    let (reads, detected) = (sum(|s| s.cross_user_reads), sum(|s| s.reads_detected));
    let (reported, confirmed) = (sum(|s| s.leaks_reported), sum(|s| s.leaks_confirmed));
    Some(Score {
        journal_entries: scores.iter().map(|s| s.journal_entries).max().unwrap_or(0),
        cross_user_reads: reads,
        cross_user_writes: sum(|s| s.cross_user_writes),
        reads_detected: detected,
        recall: ratio(detected, reads),
        leaks_reported: reported,
        leaks_confirmed: confirmed,
        precision: ratio(confirmed, reported),
        journal_overflowed: scores.iter().any(|s| s.journal_overflowed),
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use clap::Parser;
    use proptest::prelude::*;

    use super::*;
    use crate::{
        checks::Outcome,
        cli::Cli,
        plan::Plan,
        runner::Run,
        stats::{Quantile, Timing, Window},
    };

    /// Worker `index` of 3's report of `samples` (microseconds), all passed, one request name.
    fn report(index: usize, samples: &[u64], started_at: SystemTime) -> Report {
        let words = format!("loadgen json --users 3 --workers 3 --worker-index {index} --run-id t");
        let plan = Plan::from_cli(Cli::try_parse_from(words.split_whitespace()).unwrap()).unwrap();
        let mut totals = Window::new(1);
        for &us in samples {
            totals.record(0, Outcome::Pass, Timing::closed(Duration::from_micros(us)));
        }
        let run = Run {
            steps: vec!["json".into()],
            started_at,
            duration: Duration::from_secs(2),
            stopped_by: StopReason::Duration,
            intervals: vec![Interval::new(
                &["json".into()],
                &totals,
                Duration::ZERO,
                Duration::from_secs(2),
                0,
                1,
                false,
            )],
            totals,
            iterations: samples.len() as u64,
            open: None,
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
        Report::new(&plan, run)
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
            prop_assert_eq!(l.count, samples.len() as u64);
            prop_assert_eq!(l.p50, ms(Quantile::P50));
            prop_assert_eq!(l.p90, ms(Quantile::P90));
            prop_assert_eq!(l.p99, ms(Quantile::P99));
            prop_assert_eq!(l.p999, ms(Quantile::P999));
            prop_assert_eq!(l.max, crate::stats::millis(one.max()));
            prop_assert_eq!(l.min, crate::stats::millis(one.min()));
            // Each worker's mean is exact to the nanosecond, the merged one to two.
            prop_assert!((l.mean - crate::stats::millis(one.mean())).abs() <= 2e-6 + 1e-12);
            prop_assert_eq!(merged.figures.requests.pass, samples.len() as u64);
            prop_assert!(merged.warnings_free_of_missing());
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
        assert_eq!(warnings, ["merged 2 of 3 workers; missing worker(s) 1"]);
        let row = &report.workers[1];
        assert_eq!(row.index, Some(2));
        assert!(
            row.suspect && row.notes[0].contains("late"),
            "{:?}",
            row.notes
        );
        assert!(report.self_check.suspect);
        assert!(
            (report.duration_s - 5.0).abs() < 1e-6,
            "first start to last stop"
        );
        assert_eq!(
            report.intervals.len(),
            2,
            "the late worker's interval is 3 ticks later"
        );
        assert!(render_workers(&report).contains("SUSPECT: started 3.000 s late"));
    }
}
