//! The validated plan: what the engine runs, built from the raw [`Cli`]. Every inconsistency is a
//! [`PlanError`], shown as one line with exit code 2 before anything starts.

use std::{
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use bytes::Bytes;
use hyper::{
    HeaderMap, Method, StatusCode,
    header::{HeaderName, HeaderValue},
};
use shared::duration::DurationRange;

mod cities;
mod dist;
mod file;
pub mod stages;

pub use cities::CitiesPlan;
pub use dist::{JOB_COMPLETION_INDEX, StartAt, Worker};
pub use file::FilePlan;
use stages::Stages;

use crate::{
    checks::Checks,
    cli::{Cli, Command, DistArgs, JsonArgs, OutputArgs, WorkloadArgs},
    client,
    scenario::cities::markers::RunId,
    thresholds::Threshold,
};

/// A configuration error: the message is the whole explanation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PlanError(pub String);

fn invalid<T>(message: impl Into<String>) -> Result<T, PlanError> {
    Err(PlanError(message.into()))
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The scenario's target URL (the request URL, or the API base URL).
    pub url: String,
    /// Shared by the workers of one run (`--run-id`), random otherwise.
    pub run_id: String,
    pub scenario: ScenarioPlan,
    pub workload: Workload,
    pub output: Output,
    pub thresholds: Vec<Threshold>,
}

/// Which scenario, with its own settings.
#[derive(Debug, Clone)]
pub enum ScenarioPlan {
    Json(Box<JsonPlan>),
    Cities(Box<CitiesPlan>),
    /// `loadgen run FILE.toml`.
    File(Box<FilePlan>),
}

impl ScenarioPlan {
    /// The subcommand's name, as reports show it.
    pub fn name(&self) -> &'static str {
        match self {
            ScenarioPlan::Json(_) => "json",
            ScenarioPlan::Cities(cities) => cities.command,
            ScenarioPlan::File(_) => "run",
        }
    }
}

/// `loadgen json` settings.
#[derive(Debug, Clone)]
pub struct JsonPlan {
    pub name: String,
    pub method: Method,
    /// `--body` or the contents of `--body-file`.
    pub body: Bytes,
    /// `-H`, validated, in order.
    pub headers: HeaderMap,
    /// `--content-type`, sent with a non-empty body unless `-H` sets one.
    pub content_type: HeaderValue,
    pub checks: Checks,
}

/// How users arrive.
#[derive(Debug, Clone, PartialEq)]
pub enum Model {
    /// `--users` loop as fast as answers come back (plus `--wait`), `--loops` times each.
    Closed { users: usize, loops: Option<u64> },
    /// Iterations start at `--rate` per second whatever the answers, on `--max-users` users.
    Open { rate: f64, max_users: usize },
}

impl Model {
    /// How many users the run starts.
    pub fn users(&self) -> usize {
        match *self {
            Model::Closed { users, .. } => users,
            Model::Open { max_users, .. } => max_users,
        }
    }

    pub fn is_open(&self) -> bool {
        matches!(self, Model::Open { .. })
    }
}

/// When and how much.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    pub model: Model,
    pub spawn_rate: Option<f64>,
    pub duration: Option<Duration>,
    pub wait: DurationRange,
    pub timeout: Duration,
    /// Runtime worker threads (1: a current-thread runtime).
    pub threads: usize,
    /// Closed model: the users ramp through these stages (scenario files); `users` is their peak
    /// and `duration` their total. Open model: the stages ramp the rate.
    pub stages: Option<Stages>,
    /// `--max-body`, `--cacert`, `--insecure`.
    pub client: client::Options,
    /// This process's place among the run's workers; `model` holds its share already.
    pub worker: Worker,
    /// Wall-clock start (`--start-at`): the run waits for it.
    pub start_at: Option<SystemTime>,
}

