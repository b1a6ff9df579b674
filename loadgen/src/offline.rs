//! The commands that read finished reports instead of running load: `loadgen merge` (one report
//! from a run's workers) and `loadgen compare` (a run against a baseline). Both print text, write
//! the files asked for, and exit 0 (fine), 1 (a threshold breached, a violation, a regression) or
//! 2 (a report that cannot be read, or reports that do not belong together).

use std::{path::Path, process::ExitCode};

use crate::{
    cli::{CompareArgs, MergeArgs},
    exit::Exit,
    output::{Files, print_summary},
    report::{self, Report, compare::Comparison, merge},
};

fn fail(message: &str) -> ExitCode {
    Exit::Setup(message.to_owned()).report()
}

fn read_all(paths: &[impl AsRef<Path>]) -> Result<Vec<(String, Report)>, String> {
    paths
        .iter()
        .map(|path| {
            let path = path.as_ref();
            report::json::read(path)
                .map(|report| (path.display().to_string(), report))
                .map_err(|error| error.to_string())
        })
        .collect()
}

/// `loadgen merge REPORT...`.
pub fn merge(args: MergeArgs) -> ExitCode {
    let reports = match read_all(&args.reports) {
        Ok(reports) => reports,
        Err(error) => return fail(&error),
    };
    let thresholds = if args.threshold.is_empty() {
        merge::thresholds_of(&reports)
    } else {
        args.threshold.clone()
    };
    let merge::Merged {
        mut report,
        warnings,
    } = match merge::merge(reports) {
        Ok(merged) => merged,
        Err(error) => return fail(&error.to_string()),
    };
    if let Err(error) = crate::plan::check_names(&thresholds, &report_names(&report)) {
        return fail(&error.to_string());
    }
    report.evaluate(&thresholds);
    let files = Files {
        json: args.json_out.as_deref(),
        csv: args.csv_out.as_deref(),
        html: args.html_out.as_deref(),
        junit: args.junit_out.as_deref(),
    };
    print_summary(
        &format!(
            "{}{}",
            report::text::render(&report),
            report::findings::render(&report)
        ),
        &files,
    );
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    if let Err(error) = files.write(&report, &args.allow) {
        return fail(&error);
    }
    let (mut violations, mut breaches) = (Vec::new(), Vec::new());
    for (class, count) in report::findings::failing_with(&report, &args.allow) {
        let message = format!(
            "violation: {count} {} (allow with --allow {})",
            class, class
        );
        eprintln!("{message}");
        violations.push(message);
    }
    for verdict in report.thresholds.iter().filter(|v| !v.passed) {
        let message = format!("threshold breached: {}", verdict.threshold);
        eprintln!("{message}");
        breaches.push(message);
    }
    // A worker stopped by a signal does not make the merged run interrupted: merge itself was not.
    Exit::judge(&report, violations, breaches, None).report()
}

fn report_names(report: &Report) -> Vec<String> {
    report.endpoints.iter().map(|e| e.name.clone()).collect()
}

/// `loadgen compare BASELINE CURRENT`.
pub fn compare(args: CompareArgs) -> ExitCode {
    let reports = match read_all(&[&args.baseline, &args.current]) {
        Ok(reports) => reports,
        Err(error) => return fail(&error),
    };
    let limits: Vec<_> = args
        .max_regression
        .iter()
        .flat_map(|limits| limits.0.iter().cloned())
        .collect();
    let (baseline, current) = (&reports[0], &reports[1]);
    let comparison = match Comparison::new(
        (&baseline.0, &baseline.1),
        (&current.0, &current.1),
        &limits,
    ) {
        Ok(comparison) => comparison,
        Err(error) => return fail(&error.to_string()),
    };
    print!("{}", comparison.render_text());
    if let Some(path) = &args.html_out
        && let Err(error) = std::fs::write(path, comparison.render_html())
    {
        return fail(&format!("cannot write {}: {error}", path.display()));
    }
    if let Some(path) = &args.junit_out
        && let Err(error) = report::junit::write(&[report::junit::of_comparison(&comparison)], path)
    {
        return fail(&format!("cannot write {}: {error}", path.display()));
    }
    let regressed: Vec<String> = comparison
        .regressions()
        .map(|v| {
            format!(
                "{} of {} ({:+.1}{}, limit {})",
                v.metric.as_str(),
                v.scope,
                v.worsening.unwrap_or(0.0),
                if v.metric == report::compare::Metric::FailRate {
                    " points"
                } else {
                    " %"
                },
                v.limit
            )
        })
        .collect();
    if regressed.is_empty() {
        if !limits.is_empty() {
            println!("\nNo regression beyond the limits.");
        }
        ExitCode::SUCCESS
    } else {
        let message = format!("regressed: {}", regressed.join(", "));
        eprintln!("{message}");
        Exit::Failed(vec![message]).report()
    }
}
