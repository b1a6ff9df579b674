//! Running `loadgen` as a child: its output streamed, indented, below the act's headline; its
//! `--json-out` report read back for the verdict. Only the fields the demo judges are parsed; the
//! file's contract is `fixtures/report.schema.json`.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use serde::Deserialize;
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, BufReader},
    process::Command,
    task::JoinHandle,
};

use crate::{console::Console, error::Error};

/// The longest a loadgen run of the demo may take (the longest act runs 10 s): a hung run is
/// killed and its act fails, instead of the demo hanging.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// How to run loadgen.
#[derive(Debug, Clone)]
pub struct Loadgen {
    binary: PathBuf,
    console: Console,
}

/// One finished loadgen run.
#[derive(Debug)]
pub struct Finished {
    /// 0 clean, 1 a violation or breached threshold.
    pub code: i32,
    pub report: Report,
}

impl Loadgen {
    pub fn new(binary: PathBuf, console: Console) -> Self {
        Self { binary, console }
    }

    /// Runs `loadgen ARGS --json-out JSON`, streams its output, and reads the report. Exit code 2
    /// (usage or set-up error), 3 (tested nothing), 130/143 (interrupted), death by a signal, or a
    /// missing report is an error; 0 and 1 are results. The command is echoed first, without the output-file flags, so a reader can rerun
    /// it.
    pub async fn run(&self, args: &[String], json: &Path) -> Result<Finished, Error> {
        self.console.line(&format!("$ loadgen {}", shown(args)));
        let mut command = Command::new(&self.binary);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("LOADGEN_") {
                command.env_remove(key);
            }
        }
        let mut child = command
            .args(args)
            .arg("--json-out")
            .arg(json)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| Error::Spawn {
                program: self.binary.clone(),
                source,
            })?;
        let out = stream(child.stdout.take().expect("stdout is piped"), self.console);
        let err = stream(child.stderr.take().expect("stderr is piped"), self.console);
        let status = match tokio::time::timeout(RUN_LIMIT, child.wait()).await {
            Ok(status) => status.map_err(Error::io("wait for loadgen"))?,
            Err(_) => {
                let _ = child.kill().await;
                return Err(Error::Loadgen(format!(
                    "did not finish within {} s: killed",
                    RUN_LIMIT.as_secs()
                )));
            }
        };
        let _ = out.await;
        let _ = err.await;
        let code = match status.code() {
            Some(code @ (0 | 1)) => code,
            Some(code) => {
                let meaning = match code {
                    3 => "the run tested nothing, above",
                    130 | 143 => "interrupted by a signal",
                    _ => "a usage or set-up error, above",
                };
                return Err(Error::Loadgen(format!(
                    "exited with code {code} ({meaning})"
                )));
            }
            None => return Err(Error::Loadgen(format!("was stopped: {status}"))),
        };
        let report = Report::read(json)?;
        Ok(Finished { code, report })
    }
}

/// Prints every line of a child's pipe through the console until the child closes it.
fn stream(pipe: impl AsyncRead + Unpin + Send + 'static, console: Console) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(pipe).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            console.child(&line);
        }
    })
}

/// The arguments as a reader would type them, minus the report-file flags and their values.
fn shown(args: &[String]) -> String {
    let mut shown = Vec::new();
    let mut skip = false;
    for arg in args {
        if std::mem::take(&mut skip) {
            continue;
        }
        if matches!(
            arg.as_str(),
            "--json-out" | "--html-out" | "--csv-out" | "--evidence-out"
        ) {
            skip = true;
            continue;
        }
        shown.push(arg.as_str());
    }
    shown.join(" ")
}

/// The parts of loadgen's JSON report that the demo judges.
#[derive(Debug, Clone, Deserialize)]
pub struct Report {
    pub started_at_unix_s: f64,
    pub duration_s: f64,
    /// `loops`, `duration` or `signal`.
    pub stopped_by: String,
    pub requests: Requests,
    pub violations: Violations,
    /// Passed requests per second.
    pub rps: f64,
    pub latency_ms: Latency,
    /// Open model: from each iteration's intended start.
    pub latency_corrected_ms: Option<Latency>,
    pub open_model: Option<OpenModel>,
    /// Seconds from the start to the first leak, lost write or corruption.
    pub first_violation_after_s: Option<f64>,
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    #[serde(default)]
    pub failure_reasons: Vec<FailureReason>,
    /// One per second.
    #[serde(default)]
    pub intervals: Vec<Interval>,
    /// `loadgen cities`: the first violations, in order.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// `loadgen cities --score`: recall and precision against the server's journal.
    #[serde(default)]
    pub score: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Requests {
    pub total: u64,
    pub pass: u64,
    pub fail: u64,
    pub exception: u64,
    pub violation: u64,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Violations {
    pub leak: u64,
    pub lost_write: u64,
    pub corrupt: u64,
    /// `isolation`'s extra checks (absent from older reports).
    #[serde(default)]
    pub anonymous: u64,
    #[serde(default)]
    pub resurrect: u64,
    pub timeout: u64,
}

/// Latency of passed requests, in ms.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Latency {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct OpenModel {
    pub scheduled: u64,
    pub started: u64,
    pub late: u64,
    pub dropped: u64,
}

/// One request name (a step of the scenario).
#[derive(Debug, Clone, Deserialize)]
pub struct Endpoint {
    pub name: String,
    pub requests: Requests,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FailureReason {
    pub name: String,
    pub outcome: String,
    pub reason: String,
    pub count: u64,
}

/// One second of the timeline.
#[derive(Debug, Clone, Deserialize)]
pub struct Interval {
    pub start_s: f64,
    pub end_s: f64,
    pub rows: Vec<IntervalRow>,
}

/// Counts of one request name (or `all`) over one interval.
#[derive(Debug, Clone, Deserialize)]
pub struct IntervalRow {
    pub name: String,
    pub fail: u64,
    pub exception: u64,
    pub timeout: u64,
    pub leak: u64,
    pub lost_write: u64,
    pub corrupt: u64,
    /// `isolation`'s extra checks (absent from older reports).
    #[serde(default)]
    pub anonymous: u64,
    #[serde(default)]
    pub resurrect: u64,
}

/// One violation as `loadgen cities` explains it.
#[derive(Debug, Clone, Deserialize)]
pub struct Evidence {
    /// `leak`, `lost_write`, `corrupt`, `timeout`.
    #[serde(default)]
    pub class: String,
    /// "user 7 read city c.3.12 created by user 3".
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub since_start_s: Option<f64>,
}

impl Report {
    pub fn read(path: &Path) -> Result<Self, Error> {
        let failed = |message: String| Error::Report {
            path: path.to_owned(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| failed(e.to_string()))
    }

    /// The interval row that sums every request name.
    pub fn all_rows(&self) -> impl Iterator<Item = (&Interval, &IntervalRow)> {
        self.intervals.iter().filter_map(|interval| {
            interval
                .rows
                .iter()
                .find(|row| row.name == "all")
                .map(|row| (interval, row))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_echoed_command_leaves_out_report_files() {
        let args: Vec<String> = ["json", "--users", "2", "--json-out", "a.json", "--html-out"]
            .into_iter()
            .chain(["a.html", "-q"])
            .map(str::to_owned)
            .collect();
        assert_eq!(
            shown(&args),
            "json --users 2 -q",
            "the shown command drops the binary path and the target"
        );
    }
}