/// How progress is shown while running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// An indicatif bar (stdout is a terminal).
    Bar,
    /// A plain line every `report_every` (no control characters).
    Lines,
    Off,
}

/// What to print and write.
#[derive(Debug, Clone)]
pub struct Output {
    pub report_every: Duration,
    pub progress: Progress,
    pub json_out: Option<PathBuf>,
    pub csv_out: Option<PathBuf>,
    pub html_out: Option<PathBuf>,
    /// The kept violations as JSON lines (`--evidence-out`, isolation test).
    pub evidence_out: Option<PathBuf>,
    pub junit_out: Option<PathBuf>,
    /// `--metrics-listen`: where to serve live Prometheus metrics.
    pub metrics_listen: Option<std::net::SocketAddr>,
}

/// `--json-out -`: the report goes to stdout and the summary to stderr.
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

impl Output {
    /// Whether the JSON report takes stdout (`--json-out -`).
    pub fn json_to_stdout(&self) -> bool {
        self.json_out.as_deref().is_some_and(is_stdout)
    }
}

impl Plan {
    /// What a report says about how this plan ran (the report is built from it, not from the
    /// plan, so that merge, compare and replay build reports without a plan).
    pub fn setting(&self) -> crate::summary::Setting {
        let workload = &self.workload;
        let (model, loops, rate) = match workload.model {
            Model::Closed { loops, .. } => ("closed", loops, None),
            Model::Open { rate, .. } => ("open", None, Some(rate)),
        };
        crate::summary::Setting {
            scenario: self.scenario.name().to_owned(),
            target: self.url.clone(),
            run_id: self.run_id.clone(),
            worker: crate::summary::WorkerPlace {
                index: workload.worker.index,
                workers: workload.worker.workers,
            },
            start_at_unix_s: workload.start_at.map(crate::report::unix_s),
            workload: crate::summary::WorkloadReport {
                model: model.to_owned(),
                users: workload.model.users(),
                loops,
                rate,
                spawn_rate: workload.spawn_rate,
                duration_limit_s: workload.duration.map(|d| d.as_secs_f64()),
                wait: workload.wait.to_string(),
                timeout_s: workload.timeout.as_secs_f64(),
                threads: workload.threads,
            },
            open: workload.model.is_open(),
        }
    }

    pub fn from_cli(cli: Cli) -> Result<Self, PlanError> {
        match cli.command {
            Command::Json(args) => Self::json(args),
            Command::Cities(args) => cities::plan(args, cities::Preset::Cities),
            Command::Isolation(args) => cities::plan(args, cities::Preset::Isolation),
            Command::Run(args) => file::plan(args),
            Command::Completions { .. } | Command::Man => {
                invalid("`loadgen completions` and `loadgen man` print and exit; they run nothing")
            }
            Command::Merge(_) | Command::Compare(_) => {
                invalid("merge and compare read reports; they have no run plan")
            }
            Command::Describe(_) => {
                invalid("describe writes an API description; it has no run plan")
            }
            Command::Repro(_) | Command::Replay(_) => {
                invalid("repro and replay read evidence and reproductions; they have no run plan")
            }
        }
    }

