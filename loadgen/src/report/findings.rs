//! The `cities` findings: the evidence kept, the score, and the violation verdict that sets the
//! exit code. Printed after the summary; evidence also written as JSON lines (`--evidence-out`).

use std::{fmt::Write as _, io::Write as _, path::Path};

use super::Report;
use crate::{cli::ViolationClass, plan::CitiesPlan};

/// The evidence and score as text (empty when there is neither).
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let v = report.figures.violations;
    if report.scenario == "cities" {
        let _ = writeln!(
            out,
            "\nViolations: leak: {}, lost_write: {}, corrupt: {}, timeout: {}{}",
            v.leak,
            v.lost_write,
            v.corrupt,
            v.timeout,
            report
                .first_violation_after_s
                .map(|s| format!(" (first after {s:.3} s)"))
                .unwrap_or_default()
        );
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

/// The violation classes that fail the run, with their counts.
pub fn failing(report: &Report, plan: &CitiesPlan) -> Vec<(ViolationClass, u64)> {
    failing_with(report, &plan.allow)
}

/// Whether violations of `class` fail a run of `report`'s scenario, given `--allow`: in every
/// scenario but `json`, whose timeouts are exceptions like any transport error.
pub fn fails_on(report: &Report, allow: &[ViolationClass], class: ViolationClass) -> bool {
    report.scenario != "json" && !allow.contains(&class)
}

/// The violation classes that fail the run given `--allow`, with their counts.
pub fn failing_with(report: &Report, allow: &[ViolationClass]) -> Vec<(ViolationClass, u64)> {
    let v = report.figures.violations;
    ViolationClass::ALL
        .into_iter()
        .zip([v.leak, v.lost_write, v.corrupt, v.timeout])
        .filter(|(class, count)| *count > 0 && fails_on(report, allow, *class))
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
