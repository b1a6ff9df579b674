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

mod timeline;
mod workers;

use std::collections::BTreeMap;

use super::{
    Endpoint, FailureReason, FaultSwitchAt, Figures, LatencyMs, Report, Requests, Violations,
    WorkloadReport,
};
use crate::{
    scenario::{cities::score::Score, findings::PreflightFigures},
    selfcheck::{LagMs, SelfCheckReport},
    stats::{DecodeError, Latency, window::MAX_REASONS},
    summary::{OpenFigures, StopReason},
    thresholds::Threshold,
};

use timeline::merge_intervals;
use workers::worker_row;
pub use workers::{LATE_AFTER_S, WorkerRow, render_workers};

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
        leaked_records: reports
            .iter()
            .filter_map(|(_, r)| r.leaked_records)
            .reduce(|a, b| a + b),
        redirects_followed: reports.iter().map(|(_, r)| r.redirects_followed).sum(),
        hints: merge_hints(&reports),
        ledger: None,
        allowed: Vec::new(),
        workers: rows,
        command_line: None,
        preflight_s: None,
        preflight: merge_preflights(&reports),
        interrupted_by: reports.iter().find_map(|(_, r)| r.interrupted_by),
        in_flight_at_stop: reports.iter().map(|(_, r)| r.in_flight_at_stop).sum(),
        tested_nothing: None,
        fault_switches: merge_fault_switches(&reports, start),
    };
    let mut report = report;
    report.tested_nothing = report.nothing_passed();
    Ok(Merged { report, warnings })
}

/// Every worker's fault switches on the merged time axis, oldest first; a switch that several
/// workers saw (the same server) once.
fn merge_fault_switches(reports: &[(String, Report)], start: f64) -> Vec<FaultSwitchAt> {
    let mut switches: Vec<FaultSwitchAt> = Vec::new();
    for (_, report) in reports {
        let offset = report.started_at_unix_s - start;
        for switch in &report.fault_switches {
            let at_s = switch.at_s + offset;
            let seen = switches
                .iter()
                .any(|s| (s.at_s - at_s).abs() < 0.002 && s.on == switch.on && s.off == switch.off);
            if !seen {
                switches.push(FaultSwitchAt {
                    at_s,
                    ..switch.clone()
                });
            }
        }
    }
    switches.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    switches
}

/// Every worker's hints, each text once.
fn merge_hints(reports: &[(String, Report)]) -> Vec<String> {
    let mut hints: Vec<String> = Vec::new();
    for (_, report) in reports {
        for hint in &report.hints {
            if !hints.contains(hint) {
                hints.push(hint.clone());
            }
        }
    }
    hints
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
    Latency::decode_exact(
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
        timeout: 0,
        violation: 0,
    };
    let mut violations = Violations {
        leak: 0,
        lost_write: 0,
        corrupt: 0,
        denied: 0,
        anonymous: 0,
        resurrect: 0,
        timeout: 0,
    };
    let mut latency = Latency::new();
    let mut corrected = open.then(Latency::new);
    let mut status_codes = std::collections::BTreeMap::new();
    for (source, figures) in parts {
        for (code, count) in &figures.status_codes {
            *status_codes.entry(code.clone()).or_insert(0) += count;
        }
        let r = figures.requests;
        requests.total += r.total;
        requests.pass += r.pass;
        requests.fail += r.fail;
        requests.exception += r.exception;
        requests.violation += r.violation;
        requests.timeout += r.timeout;
        let v = figures.violations;
        violations.leak += v.leak;
        violations.lost_write += v.lost_write;
        violations.corrupt += v.corrupt;
        violations.denied += v.denied;
        violations.anonymous += v.anonymous;
        violations.resurrect += v.resurrect;
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
        status_codes,
    })
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

/// Every worker's preflight requests, summed per step name in first-seen order.
fn merge_preflights(reports: &[(String, Report)]) -> Option<PreflightFigures> {
    let mut merged: Option<PreflightFigures> = None;
    for preflight in reports.iter().filter_map(|(_, r)| r.preflight.as_ref()) {
        let sum = merged.get_or_insert_with(PreflightFigures::default);
        sum.users += preflight.users;
        for step in &preflight.requests {
            match sum.requests.iter_mut().find(|s| s.name == step.name) {
                Some(known) => known.count += step.count,
                None => sum.requests.push(step.clone()),
            }
        }
    }
    merged
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
mod tests;
