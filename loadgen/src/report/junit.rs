//! `--junit-out`: JUnit XML, the format GitLab, Jenkins and GitHub test reporters read, so a load
//! test's verdicts show up beside the unit tests. Validated against `fixtures/junit.xsd`.
//!
//! A run (or a merged run) is one `<testsuite>` with one test case per threshold, per violation
//! class (its first evidence as the failure message) and per request name's checks (a failed
//! check is a failure, with the first distinct reason); a comparison is one test case per
//! `--max-regression` limit.

use std::fmt::Write as _;

use super::{Report, compare::Comparison};
use crate::report::findings::ViolationClass;

/// A test case.
#[derive(Debug, Clone)]
pub struct Case {
    pub classname: String,
    pub name: String,
    pub failure: Option<Failure>,
    pub system_out: Option<String>,
}

/// Why a test case failed.
#[derive(Debug, Clone)]
pub struct Failure {
    /// One line.
    pub message: String,
    /// A word: `threshold`, `leak`, `check`, `regression`.
    pub kind: String,
    /// The details, as many lines as needed.
    pub text: String,
}

/// A test suite.
#[derive(Debug, Clone)]
pub struct Suite {
    pub name: String,
    /// RFC 3339, seconds.
    pub timestamp: String,
    pub time_s: f64,
    pub properties: Vec<(String, String)>,
    pub cases: Vec<Case>,
}

/// The suite of a run or merged run; `fails_on` says which violation classes fail it.
pub fn of_report(report: &Report, fails_on: impl Fn(ViolationClass) -> bool) -> Suite {
    let classname = format!("loadgen.{}", report.scenario);
    let mut cases = Vec::new();
    for verdict in &report.thresholds {
        let actual = verdict
            .actual
            .map_or_else(|| "no data".to_owned(), |a| format!("{a:.3}"));
        cases.push(Case {
            classname: format!("{classname}.thresholds"),
            name: verdict.threshold.clone(),
            failure: (!verdict.passed).then(|| Failure {
                message: format!("threshold {} breached (actual {actual})", verdict.threshold),
                kind: "threshold".into(),
                text: format!("{}: actual {actual}", verdict.threshold),
            }),
            system_out: Some(format!("actual {actual}")),
        });
    }
    let v = report.figures.violations;
    for (class, count) in ViolationClass::ALL.into_iter().zip([
        v.leak,
        v.lost_write,
        v.corrupt,
        v.denied,
        v.anonymous,
        v.resurrect,
        v.timeout,
    ]) {
        let failing = count > 0 && fails_on(class);
        let first = report.evidence.iter().find(|e| e.class == class.as_str());
        cases.push(Case {
            classname: format!("{classname}.violations"),
            name: class.as_str().to_owned(),
            failure: failing.then(|| Failure {
                message: first.map_or_else(
                    || format!("{count} {}", class.as_str()),
                    |e| format!("{count} {}; first: {}", class.as_str(), e.message),
                ),
                kind: class.as_str().to_owned(),
                text: first.map_or_else(String::new, |e| {
                    format!(
                        "request: {}\nexpected: {}\nactual: {}\nobserver: user {} (account {})\n\
                         victim: {} (account {})\nat {:.3} s, {} in flight",
                        e.request,
                        e.expected,
                        e.actual,
                        e.observer,
                        e.observer_account.as_deref().unwrap_or("unknown"),
                        e.victim
                            .map_or_else(|| "none".to_owned(), |u| format!("user {u}")),
                        e.victim_account.as_deref().unwrap_or("unknown"),
                        e.since_start_s,
                        e.in_flight
                    )
                }),
            }),
            system_out: (count > 0 && !failing)
                .then(|| format!("{count} {} (allowed)", class.as_str())),
        });
    }
    for endpoint in &report.endpoints {
        let requests = endpoint.figures.requests;
        let reason = report
            .failure_reasons
            .iter()
            .find(|r| r.name == endpoint.name && r.outcome == "fail");
        cases.push(Case {
            classname: format!("{classname}.checks"),
            name: endpoint.name.clone(),
            failure: (requests.fail > 0).then(|| Failure {
                message: format!(
                    "{} of {} `{}` requests failed their checks{}",
                    requests.fail,
                    requests.total,
                    endpoint.name,
                    reason.map_or_else(String::new, |r| format!(": {}", r.reason))
                ),
                kind: "check".into(),
                text: reason.map_or_else(String::new, |r| format!("{} x {}", r.count, r.reason)),
            }),
            system_out: Some(format!(
                "total {}, pass {}, fail {}, exception {}, violation {}",
                requests.total,
                requests.pass,
                requests.fail,
                requests.exception,
                requests.violation
            )),
        });
    }
    let mut properties = vec![
        ("run_id".to_owned(), report.run_id.clone()),
        ("target".to_owned(), report.target.clone()),
        (
            "requests".to_owned(),
            report.figures.requests.total.to_string(),
        ),
        ("rps".to_owned(), format!("{:.2}", report.figures.rps)),
        (
            "p99_ms".to_owned(),
            format!("{:.3}", report.figures.latency_ms.p99),
        ),
    ];
    if !report.workers.is_empty() {
        properties.push(("workers".to_owned(), report.workers.len().to_string()));
    }
    Suite {
        name: format!("loadgen {} {}", report.scenario, report.run_id),
        timestamp: timestamp(report.started_at_unix_s),
        time_s: report.duration_s,
        properties,
        cases,
    }
}

