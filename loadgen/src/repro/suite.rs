//! `loadgen replay` over several files or a folder: a team's regression suite. Each file is
//! replayed in turn (its own attempts, chosen for the confidence), a table shows every verdict,
//! `--junit-out` writes one test case per file, and the exit code is 0 only when every file is
//! FIXED at the confidence.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
};

use super::replay::{Conclusion, Replayed};
use crate::report::junit;

/// One file's outcome.
#[derive(Debug)]
pub struct Entry {
    pub path: PathBuf,
    /// The replay, or why the file could not be read.
    pub replayed: Result<Replayed, String>,
    pub time_s: f64,
}

impl Entry {
    pub fn conclusion(&self) -> Conclusion {
        match &self.replayed {
            Ok(replayed) => replayed.conclusion(),
            Err(_) => Conclusion::SetupError,
        }
    }

    /// The verdict line (or the read error).
    pub fn line(&self) -> String {
        match &self.replayed {
            Ok(replayed) => replayed.verdict_line(),
            Err(error) => format!("replay: set-up error: {error}"),
        }
    }
}

/// The files named: each file as given, each folder's `*.toml` files (sorted, not recursive).
pub fn files(named: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for path in named {
        if path.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| format!("cannot read the folder {}: {e}", path.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "toml"))
                .collect();
            inside.sort();
            if inside.is_empty() {
                return Err(format!("{} holds no .toml reproduction", path.display()));
            }
            out.extend(inside);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// 0 when every file is FIXED, 1 when any reproduced, else 2 for a set-up error, else 3.
pub fn code(entries: &[Entry]) -> u8 {
    let any = |c: Conclusion| entries.iter().any(|e| e.conclusion() == c);
    if any(Conclusion::Reproduced) || any(Conclusion::Violated) {
        1
    } else if any(Conclusion::SetupError) {
        2
    } else if any(Conclusion::Inconclusive) {
        3
    } else {
        0
    }
}

/// The table printed after the last file, then one verdict line for the suite.
pub fn table(entries: &[Entry]) -> String {
    let width = entries
        .iter()
        .map(|e| e.path.display().to_string().len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = format!(
        "{:<width$}  {:<12}  {:>9}  {:>10}  {:>8}\n",
        "file", "verdict", "attempts", "reproduced", "time"
    );
    for entry in entries {
        let (ran, reproduced) = match &entry.replayed {
            Ok(r) => (r.ran.to_string(), r.reproduced.to_string()),
            Err(_) => ("-".to_owned(), "-".to_owned()),
        };
        let _ = writeln!(
            out,
            "{:<width$}  {:<12}  {:>9}  {:>10}  {:>6.1} s",
            entry.path.display(),
            entry.conclusion().name(),
            ran,
            reproduced,
            entry.time_s
        );
    }
    let count = |c: Conclusion| entries.iter().filter(|e| e.conclusion() == c).count();
    let verdict = match code(entries) {
        0 => "PASS",
        _ => "FAIL",
    };
    let _ = write!(
        out,
        "{verdict}: {} file(s): {} fixed, {} reproduced, {} inconclusive, {} set-up error(s)",
        entries.len(),
        count(Conclusion::Fixed),
        count(Conclusion::Reproduced) + count(Conclusion::Violated),
        count(Conclusion::Inconclusive),
        count(Conclusion::SetupError)
    );
    out
}

/// One JUnit test case per file: FIXED passes; anything else fails with its verdict line.
pub fn junit(entries: &[Entry], started_unix_s: f64) -> junit::Suite {
    let cases = entries
        .iter()
        .map(|entry| {
            let conclusion = entry.conclusion();
            junit::Case {
                classname: "loadgen.replay".to_owned(),
                name: name_of(&entry.path),
                failure: (conclusion != Conclusion::Fixed).then(|| junit::Failure {
                    message: entry.line(),
                    kind: conclusion.name().to_ascii_lowercase(),
                    text: match &entry.replayed {
                        Ok(replayed) => replayed.summary(),
                        Err(error) => error.clone(),
                    },
                }),
                system_out: None,
            }
        })
        .collect();
    junit::Suite {
        name: "loadgen replay".to_owned(),
        timestamp: junit::timestamp(started_unix_s),
        time_s: entries.iter().map(|e| e.time_s).sum(),
        properties: Vec::new(),
        cases,
    }
}

fn name_of(path: &Path) -> String {
    path.display().to_string()
}
