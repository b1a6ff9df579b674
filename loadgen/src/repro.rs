//! From a found leak to a proven reproduction, and from a reproduction to a measured verdict:
//! `loadgen repro` takes one violation of a run's evidence, derives the candidate racing pairs
//! (the observer's request and the victim's in flight at the same time, in each order), tries
//! them against the target and writes the best as a small TOML file with its measured rate;
//! `loadgen replay` sets up two fresh users from it and sends the pair together, last-byte
//! synchronised, as many times as a confident verdict needs, for one file or a suite.
//!
//! Layout: [`file`] (the TOML format), [`derive`] (evidence to candidate pairs, pure),
//! [`verify`] (the candidates tried against the target), [`race`] (two requests released
//! together over raw connections), [`attempt`] (one attempt: set-up, race, `then`), [`seen`]
//! (every answer counted), [`replay`] (attempts to a verdict), [`confidence`] (the arithmetic of
//! "fixed"), [`suite`] (several files, table, JUnit), [`curl`] (`--emit-curl`).
//!
//! Nothing here knows an HTTP shape: requests are built and answers judged by the isolation
//! test's own API adapter ([`crate::api::Api`]) and verdicts ([`crate::scenario::cities`]).

pub mod attempt;
pub mod confidence;
pub mod curl;
pub mod derive;
pub mod file;
pub mod race;
pub mod replay;
pub mod seen;
pub mod suite;
pub mod verify;

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    time::Instant,
};

use crate::{
    cli::{ReplayArgs, ReproArgs},
    exit::Exit,
    report::Report,
    scenario::findings::Evidence,
};

pub use file::Repro;

/// The default base URL, as `loadgen cities` has it.
const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8020/api/v1";

/// `repro`'s exit code when no candidate reproduced (no file is written).
const NOT_REPRODUCED: u8 = 3;

/// Why `repro` wrote nothing.
enum ReproError {
    /// Bad evidence, a bad file or an unreachable target: exit 2.
    Setup(String),
    /// Every candidate was tried and none reproduced: exit 3.
    NotReproduced(String),
}

