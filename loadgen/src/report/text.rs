//! The final summary on stdout: the first article's lines word for word, then a percentile table
//! per request name, the open model's figures, violations, failure reasons, the self-check and the
//! thresholds.
//!
//! ```text
//! -----Test Statistics-----
//! Thu Aug  8 16:48:28 2019 UTC
//! Total requests: 10, pass: 10, fail: 0, exception: 0
//! For pass requests:
//! Request per Second - mean: 8.88
//! Time per Request - mean: 0.212440, min: 0.200249, max: 0.228889
//! ```

use std::fmt::Write;

use time::OffsetDateTime;

use super::{LatencyMs, Report};

/// Renders the whole summary.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let figures = &report.figures;
    let requests = &figures.requests;
    let _ = writeln!(out, "\n-----Test Statistics-----");
    let _ = writeln!(
        out,
        "{}",
        asctime(report.started_at_unix_s + report.duration_s)
    );
    // The article's line, then what it lacks, so the line adds up: total = pass + fail +
    // exception + violation, each request counted once; timeouts are inside exception.
    let _ = write!(
        out,
        "Total requests: {}, pass: {}, fail: {}, exception: {}",
        requests.total, requests.pass, requests.fail, requests.exception
    );
    if requests.violation > 0 || report.scenario != "json" {
        let _ = write!(out, ", violation: {}", requests.violation);
    }
    if requests.timeout > 0 {
        let _ = write!(
            out,
            " (exception includes {} timeout{})",
            requests.timeout,
            plural(requests.timeout)
        );
    }
    out.push('\n');
    if report.in_flight_at_stop > 0 {
        let _ = writeln!(
            out,
            "In flight at the stop: {} (unanswered; counted above only as timeouts when older than --timeout)",
            report.in_flight_at_stop
        );
    }
    if requests.pass > 0 {
        let latency = &figures.latency_ms;
        let _ = writeln!(out, "For pass requests:");
        let _ = writeln!(out, "Request per Second - mean: {:.2}", figures.rps);
        let _ = writeln!(
            out,
            "Time per Request - mean: {:.6} s, min: {:.6} s, max: {:.6} s",
            latency.mean / 1e3,
            latency.min / 1e3,
            latency.max / 1e3
        );
    }
    let violations = &figures.violations;
    if requests.violation > 0 || report.scenario != "json" {
        let _ = writeln!(
            out,
            "Violations - leak: {}, lost_write: {}, corrupt: {}, denied: {}, anonymous: {}, resurrect: {} (timeouts are not violations: they are in exception)",
            violations.leak,
            violations.lost_write,
            violations.corrupt,
            violations.denied,
            violations.anonymous,
            violations.resurrect
        );
        if let Some(at) = report.first_violation_after_s {
            let _ = writeln!(out, "First violation after: {at:.3} s");
        }
    }
    let preflight = report
        .preflight_s
        .map(|seconds| format!("; preflight {seconds:.1} s before it"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "Total test time: {:.3} seconds (stopped by {}{preflight}).",
        report.duration_s,
        report.stopped_by.as_str()
    );

    let rows: Vec<(&str, &LatencyMs, u64, f64)> = report
        .endpoints
        .iter()
        .map(|e| {
            (
                e.name.as_str(),
                &e.figures.latency_ms,
                e.figures.requests.total,
                e.figures.rps,
            )
        })
        .chain(std::iter::once((
            "all",
            &figures.latency_ms,
            requests.total,
            figures.rps,
        )))
        .collect();
    table(&mut out, "Latency of passed requests (ms)", &rows);
    status_table(&mut out, report);
    if let Some(note) = preflight_note(report) {
        let _ = writeln!(out, "{note}");
    }
    if figures.latency_corrected_ms.is_some() {
        let corrected: Vec<(&str, &LatencyMs, u64, f64)> = report
            .endpoints
            .iter()
            .filter_map(|e| {
                e.figures
                    .latency_corrected_ms
                    .as_ref()
                    .map(|l| (e.name.as_str(), l, e.figures.requests.total, e.figures.rps))
            })
            .chain(
                figures
                    .latency_corrected_ms
                    .as_ref()
                    .map(|l| ("all", l, requests.total, figures.rps)),
            )
            .collect();
        table(
            &mut out,
            "Corrected latency, from each intended start (ms)",
            &corrected,
        );
    }
    if let Some(open) = &report.open_model {
        let _ = writeln!(
            out,
            "\nOpen model: rate {:.2}/s, scheduled {}, started {}, late {}, dropped {}",
            open.rate, open.scheduled, open.started, open.late, open.dropped
        );
        if open.dropped > 0 {
            let _ = writeln!(out, "  warning: {}", dropped_warning(report, open));
        }
    }
    if !report.failure_reasons.is_empty() {
        let _ = writeln!(out, "\nFirst distinct failure reasons:");
        for reason in &report.failure_reasons {
            let _ = writeln!(
                out,
                "  {:>8} x {} {}: {}",
                reason.count, reason.name, reason.outcome, reason.reason
            );
        }
    }
    out.push_str(&super::merge::render_workers(report));
    let check = &report.self_check;
    let cpu = check
        .cpu_percent
        .map_or_else(|| "n/a".to_owned(), |c| format!("{c:.0} %"));
    let _ = writeln!(
        out,
        "\nSelf-check: CPU {cpu} of {} core(s), scheduler lag p99 {:.2} ms, max {:.2} ms: {}",
        check.cores,
        check.scheduler_lag_ms.p99,
        check.scheduler_lag_ms.max,
        if check.suspect { "SUSPECT" } else { "ok" }
    );
    for note in &check.notes {
        let _ = writeln!(out, "  warning: {note}; figures are suspect");
    }
    if check.suspect {
        let _ = writeln!(out, "  {SUSPECT_MEANS}");
    }
    if !report.thresholds.is_empty() {
        let _ = writeln!(out, "\nThresholds:");
        for verdict in &report.thresholds {
            let actual = verdict
                .actual
                .map_or_else(|| "no data".to_owned(), |a| unit_of(&verdict.threshold)(a));
            let _ = writeln!(
                out,
                "  {} {} (actual {actual})",
                if verdict.passed { "ok    " } else { "BREACH" },
                verdict.threshold
            );
        }
    }
    out
}

