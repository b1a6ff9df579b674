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

use crate::{report::Report, runner::stop::Signal};

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