/// `loadgen repro`: exit 0 with the file written, 2 when the evidence, the violation or the
/// target is unusable, 3 when no candidate pair reproduced (nothing written).
pub fn main_repro(args: ReproArgs) -> ExitCode {
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(message) => return Exit::Setup(message).report(),
    };
    match runtime.block_on(repro(&args)) {
        Ok(message) => {
            eprintln!("{message}");
            ExitCode::SUCCESS
        }
        Err(ReproError::Setup(message)) => Exit::Setup(message).report(),
        Err(ReproError::NotReproduced(message)) => {
            eprintln!("{message}");
            ExitCode::from(NOT_REPRODUCED)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the runtime: {error}"))
}

async fn repro(args: &ReproArgs) -> Result<String, ReproError> {
    let (evidence, target) = read_evidence(&args.evidence).map_err(ReproError::Setup)?;
    let number = args
        .violation
        .unwrap_or_else(|| first_cross_user(&evidence));
    if number == 0 || number > evidence.len() {
        return Err(ReproError::Setup(format!(
            "--violation {number}: {} holds {} violation(s), numbered from 1",
            args.evidence.display(),
            evidence.len()
        )));
    }
    let chosen = &evidence[number - 1];
    let base_url = args
        .base_url
        .clone()
        .or(target)
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
    let api = match &args.api {
        Some(path) => Some(api_table(path).map_err(ReproError::Setup)?),
        None => None,
    };
    let candidates = derive::candidates(
        chosen,
        base_url.clone(),
        args.api.as_ref().map(|p| p.display().to_string()),
        api.unwrap_or_default(),
        args.candidates as usize,
    )
    .map_err(|e| ReproError::Setup(format!("violation {number}: {e}")))?;
    let out_name = if crate::plan::is_stdout(&args.out) {
        PathBuf::from("repro")
    } else {
        args.out.clone()
    };
    let (repro, how) = if args.no_verify {
        let mut repro = candidates
            .into_iter()
            .next()
            .expect("at least one candidate");
        repro.race.stagger = Some(shared::duration::format_duration(args.stagger));
        repro.race.pause =
            (!args.pause.is_zero()).then(|| shared::duration::format_duration(args.pause));
        (
            repro,
            "not verified (--no-verify): replay can reproduce it, never call it FIXED".to_owned(),
        )
    } else {
        let search = verify::Search {
            base_url: base_url.clone(),
            attempts: args.attempts,
            budget: args.budget,
            timeout: args.timeout,
            stagger: args.stagger,
            pause: args.pause,
        };
        eprintln!(
            "repro: violation {number} of {}: trying {} candidate pair(s) against {base_url}, {} attempts each (at most {})",
            evidence.len(),
            candidates.len(),
            args.attempts,
            shared::duration::format_duration(args.budget)
        );
        let found = verify::search(candidates, &search, |line| eprintln!("{line}")).await;
        if let Some(setup) = found.setup {
            return Err(ReproError::Setup(format!(
                "{setup} (every candidate stopped in its set-up; `--no-verify` writes the inferred pair without trying it)"
            )));
        }
        let Some(best) = found.best else {
            let seen: Vec<String> = found
                .tried
                .iter()
                .filter_map(|t| {
                    let findings = t.replayed.seen.observer_findings();
                    (!findings.is_empty())
                        .then(|| format!("candidate {}: {}", t.number, findings.join(", ")))
                })
                .collect();
            return Err(ReproError::NotReproduced(format!(
                "NOT REPRODUCED: none of the {} candidate pair(s) tried gave the observer the expected {} in {} attempts each{}; nothing written (is the bug still on at {base_url}? a wider race window, `--attempts`, `--budget` or `--stagger` may help){}",
                found.tried.len(),
                chosen.class,
                args.attempts,
                if found.untried > 0 {
                    format!(" ({} left untried when the time was up)", found.untried)
                } else {
                    String::new()
                },
                if seen.is_empty() {
                    String::new()
                } else {
                    format!("\nwhat the observer saw instead: {}", seen.join("; "))
                }
            )));
        };
        let verified = best.verified.clone().expect("the best is verified");
        let needed =
            confidence::attempts_for(verified.rate_lower_bound, replay::DEFAULT_CONFIDENCE)
                .map_or_else(String::new, |n| {
                    format!("; a clean build needs {n} misses for FIXED at 99.9 %")
                });
        (
            best,
            format!(
                "verified: {}/{} attempts reproduced ({} %, at least {} % at 95 % confidence){needed}",
                verified.reproduced,
                verified.attempts,
                confidence::percent(verified.rate),
                confidence::percent(verified.rate_lower_bound)
            ),
        )
    };
    let text = repro.to_toml().map_err(ReproError::Setup)?;
    if crate::plan::is_stdout(&args.out) {
        print!("{text}");
    } else {
        std::fs::write(&args.out, text)
            .map_err(|e| ReproError::Setup(format!("cannot write {}: {e}", args.out.display())))?;
    }
    Ok(format!(
        "{}: violation {number} of {}: {} (expect {}); {how}; replay with `loadgen replay {}`",
        out_name.display(),
        evidence.len(),
        verify::describe(&repro),
        repro.expected.class,
        args.out.display()
    ))
}

/// The number (from 1) of the violation `repro` takes by default: the first leak that names its
/// victim (the cross-user race the tool is for), else the first violation of any kind.
fn first_cross_user(evidence: &[Evidence]) -> usize {
    evidence
        .iter()
        .position(|e| e.class == "leak" && e.victim.is_some())
        .map_or(1, |index| index + 1)
}

/// The evidence of `path`: JSON lines of `--evidence-out`, or a JSON report (with its target).
pub fn read_evidence(path: &Path) -> Result<(Vec<Evidence>, Option<String>), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if let Ok(report) = serde_json::from_str::<Report>(&text) {
        return Ok((report.evidence, Some(report.target)));
    }
    let mut evidence = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parsed = serde_json::from_str::<Evidence>(line).map_err(|e| {
            format!(
                "{} line {}: neither a JSON report nor --evidence-out lines ({e})",
                path.display(),
                n + 1
            )
        })?;
        evidence.push(parsed);
    }
    if evidence.is_empty() {
        return Err(format!("{} holds no violation", path.display()));
    }
    Ok((evidence, None))
}

