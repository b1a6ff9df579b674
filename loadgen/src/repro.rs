//! From a found leak to a minimal reproduction: `loadgen repro` takes one violation of a run's
//! evidence, derives the racing pair (the observer's request and the victim's request in flight
//! at the same time) and writes a small TOML file; `loadgen replay` sets up two fresh users from
//! it and sends the pair together, last-byte synchronised, N times.
//!
//! Layout: [`file`] (the TOML format), [`derive`] (evidence to racing pair, pure), [`race`]
//! (two requests released together over raw connections), [`replay`] (set-up, attempts, verdict),
//! [`curl`] (`--emit-curl`).
//!
//! Nothing here knows an HTTP shape: requests are built and answers judged by the isolation
//! test's own API adapter ([`crate::api::Api`]) and verdicts ([`crate::scenario::cities`]).

pub mod curl;
pub mod derive;
pub mod file;
pub mod race;
pub mod replay;

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use crate::{
    api::description::add_headers_to,
    cli::{ReplayArgs, ReproArgs},
    exit::Exit,
    report::Report,
    scenario::findings::Evidence,
};

pub use file::Repro;

/// The default base URL, as `loadgen cities` has it.
const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8020/api/v1";

/// `loadgen repro`: exit 0 with the file written, 2 when the evidence or the violation is unusable.
pub fn main_repro(args: ReproArgs) -> ExitCode {
    match repro(&args) {
        Ok(message) => {
            eprintln!("{message}");
            ExitCode::SUCCESS
        }
        Err(message) => Exit::Setup(message).report(),
    }
}

fn repro(args: &ReproArgs) -> Result<String, String> {
    let (evidence, target) = read_evidence(&args.evidence)?;
    let number = args
        .violation
        .unwrap_or_else(|| first_cross_user(&evidence));
    if number == 0 || number > evidence.len() {
        return Err(format!(
            "--violation {number}: {} holds {} violation(s), numbered from 1",
            args.evidence.display(),
            evidence.len()
        ));
    }
    let chosen = &evidence[number - 1];
    let base_url = args
        .base_url
        .clone()
        .or(target)
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
    let api = match &args.api {
        Some(path) => Some(api_table(path)?),
        None => None,
    };
    let api = match (api, args.headers.is_empty()) {
        (api, true) => api,
        (api, false) => {
            let mut table = api.unwrap_or_default();
            add_headers_to(&mut table, &args.headers)?;
            Some(table)
        }
    };
    let repro = derive::derive(
        chosen,
        base_url,
        args.api.as_ref().map(|p| p.display().to_string()),
        api.unwrap_or_default(),
    )
    .map_err(|e| format!("violation {number}: {e}"))?;
    let text = repro.to_toml()?;
    if crate::plan::is_stdout(&args.out) {
        print!("{text}");
    } else {
        std::fs::write(&args.out, text)
            .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    }
    Ok(format!(
        "{}: violation {number} of {}: observer {} `{}` raced victim {} `{}` (expect {}); replay with `loadgen replay {}`",
        if crate::plan::is_stdout(&args.out) {
            PathBuf::from("repro")
        } else {
            args.out.clone()
        }
        .display(),
        evidence.len(),
        repro.observer.race,
        repro.observer.request,
        repro.victim.race,
        repro.victim.request,
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

/// `loadgen replay`: 1 reproduced, 0 fixed, 2 set-up error, 3 no attempt could run.
pub fn main_replay(args: ReplayArgs) -> ExitCode {
    let mut repro = match Repro::load(&args.repro) {
        Ok(repro) => repro,
        Err(message) => return Exit::Setup(message).report(),
    };
    if let Err(message) = add_headers_to(&mut repro.api, &args.headers) {
        return Exit::Setup(message).report();
    }
    if args.attempts == 0 {
        return Exit::Setup("--attempts must be at least 1".to_owned()).report();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return Exit::Setup(format!("cannot start the runtime: {error}")).report(),
    };
    let options = replay::Options {
        base_url: args
            .base_url
            .clone()
            .unwrap_or_else(|| repro.base_url.clone()),
        attempts: args.attempts,
        timeout: args.timeout,
        stagger: args.stagger,
        pause: args.pause,
        emit_curl: args.emit_curl.clone(),
    };
    let outcome = runtime.block_on(replay::replay(&repro, &options));
    println!("{}", outcome.summary());
    ExitCode::from(outcome.code())
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