    fn json(args: JsonArgs) -> Result<Self, PlanError> {
        let JsonArgs {
            target,
            url,
            method,
            body,
            body_file,
            content_type,
            headers,
            name,
            expect_status,
            expect_json,
            workload,
            output,
        } = args;
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| PlanError(format!("`{method}` is not an HTTP method")))?;
        let status =
            match expect_status {
                0 => None,
                code => Some(StatusCode::from_u16(code).map_err(|_| {
                    PlanError(format!("--expect-status {code} is not a status code"))
                })?),
            };
        let url = json_url(target, url)?;
        let name = match name {
            Some(name) if name.trim().is_empty() => return invalid("--name must not be empty"),
            Some(name) => name,
            None => request_name(&method, &url),
        };
        let body = match body_file {
            Some(path) => Bytes::from(std::fs::read(&path).map_err(|error| {
                PlanError(format!(
                    "cannot read --body-file {}: {error}",
                    path.display()
                ))
            })?),
            None => Bytes::from(body),
        };
        let content_type = HeaderValue::from_str(&content_type).map_err(|_| {
            PlanError(format!(
                "--content-type `{content_type}` is not a header value"
            ))
        })?;
        let run_id = run_id_of(&workload.dist)?;
        let scenario = ScenarioPlan::Json(Box::new(JsonPlan {
            name,
            method,
            body,
            headers: header_map(&headers)?,
            content_type,
            checks: Checks {
                status,
                json: expect_json,
            },
        }));
        Ok(Self {
            url,
            run_id: run_id.as_str().to_owned(),
            scenario,
            workload: workload_plan(workload)?,
            output: output_plan(&output)?,
            thresholds: output.threshold,
        })
    }

    /// Checks that every named threshold names a request of the scenario.
    pub fn check_threshold_names(&self, steps: &[String]) -> Result<(), PlanError> {
        check_names(&self.thresholds, steps)
    }
}

/// The URL of `loadgen json`: the positional one or `--url` (the same twice is fine), else the
/// mock-server's `/json`; one without a scheme is refused with the scheme added.
fn json_url(target: Option<String>, flag: Option<String>) -> Result<String, PlanError> {
    let url = match (target, flag) {
        (Some(target), Some(flag)) if target != flag => {
            return invalid(format!(
                "the URL is given twice, `{target}` and --url (or LOADGEN_URL) `{flag}`: give one"
            ));
        }
        (Some(url), _) | (None, Some(url)) => url,
        (None, None) => DEFAULT_URL.to_owned(),
    };
    if !url.contains("://") {
        return invalid(format!(
            "`{url}` needs a scheme: `loadgen json http://{url}` (or https://)"
        ));
    }
    Ok(url)
}

/// `loadgen json`'s target when none is given: mock-server's `/json` on its default port.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8020/json";

/// A request's default name, as oha and k6 show one: the method and the URL's path (`GET /json`).
pub fn request_name(method: &Method, url: &str) -> String {
    let path = url
        .parse::<hyper::Uri>()
        .ok()
        .map_or_else(|| "/".to_owned(), |uri| uri.path().to_owned());
    format!("{method} {path}")
}

/// `-H 'Name: value'` flags as a header map, in order; a bad one is a one-line error.
pub fn header_map(headers: &[String]) -> Result<HeaderMap, PlanError> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for text in headers {
        let (name, value) = text.split_once(':').ok_or_else(|| {
            PlanError(format!(
                "-H `{text}` must be written 'Name: value', e.g. -H 'Authorization: Bearer TOKEN'"
            ))
        })?;
        let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
            PlanError(format!(
                "-H `{text}`: `{}` is not a header name",
                name.trim()
            ))
        })?;
        let value = HeaderValue::from_str(value.trim())
            .map_err(|_| PlanError(format!("-H `{text}`: the value is not a header value")))?;
        map.append(name, value);
    }
    Ok(map)
}

/// Checks that every named threshold names one of `steps`.
pub fn check_names(thresholds: &[Threshold], steps: &[String]) -> Result<(), PlanError> {
    for threshold in thresholds {
        if let Some(name) = &threshold.name
            && !steps.iter().any(|step| threshold.names(step))
        {
            return invalid(format!(
                "threshold `{threshold}` names `{name}`, but the requests are: {}",
                steps.join(", ")
            ));
        }
    }
    Ok(())
}

/// The run id: `--run-id`, or a random one.
pub fn run_id_of(args: &DistArgs) -> Result<RunId, PlanError> {
    match &args.run_id {
        Some(id) => RunId::parse(id).map_err(PlanError),
        None => Ok(RunId::random()),
    }
}