/// What "suspect" means, said once where the self-check says it.
pub const SUSPECT_MEANS: &str = "SUSPECT means the generator itself was busy (its CPU near full, or its \
    tasks woken late), so the latencies may include its own delay: read them as upper bounds. The \
    counts, the checks and the verdict are unaffected: suspect figures do not change the exit code.";

/// The summary's warning when the open model dropped iterations.
pub fn dropped_warning(report: &Report, open: &crate::summary::OpenFigures) -> String {
    format!(
        "{} of {} scheduled iterations were dropped: all {} users (--max-users) were busy, so the \
         rate of {:.2}/s was not offered; raise --max-users, or gate the run with --threshold 'dropped<1'",
        thousands(open.dropped),
        thousands(open.scheduled),
        report.workload.users,
        open.rate
    )
}

/// How a threshold's actual value reads: milliseconds for latencies, a share for `fail_rate`,
/// per second for `rps`, a count otherwise.
fn unit_of(threshold: &str) -> fn(f64) -> String {
    use crate::thresholds::{Metric, Threshold};
    match Threshold::parse(threshold).map(|t| t.metric) {
        Ok(Metric::Latency(_)) => |ms| format!("{ms:.3} ms"),
        Ok(Metric::FailRate) => |share| format!("{share:.4}, {:.2} %", share * 100.0),
        Ok(Metric::Rps) => |rps| format!("{rps:.2} req/s"),
        _ => |count| thousands(count as u64),
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn table(out: &mut String, title: &str, rows: &[(&str, &LatencyMs, u64, f64)]) {
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(4).max(4);
    let _ = writeln!(out, "\n{title}");
    let _ = writeln!(
        out,
        "{:<width$} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "name", "requests", "req/s", "min", "mean", "p50", "p90", "p95", "p99", "p99.9", "max"
    );
    for (name, l, total, rps) in rows {
        if l.count == 0 {
            // Zeros would read as instant answers: say there is nothing to measure.
            let _ = writeln!(
                out,
                "{name:<width$} {total:>9} {rps:>9.2}  {NO_PASSED_REQUEST}"
            );
            continue;
        }
        let _ = writeln!(
            out,
            "{name:<width$} {total:>9} {rps:>9.2} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
            l.min, l.mean, l.p50, l.p90, l.p95, l.p99, l.p999, l.max
        );
    }
}

/// What a latency row says when no request of its name passed (latencies are of passed ones).
pub const NO_PASSED_REQUEST: &str = "no passed request";

/// Says what the step tables leave out: the preflight's requests, sent before the load, and its
/// logged-in users, whom the load took over without signing them up again (so `register 18` for
/// `--users 20` reads as intended).
pub fn preflight_note(report: &Report) -> Option<String> {
    let preflight = report.preflight.as_ref()?;
    let total: u64 = preflight.requests.iter().map(|s| s.count).sum();
    let steps: Vec<String> = preflight
        .requests
        .iter()
        .map(|s| format!("{} {}", s.name, thousands(s.count)))
        .collect();
    let mut note = format!(
        "Not in these tables: the preflight's {} request{} before the load ({})",
        thousands(total),
        plural(total),
        steps.join(", ")
    );
    if preflight.users > 0 {
        let _ = write!(
            note,
            "; the load went on with its {} logged-in user{}, without signing up or logging in again",
            preflight.users,
            plural(preflight.users)
        );
    }
    note.push('.');
    Some(note)
}

/// Answers per status code for each request name and for all (`200: 14,000, 404: 3`), as oha
/// prints its distribution; nothing for a report written before codes were counted.
fn status_table(out: &mut String, report: &Report) {
    let rows: Vec<(&str, String)> = report
        .endpoints
        .iter()
        .map(|e| (e.name.as_str(), &e.figures))
        .chain([("all", &report.figures)])
        .filter_map(|(name, figures)| Some((name, figures.status_line()?)))
        .collect();
    if rows.is_empty() {
        return;
    }
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(4).max(4);
    let _ = writeln!(out, "\nStatus codes (answers per code)");
    for (name, line) in rows {
        let _ = writeln!(out, "{name:<width$} {line}");
    }
}

/// `Thu Aug  8 16:48:28 2019 UTC`, the article's `time.asctime()` in UTC.
fn asctime(unix_s: f64) -> String {
    let Ok(t) = OffsetDateTime::from_unix_timestamp(unix_s as i64) else {
        return String::new();
    };
    let weekday = t.weekday().to_string();
    let month = t.month().to_string();
    format!(
        "{} {} {:>2} {:02}:{:02}:{:02} {} UTC",
        &weekday[..3],
        &month[..3],
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.year()
    )
}

pub use shared::format::thousands;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{
        checks::Outcome,
        stats::{Timing, Window},
    };

    fn answered(code: u16) -> Timing {
        Timing {
            status: Some(code),
            ..Timing::closed(Duration::from_millis(3))
        }
    }

    #[test]
    fn each_request_name_lists_its_status_codes_and_the_unanswered() {
        let mut totals = Window::new(2);
        (0..3).for_each(|_| totals.record(0, Outcome::Pass, answered(200)));
        totals.record(0, Outcome::Fail, answered(404));
        totals.record(1, Outcome::Leak, answered(200));
        totals.record(1, Outcome::Timeout, Timing::closed(Duration::from_secs(1)));
        let report = super::super::sample::report(&["read", "list"], totals);
        let summary = render(&report);
        assert!(
            summary.contains("read 200: 3, 404: 1\n"),
            "the read row lists its codes: {summary}"
        );
        assert!(
            summary.contains("list 200: 1, no answer: 1\n"),
            "the list row counts the timeout as unanswered: {summary}"
        );
        assert!(
            summary.contains("all  200: 4, 404: 1, no answer: 1\n"),
            "the all row adds up to the 6 requests: {summary}"
        );
    }

    #[test]
    fn a_name_without_a_passed_request_says_so_instead_of_zeros() {
        let mut totals = Window::new(2);
        totals.record(0, Outcome::Pass, answered(200));
        totals.record(1, Outcome::Leak, answered(200));
        let report = super::super::sample::report(&["read", "list"], totals);
        let summary = render(&report);
        let list = summary
            .lines()
            .find(|line| line.starts_with("list ") && !line.contains(':'))
            .unwrap_or_default();
        assert!(
            list.ends_with(NO_PASSED_REQUEST) && !list.contains("0.000"),
            "the list row has no latency to show: {summary}"
        );
    }

    #[test]
    fn the_preflights_requests_and_users_are_named_under_the_tables() {
        use crate::scenario::findings::{PreflightFigures, StepCount};
        let mut report = super::super::sample::report(&["register"], Window::new(1));
        report.preflight = Some(PreflightFigures {
            requests: vec![StepCount {
                name: "register".into(),
                count: 2,
            }],
            users: 2,
        });
        let summary = render(&report);
        assert!(
            summary.contains(
                "Not in these tables: the preflight's 2 requests before the load (register 2); \
                 the load went on with its 2 logged-in users, without signing up or logging in again."
            ),
            "the summary says what the tables leave out: {summary}"
        );
    }
}
