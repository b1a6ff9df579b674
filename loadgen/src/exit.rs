//! The exit status of a run, the one place that maps a finished [`Report`] (and the signal that
//! stopped it, if any) to the process's exit code.
//!
//! The codes, agreed across racebench and documented in docs/guide/loadgen-json.md ("Exit codes"):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | clean: requests passed, every threshold holds, no violation |
//! | 1 | violations found or a threshold breached |
//! | 2 | usage or set-up error: bad flag, preflight mismatch, target unreachable at start |
//! | 3 | the run tested nothing: no request passed a check (or a scenario's own reason) |
//! | 130 | interrupted by SIGINT, after printing and writing every report |
//! | 143 | interrupted by SIGTERM, likewise |
//!
//! Precedence: a signal wins (a cancelled CI job must not look like success), then violations
//! (a proven contradiction stands whatever else happened), then "tested nothing" (a threshold read
//! over requests that never passed says nothing), then breached thresholds.

use std::process::ExitCode;

use shared::format::thousands;

use crate::{report::Report, runner::stop::Signal};

/// `leaks`, `lost writes`, `corrupt answers`: a violation class counted in words.
fn plural_class(class: &str, count: u64) -> String {
    let one = count == 1;
    match class {
        "leak" if one => "leak".to_owned(),
        "leak" => "leaks".to_owned(),
        "lost_write" if one => "lost write".to_owned(),
        "lost_write" => "lost writes".to_owned(),
        "corrupt" if one => "corrupt answer".to_owned(),
        "corrupt" => "corrupt answers".to_owned(),
        other => other.to_owned(),
    }
}

/// How a run ended, for the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// 0.
    Clean,
    /// 1: the messages name each violation class or breached threshold.
    Failed(Vec<String>),
    /// 2: the message is the whole explanation.
    Setup(String),
    /// 3: one line saying why nothing was tested.
    TestedNothing(String),
    /// 130 or 143.
    Interrupted(Signal),
}

impl Exit {
    /// Judges a finished run: `violations` are the messages of the violation classes that fail it,
    /// `breaches` those of its breached thresholds, `signal` the signal that stopped it.
    pub fn judge(
        report: &Report,
        violations: Vec<String>,
        breaches: Vec<String>,
        signal: Option<Signal>,
    ) -> Exit {
        if let Some(signal) = signal {
            return Exit::Interrupted(signal);
        }
        if !violations.is_empty() {
            return Exit::Failed(violations.into_iter().chain(breaches).collect());
        }
        if let Some(reason) = &report.tested_nothing {
            return Exit::TestedNothing(reason.clone());
        }
        if !breaches.is_empty() {
            return Exit::Failed(breaches);
        }
        Exit::Clean
    }

    /// The process exit code.
    pub fn code(&self) -> u8 {
        match self {
            Exit::Clean => 0,
            Exit::Failed(_) => 1,
            Exit::Setup(_) => 2,
            Exit::TestedNothing(_) => 3,
            Exit::Interrupted(Signal::Interrupt) => 130,
            Exit::Interrupted(Signal::Terminate) => 143,
        }
    }

    /// The run's last line: the verdict and why, with the exit code when it is not 0.
    /// `PASS: 14,999 requests, 0 failed, 0 violations, 2 thresholds met` or
    /// `FAIL: 240 leaks (violations), exit 1`.
    pub fn verdict(&self, report: &Report) -> String {
        let requests = &report.figures.requests;
        let failed = requests.fail + requests.exception;
        let thresholds = report.thresholds.len();
        let counts = format!(
            "{} requests, {} failed, {} violations",
            thousands(requests.total),
            thousands(failed),
            thousands(requests.violation)
        );
        match self {
            Exit::Clean => {
                let held = match thresholds {
                    0 => "no threshold set".to_owned(),
                    1 => "1 threshold met".to_owned(),
                    n => format!("{n} thresholds met"),
                };
                let allowed = if requests.violation > 0 {
                    format!(" (allowed: --allow {})", report.allowed.join(", --allow "))
                } else {
                    String::new()
                };
                format!("PASS: {counts}{allowed}, {held}")
            }
            Exit::Failed(_) => {
                let mut why = Vec::new();
                let classes: Vec<String> = crate::report::findings::failing(report)
                    .into_iter()
                    .filter(|(class, _)| *class != "timeout")
                    .map(|(class, count)| {
                        format!("{} {}", thousands(count), plural_class(class, count))
                    })
                    .collect();
                if !classes.is_empty() {
                    why.push(format!("{} (violations)", classes.join(", ")));
                }
                if let Some((_, count)) = crate::report::findings::failing(report)
                    .into_iter()
                    .find(|(class, _)| *class == "timeout")
                {
                    why.push(format!(
                        "{} timeout{} (not violations; they fail an isolation run unless --allow timeout)",
                        thousands(count),
                        if count == 1 { "" } else { "s" }
                    ));
                }
                let breached: Vec<String> = report
                    .thresholds
                    .iter()
                    .filter(|v| !v.passed)
                    .map(|v| v.threshold.clone())
                    .collect();
                if !breached.is_empty() {
                    why.push(format!(
                        "threshold{} breached: {}",
                        if breached.len() == 1 { "" } else { "s" },
                        breached.join(", ")
                    ));
                }
                format!("FAIL: {}; {counts}, exit 1", why.join("; "))
            }
            Exit::Setup(message) => format!("ERROR: {message}, exit 2"),
            Exit::TestedNothing(reason) => format!("FAIL: tested nothing: {reason}, exit 3"),
            Exit::Interrupted(signal) => format!(
                "INTERRUPTED by {} after {:.1} s: {counts} so far (figures are partial), exit {}",
                signal.as_str(),
                report.duration_s,
                self.code()
            ),
        }
    }

    /// Prints the reason on stderr (violations and breaches were printed as they were found) and
    /// returns the exit code.
    pub fn report(self) -> ExitCode {
        match &self {
            Exit::Clean | Exit::Failed(_) => {}
            Exit::Setup(message) => eprintln!("error: {message}"),
            Exit::TestedNothing(reason) => eprintln!("tested nothing: {reason}"),
            Exit::Interrupted(signal) => eprintln!("interrupted by {}", signal.as_str()),
        }
        ExitCode::from(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_exit_has_its_agreed_code() {
        assert_eq!(Exit::Clean.code(), 0, "a clean run exits 0");
        assert_eq!(
            Exit::Failed(vec!["x".into()]).code(),
            1,
            "violations or a breach exit 1"
        );
        assert_eq!(Exit::Setup("x".into()).code(), 2, "a set-up error exits 2");
        assert_eq!(
            Exit::TestedNothing("x".into()).code(),
            3,
            "a run that tested nothing exits 3"
        );
        assert_eq!(
            Exit::Interrupted(Signal::Interrupt).code(),
            130,
            "SIGINT exits 128 + 2"
        );
        assert_eq!(
            Exit::Interrupted(Signal::Terminate).code(),
            143,
            "SIGTERM exits 128 + 15"
        );
    }
}