/// An API description file as a TOML table, to copy into the reproduction.
pub fn api_table(path: &Path) -> Result<toml::Table, String> {
    // Validated now, so a wrong file fails here rather than at replay.
    crate::api::Description::load(path)?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("invalid API description {}: {e}", path.display()))
}

/// `loadgen replay`: one file, or several (a suite). 1 reproduced, 0 fixed, 2 set-up error,
/// 3 inconclusive; for a suite, 0 only when every file is fixed.
pub fn main_replay(args: ReplayArgs) -> ExitCode {
    let files = match suite::files(&args.repro) {
        Ok(files) => files,
        Err(message) => return Exit::Setup(message).report(),
    };
    if files.len() > 1 && args.emit_curl.is_some() {
        return Exit::Setup("--emit-curl takes one reproduction file, not a suite".to_owned())
            .report();
    }
    if let Some(path) = &args.junit_out
        && let Err(error) = std::fs::write(path, "")
    {
        return Exit::Setup(format!("--junit-out {}: {error}", path.display())).report();
    }
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(message) => return Exit::Setup(message).report(),
    };
    let started_unix_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let mut entries = Vec::new();
    for path in &files {
        let started = Instant::now();
        let replayed = match Repro::load(path) {
            Ok(repro) => {
                let options = replay::Options {
                    base_url: args
                        .base_url
                        .clone()
                        .unwrap_or_else(|| repro.base_url.clone()),
                    attempts: args.attempts,
                    confidence: args.confidence,
                    timeout: args.timeout,
                    stagger: args.stagger,
                    pause: args.pause,
                    emit_curl: args.emit_curl.clone(),
                    most_tries: None,
                };
                Ok(runtime.block_on(replay::replay(&repro, &options)))
            }
            Err(message) => Err(message),
        };
        let entry = suite::Entry {
            path: path.clone(),
            replayed,
            time_s: started.elapsed().as_secs_f64(),
        };
        if files.len() > 1 {
            println!("== {}", path.display());
        }
        match &entry.replayed {
            Ok(replayed) => println!("{}", replayed.summary()),
            Err(error) => println!("replay: set-up error: {error}"),
        }
        entries.push(entry);
    }
    if let Some(path) = &args.junit_out {
        let junit = suite::junit(&entries, started_unix_s);
        if let Err(error) = crate::report::junit::write(&[junit], path) {
            return Exit::Setup(format!("--junit-out {}: {error}", path.display())).report();
        }
    }
    if files.len() > 1 {
        println!("\n{}", suite::table(&entries));
    }
    ExitCode::from(suite::code(&entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(class: &'static str, victim: Option<usize>) -> Evidence {
        Evidence {
            class: class.into(),
            victim,
            ..Evidence::default()
        }
    }

    #[test]
    fn the_default_violation_is_the_first_leak_naming_a_victim() {
        let evidence = [
            violation("lost_write", None),
            violation("leak", None),
            violation("leak", Some(3)),
            violation("leak", Some(1)),
        ];
        assert_eq!(
            first_cross_user(&evidence),
            3,
            "a lost write and a leak without a victim are passed over"
        );
        assert_eq!(
            first_cross_user(&evidence[..2]),
            1,
            "without a named victim, the first violation"
        );
    }
}
