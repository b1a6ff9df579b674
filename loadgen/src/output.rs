//! Where a finished report goes: the files asked for (`--json-out`, `--csv-out`, `--html-out`,
//! `--junit-out`) and the summary on stdout or stderr. Shared by a run (`lib.rs`) and the offline
//! commands (`offline.rs`), below both.

use std::path::Path;

use crate::{
    cli::ViolationClass,
    plan,
    report::{self, Report},
};

/// Where a report goes: `--json-out` (`-` for stdout), `--csv-out`, `--html-out`, `--junit-out`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Files<'a> {
    pub json: Option<&'a Path>,
    pub csv: Option<&'a Path>,
    pub html: Option<&'a Path>,
    pub junit: Option<&'a Path>,
}

impl Files<'_> {
    /// Whether the JSON report takes stdout, so the summary goes to stderr.
    pub fn json_to_stdout(&self) -> bool {
        self.json.is_some_and(plan::is_stdout)
    }

    /// Checks, before the run, that every file asked for (and `evidence`) can be written: its
    /// folder exists and the file opens for writing. A file that did not exist is removed again.
    pub fn check(&self, evidence: Option<&Path>) -> Result<(), String> {
        let paths = [self.json, self.csv, self.html, self.junit, evidence];
        for path in paths.into_iter().flatten().filter(|p| !plan::is_stdout(p)) {
            let existed = path.exists();
            std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
                .map_err(|error| {
                    format!(
                        "cannot write {}: {error} (checked before the run)",
                        path.display()
                    )
                })?;
            if !existed {
                let _ = std::fs::remove_file(path);
            }
        }
        Ok(())
    }

    /// Where each report went, for the line after the summary: `JSON run.json, HTML run.html`.
    pub fn written(&self, evidence: Option<&Path>) -> Vec<String> {
        [
            ("JSON", self.json),
            ("CSV", self.csv),
            ("HTML", self.html),
            ("JUnit", self.junit),
            ("evidence", evidence),
        ]
        .into_iter()
        .filter_map(|(kind, path)| {
            path.map(|path| match plan::is_stdout(path) {
                true => format!("{kind} on stdout"),
                false => format!("{kind} {}", path.display()),
            })
        })
        .collect()
    }

    /// Writes every file asked for; the message names the file that could not be written.
    pub fn write(&self, report: &Report, allow: &[ViolationClass]) -> Result<(), String> {
        let failed = |path: &Path, error: std::io::Error| {
            format!("cannot write {}: {error}", path.display())
        };
        if let Some(path) = self.json {
            if plan::is_stdout(path) {
                println!("{}", report::json::render_line(report));
            } else {
                report::json::write(report, path).map_err(|e| failed(path, e))?;
            }
        }
        if let Some(path) = self.csv {
            report::csv::write(report, path).map_err(|e| failed(path, e))?;
        }
        if let Some(path) = self.html {
            report::html::write(report, path).map_err(|e| failed(path, e))?;
        }
        if let Some(path) = self.junit {
            let suite = report::junit::of_report(report, |class| {
                report::findings::fails_on(report, allow, class)
            });
            report::junit::write(&[suite], path).map_err(|e| failed(path, e))?;
        }
        Ok(())
    }
}

/// Prints the summary: on stdout, or on stderr when the JSON report takes stdout.
pub fn print_summary(text: &str, files: &Files) {
    if files.json_to_stdout() {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
}