/// The suite of a comparison: one case per limit.
pub fn of_comparison(comparison: &Comparison) -> Suite {
    let cases = comparison
        .verdicts
        .iter()
        .map(|verdict| Case {
            classname: "loadgen.compare".into(),
            name: verdict.limit.clone(),
            failure: verdict.regressed.then(|| Failure {
                message: verdict.describe(),
                kind: "regression".into(),
                text: verdict.describe(),
            }),
            system_out: Some(verdict.describe()),
        })
        .collect();
    Suite {
        name: format!(
            "loadgen compare {} {}",
            comparison.baseline.label, comparison.current.label
        ),
        timestamp: timestamp(comparison.current.started_at_unix_s),
        time_s: 0.0,
        properties: vec![
            ("baseline".into(), comparison.baseline.label.clone()),
            ("current".into(), comparison.current.label.clone()),
        ],
        cases,
    }
}

/// The XML document.
pub fn render(suites: &[Suite]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let tests: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failed: usize = suites.iter().map(failures).sum();
    let time: f64 = suites.iter().map(|s| s.time_s).sum();
    let _ = writeln!(
        out,
        "<testsuites name=\"loadgen\" tests=\"{tests}\" failures=\"{failed}\" errors=\"0\" time=\"{time:.3}\">"
    );
    for (id, suite) in suites.iter().enumerate() {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" id=\"{id}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" time=\"{:.3}\" timestamp=\"{}\" hostname=\"{}\">",
            escape(&suite.name),
            suite.cases.len(),
            failures(suite),
            suite.time_s.max(0.0),
            escape(&suite.timestamp),
            escape(&hostname()),
        );
        out.push_str("    <properties>\n");
        for (name, value) in &suite.properties {
            let _ = writeln!(
                out,
                "      <property name=\"{}\" value=\"{}\"/>",
                escape(name),
                escape(value)
            );
        }
        out.push_str("    </properties>\n");
        for case in &suite.cases {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"0\">",
                escape(&case.classname),
                escape(&case.name)
            );
            if let Some(failure) = &case.failure {
                let _ = write!(
                    out,
                    "\n      <failure message=\"{}\" type=\"{}\">{}</failure>",
                    escape(&failure.message),
                    escape(&failure.kind),
                    escape(&failure.text)
                );
            }
            if let Some(text) = &case.system_out {
                let _ = write!(out, "\n      <system-out>{}</system-out>", escape(text));
            }
            out.push_str("\n    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Writes `suites` to `path`.
pub fn write(suites: &[Suite], path: &std::path::Path) -> std::io::Result<()> {
    std::fs::write(path, render(suites))
}

fn failures(suite: &Suite) -> usize {
    suite.cases.iter().filter(|c| c.failure.is_some()).count()
}

/// A Unix time as RFC 3339 (seconds).
pub fn timestamp(unix_s: f64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_s as i64)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// XML text and attribute escaping; control characters XML 1.0 forbids become U+FFFD.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' => out.push(c),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes_are_escaped() {
        assert_eq!(
            escape("a<b & \"c\"\u{1}"),
            "a&lt;b &amp; &quot;c&quot;\u{FFFD}",
            "XML special characters are escaped and control characters replaced"
        );
    }

    #[test]
    fn counts_add_up_over_suites() {
        let case = |failed: bool| Case {
            classname: "c".into(),
            name: "n".into(),
            failure: failed.then(|| Failure {
                message: "m".into(),
                kind: "k".into(),
                text: String::new(),
            }),
            system_out: None,
        };
        let suite = Suite {
            name: "s".into(),
            timestamp: timestamp(0.0),
            time_s: 1.5,
            properties: vec![],
            cases: vec![case(true), case(false)],
        };
        let xml = render(&[suite]);
        assert!(
            xml.contains("<testsuites name=\"loadgen\" tests=\"2\" failures=\"1\""),
            "{xml}"
        );
        assert!(xml.contains("timestamp=\"1970-01-01T00:00:00Z\""), "{xml}");
        assert_eq!(
            xml.matches("<failure ").count(),
            1,
            "one failure element for the one breached check: {xml}"
        );
    }
}