/// Validates the workload flags shared by every scenario; the model holds this worker's share.
pub fn workload_plan(args: WorkloadArgs) -> Result<Workload, PlanError> {
    let (worker, start_at) = dist::worker_of(&args.dist)?;
    let too_few = |flag: &str, total: usize| {
        PlanError(format!(
            "{flag} {total} leaves worker {} of {} without a user: give at least {} (one per worker)",
            worker.index, worker.workers, worker.workers
        ))
    };
    let model = match args.rate {
        None => {
            let users = args.users.unwrap_or(1);
            if users == 0 {
                return invalid("--users must be at least 1");
            }
            if args.loops == Some(0) {
                return invalid("--loops must be at least 1");
            }
            let share = worker.share(users);
            if share == 0 {
                return Err(too_few("--users", users));
            }
            Model::Closed {
                users: share,
                loops: args.loops,
            }
        }
        Some(rate) => {
            if !(rate.is_finite() && rate > 0.0) {
                return invalid("--rate must be a positive number of iterations per second");
            }
            if args.loops.is_some() {
                return invalid("--loops applies to the closed model; with --rate use --duration");
            }
            if !args.wait.is_zero() {
                return invalid("--wait applies to the closed model; --rate sets the pace");
            }
            if args.max_users == 0 {
                return invalid("--max-users must be at least 1");
            }
            let max_users = worker.share(args.max_users);
            if max_users == 0 {
                return Err(too_few("--max-users", args.max_users));
            }
            Model::Open {
                rate: rate / worker.workers as f64,
                max_users,
            }
        }
    };
    if let Some(spawn_rate) = args.spawn_rate
        && !(spawn_rate.is_finite() && spawn_rate > 0.0)
    {
        return invalid("--spawn-rate must be a positive number of users per second");
    }
    if args.duration == Some(Duration::ZERO) {
        return invalid("--duration must be longer than 0");
    }
    if args.timeout.is_zero() {
        return invalid("--timeout must be longer than 0");
    }
    let threads = match args.threads {
        Some(0) => return invalid("--threads must be at least 1"),
        Some(threads) => threads,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    if args.client.max_body == 0 {
        return invalid("--max-body must be at least 1 byte");
    }
    if args.client.insecure && args.client.cacert.is_some() {
        return invalid("--insecure accepts any certificate: --cacert would not be used");
    }
    Ok(Workload {
        model,
        spawn_rate: args.spawn_rate,
        duration: args.duration,
        wait: args.wait,
        timeout: args.timeout,
        threads,
        stages: None,
        client: client::Options {
            max_body: args.client.max_body,
            cacert: args.client.cacert,
            insecure: args.client.insecure,
        },
        worker,
        start_at,
    })
}

/// Validates the output flags shared by every scenario.
pub fn output_plan(args: &OutputArgs) -> Result<Output, PlanError> {
    use std::io::IsTerminal;
    if args.report_every.is_zero() {
        return invalid("--report-every must be longer than 0");
    }
    let to_stdout = args.json_out.as_deref().is_some_and(is_stdout);
    let progress = if args.quiet {
        Progress::Off
    } else if !to_stdout && std::io::stdout().is_terminal() {
        Progress::Bar
    } else {
        Progress::Lines
    };
    Ok(Output {
        report_every: args.report_every,
        progress,
        json_out: args.json_out.clone(),
        csv_out: args.csv_out.clone(),
        html_out: args.html_out.clone(),
        evidence_out: None,
        junit_out: args.junit_out.clone(),
        metrics_listen: args.metrics_listen,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn plan(args: &str) -> Result<Plan, PlanError> {
        let argv = std::iter::once("loadgen").chain(args.split_whitespace());
        Plan::from_cli(Cli::try_parse_from(argv).expect("parses"))
    }

    #[test]
    fn a_request_is_named_by_its_method_and_path_and_thresholds_may_name_it() {
        let plan = plan("json http://127.0.0.1:1/api/items?page=2 --method post").unwrap();
        let ScenarioPlan::Json(json) = &plan.scenario else {
            panic!("loadgen json plans the json scenario")
        };
        assert_eq!(json.name, "POST /api/items", "method and path, no query");
        assert_eq!(
            plan.url, "http://127.0.0.1:1/api/items?page=2",
            "the positional URL is the target"
        );
        let threshold = Threshold::parse("POST /api/items:p99<1s").unwrap();
        assert!(
            check_names(&[threshold], std::slice::from_ref(&json.name)).is_ok(),
            "a threshold names the request as the tables show it, spaces and all"
        );
        assert_eq!(
            json_url(Some("http://a:1/".into()), Some("http://b:2/".into()))
                .unwrap_err()
                .0,
            "the URL is given twice, `http://a:1/` and --url (or LOADGEN_URL) `http://b:2/`: give one",
            "two different URLs are refused"
        );
        assert!(
            json_url(Some("http://a:1/".into()), Some("http://a:1/".into())).is_ok(),
            "the same URL as the argument and --url is one URL"
        );
    }

    #[test]
    fn defaults_make_a_closed_model_with_one_user() {
        let plan = plan("json").unwrap();
        assert_eq!(
            plan.workload.model,
            Model::Closed {
                users: 1,
                loops: None
            },
            "the default model is closed with one user and no loop limit"
        );
        assert_eq!(
            plan.workload.timeout,
            Duration::from_secs(30),
            "the default timeout is 30 s"
        );
    }

    #[test]
    fn rate_makes_an_open_model() {
        let plan = plan("json --rate 50 --max-users 4 --duration 2s").unwrap();
        assert_eq!(
            plan.workload.model,
            Model::Open {
                rate: 50.0,
                max_users: 4
            },
            "--rate runs the open model with its max users"
        );
    }

    #[test]
    fn workers_split_users_and_the_rate() {
        let closed = plan("json --users 10 --workers 3 --worker-index 0 --run-id r1").unwrap();
        assert_eq!(
            closed.workload.model,
            Model::Closed {
                users: 4,
                loops: None
            },
            "the first 10 mod 3 workers take one more user"
        );
        assert_eq!(closed.run_id, "r1", "--run-id is kept");
        let open =
            plan("json --rate 90 --max-users 5 --workers 3 --worker-index 2 --run-id r1").unwrap();
        assert_eq!(
            open.workload.model,
            Model::Open {
                rate: 30.0,
                max_users: 1
            },
            "a worker's open-model share is its part of the rate"
        );
        assert_eq!(
            open.workload.worker,
            Worker {
                index: 2,
                workers: 3
            },
            "the worker index and count are kept"
        );
        let error = plan("json --users 2 --workers 3 --worker-index 2 --run-id r1")
            .unwrap_err()
            .0;
        assert!(error.contains("without a user"), "{error}");
    }

    #[test]
    fn inconsistent_flags_are_one_line_errors() {
        for (args, words) in [
            ("json --users 0", "--users"),
            ("json --loops 0", "--loops"),
            ("json --rate 10 --loops 3", "closed model"),
            ("json --rate 0", "--rate"),
            ("json --rate 5 --wait 1s", "--wait"),
            ("json --threads 0", "--threads"),
            ("json --method NOT\u{1}", "HTTP method"),
            ("json --expect-status 1000", "status"),
            ("json -H no-colon", "'Name: value'"),
            ("json -H bad\u{1}name:x", "header name"),
            ("json --max-body 0", "--max-body"),
            ("json --insecure --cacert ca.pem", "--insecure"),
            (
                "json --body-file /no/such/file",
                "--body-file /no/such/file",
            ),
        ] {
            let error = plan(args).unwrap_err().0;
            assert!(error.contains(words), "{args}: {error}");
            assert!(!error.contains('\n'), "a plan error is one line: {error}");
        }
    }
}
