//! A scenario's findings as text: violations by class, the evidence kept, the score, hints, and
//! the violation verdict that sets the exit code. Printed after the summary; evidence also written
//! as JSON lines (`--evidence-out`). Knows no scenario: it reads the report's generic fields.

use std::{fmt::Write as _, io::Write as _, path::Path};

use clap::ValueEnum;

use super::Report;

/// The evidence and score as text (empty when there is neither).
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let v = report.figures.violations;
    if let Some(leaked) = report.leaked_records {
        let _ = writeln!(
            out,
            "\nViolations: leak: {} ({leaked} distinct records), lost_write: {}, corrupt: {}, denied: {}, anonymous: {}, resurrect: {}{}; timeouts (not violations): {}",
            v.leak,
            v.lost_write,
            v.corrupt,
            v.denied,
            v.anonymous,
            v.resurrect,
            report
                .first_violation_after_s
                .map(|s| format!(" (first after {s:.3} s)"))
                .unwrap_or_default(),
            report.figures.requests.timeout,
        );
    }
    if let Some(ledger) = &report.ledger
        && ledger.evicted > 0
    {
        let _ = writeln!(
            out,
            "Ledger: {} records held; {} older records forgotten (window {} per identity): their ids are no longer recognised, their markers still are",
            ledger.records, ledger.evicted, ledger.window
        );
    }
    for reason in report
        .failure_reasons
        .iter()
        .filter(|r| r.example.is_some())
    {
        let _ = writeln!(
            out,
            "Failed {}: {} ({}x), e.g. {}",
            reason.name,
            reason.reason,
            reason.count,
            reason.example.as_deref().unwrap_or_default()
        );
    }
    for hint in &report.hints {
        let _ = writeln!(out, "Hint: {hint}");
    }
    if let Some(reason) = &report.tested_nothing {
        let _ = writeln!(out, "Tested nothing: {reason}");
    }
    if !report.evidence.is_empty() {
        let _ = writeln!(out, "Evidence (first {}):", report.evidence.len());
        for evidence in &report.evidence {
            let _ = writeln!(
                out,
                "  [{:>8.3} s] {:<10} {} ({}; {} in flight)",
                evidence.since_start_s,
                evidence.class,
                evidence.message,
                evidence.request,
                evidence.in_flight
            );
        }
    }
    if let Some(score) = &report.score {
        let percent =
            |ratio: Option<f64>| ratio.map_or("n/a".to_owned(), |r| format!("{:.1} %", 100.0 * r));
        let _ = writeln!(
            out,
            "Score against the server's journal: recall {} ({} of {} cross-user reads detected), precision {} ({} of {} reported leaks confirmed); {} cross-user writes{}",
            percent(score.recall),
            score.reads_detected,
            score.cross_user_reads,
            percent(score.precision),
            score.leaks_confirmed,
            score.leaks_reported,
            score.cross_user_writes,
            if score.journal_overflowed {
                "; the journal overflowed, figures are partial"
            } else {
                ""
            }
        );
    }
    out
}

/// The violation classes that fail the run (not `--allow`ed), with their counts. Timeouts are
/// not violations, but fail a run that found findings (the isolation test) unless allowed: a
/// server that stops answering under load is what a starving pool looks like.
pub fn failing(report: &Report) -> Vec<(&'static str, u64)> {
    failing_with(report, &[])
}

/// Whether violations of `class` fail a run of `report`'s scenario, given `--allow` (the run's
/// own, kept in the report, and `allow`, e.g. from `loadgen merge`): in every scenario but
/// `json`, whose timeouts are exceptions like any transport error.
pub fn fails_on(report: &Report, allow: &[ViolationClass], class: ViolationClass) -> bool {
    report.scenario != "json"
        && !allow.contains(&class)
        && !report
            .allowed
            .iter()
            .any(|allowed| *allowed == class.as_str())
}

/// The violation classes that fail the run given the report's own `--allow` and `allow`, with
/// their counts.
pub fn failing_with(report: &Report, allow: &[ViolationClass]) -> Vec<(&'static str, u64)> {
    let v = report.figures.violations;
    let mut classes = vec![
        ("leak", v.leak),
        ("lost_write", v.lost_write),
        ("corrupt", v.corrupt),
        ("denied", v.denied),
        ("anonymous", v.anonymous),
        ("resurrect", v.resurrect),
    ];
    if report.leaked_records.is_some() {
        classes.push(("timeout", report.figures.requests.timeout));
    }
    classes
        .into_iter()
        .filter(|(class, count)| {
            *count > 0
                && !report.allowed.iter().any(|allowed| allowed == class)
                && !allow.iter().any(|allowed| allowed.as_str() == *class)
        })
        .collect()
}

/// Writes the evidence as JSON lines.
pub fn write_evidence(report: &Report, path: &Path) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    for evidence in &report.evidence {
        serde_json::to_writer(&mut file, evidence)?;
        file.write_all(b"\n")?;
    }
    file.flush()
}

/// The classes of `violations` in the report (`--allow` takes them: a clap value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum ViolationClass {
    Leak,
    LostWrite,
    Corrupt,
    Denied,
    Anonymous,
    Resurrect,
    Timeout,
}

impl ViolationClass {
    pub const ALL: [ViolationClass; 7] = [
        Self::Leak,
        Self::LostWrite,
        Self::Corrupt,
        Self::Denied,
        Self::Anonymous,
        Self::Resurrect,
        Self::Timeout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Leak => "leak",
            Self::LostWrite => "lost_write",
            Self::Corrupt => "corrupt",
            Self::Denied => "denied",
            Self::Anonymous => "anonymous",
            Self::Resurrect => "resurrect",
            Self::Timeout => "timeout",
        }
    }
}
