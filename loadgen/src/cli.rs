//! The command line, as typed: clap derive, every flag documented, defaulted and settable through a
//! `LOADGEN_*` variable. [`crate::plan`] validates it into the plan the engine runs.
//!
//! Workload and output flags are their own structs, flattened into each scenario's subcommand, so
//! `loadgen cities` (next) takes the same `--users`, `--duration`, `--json-out`, `--threshold`...

use std::{path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand};
use shared::duration::{DurationRange, duration_arg};

use crate::{checks::JsonCheck, thresholds::Threshold};

pub mod cities;
pub mod client;
pub mod describe;
pub mod docs;
pub mod mistakes;
pub mod offline;
pub mod repro;

pub use cities::{Check, CitiesArgs, ViolationClass};
pub use client::ClientArgs;
pub use describe::DescribeArgs;
pub use offline::{CompareArgs, MergeArgs};
pub use repro::{ReplayArgs, ReproArgs};

/// A load generator that measures right: closed and open models, exact percentiles, reports and
/// CI thresholds.
///
/// `loadgen URL [FLAGS]` is short for `loadgen json URL [FLAGS]`: `loadgen http://127.0.0.1:8020/json
/// -u 50 -d 10s`.
#[derive(Debug, Parser)]
#[command(name = "loadgen", version, about, max_term_width = 100, after_help = shared::cli::ARTICLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Scenarios.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The first article's test: one request (`GET /json`) per iteration, checked
    ///
    /// The first article: Peter Xie, "Scale-up REST API Functional Tests to Performance Tests in
    /// Python" (2019),
    /// https://peter-jp-xie.medium.com/scale-up-rest-api-functional-tests-to-performance-tests-in-python-3239859c0e27
    Json(JsonArgs),
    /// The isolation test on any API described by `--api FILE`: every user gets an account, then
    /// creates, reads back, lists, probes and checks records; finds and names cross-user leaks,
    /// lost writes and corruption (exit 1), after a preflight that exits 2 on a wrong description
    Isolation(CitiesArgs),
    /// The second article's preset of the isolation test (racebench mock-server's cities API):
    /// register, log in, then create, read back and check cities
    ///
    /// The second article: "Using Locust to load test a FastAPI app with concurrent users"
    /// (peterspython.com, 2021),
    /// https://www.peterspython.com/en/blog/using-locust-to-load-test-a-fastapi-app-with-concurrent-users
    Cities(CitiesArgs),
    /// An API description for `isolation` from an OpenAPI 3.0/3.1 document: signup, login, the
    /// records and what statuses mean, each choice commented with the operation it came from;
    /// exit 2 listing what could not be inferred; with `--base-url`, the preflight says whether
    /// the file works
    Describe(DescribeArgs),
    /// One report from the JSON reports of a run's workers: counts summed, histograms merged
    /// exactly, intervals aligned on wall-clock time, thresholds evaluated on the merged figures
    Merge(MergeArgs),
    /// A run against a baseline: rps and latency percentiles side by side with the change in
    /// percent; `--max-regression` fails (exit 1) naming what regressed
    Compare(CompareArgs),
    /// One violation of a run's evidence (`--evidence-out` lines or a JSON report) to a small TOML
    /// reproduction: the two users' set-up and the racing pair, with the expected verdict
    Repro(ReproArgs),
    /// A reproduction replayed: two fresh users each attempt, the racing pair sent last-byte
    /// synchronised; exit 1 "REPRODUCED k/N", 0 "FIXED after N attempts", 2 set-up error, 3 no
    /// attempt could run
    Replay(ReplayArgs),
    /// A scenario file: named requests in sequence or by weight, values extracted from one answer
    /// into the next request, checks, think time, stages and thresholds
    Run(RunArgs),
    /// Print shell completions: `loadgen completions bash > /etc/bash_completion.d/loadgen`
    Completions {
        /// bash, zsh, fish, elvish or powershell
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `loadgen man > loadgen.1 && man ./loadgen.1`
    Man,
}

/// `loadgen run FILE.toml`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file (TOML; see fixtures/scenarios/)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Base URL the requests' paths are relative to [default: the file's `base-url`]
    #[arg(long, env = "LOADGEN_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,

    #[command(flatten)]
    pub workload: WorkloadArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// `loadgen json`.
#[derive(Debug, Args)]
pub struct JsonArgs {
    /// URL to load, as oha, wrk and curl take it: `http://` or `https://`; `user:password@` in it
    /// is sent as Basic auth [default: http://127.0.0.1:8020/json]
    #[arg(value_name = "URL")]
    pub target: Option<String>,

    /// The URL as a flag, the same as the positional URL
    #[arg(long, env = "LOADGEN_URL", value_name = "URL")]
    pub url: Option<String>,

    /// HTTP method
    #[arg(
        long,
        env = "LOADGEN_METHOD",
        default_value = "GET",
        value_name = "METHOD"
    )]
    pub method: String,

    /// Request body, sent as `--content-type` when not empty
    #[arg(long, env = "LOADGEN_BODY", default_value = "", value_name = "TEXT")]
    pub body: String,

    /// Request body read from a file (read once, sent with every request); excludes `--body`
    #[arg(
        long,
        env = "LOADGEN_BODY_FILE",
        value_name = "FILE",
        conflicts_with = "body"
    )]
    pub body_file: Option<PathBuf>,

    /// `Content-Type` of a non-empty body
    #[arg(
        long,
        env = "LOADGEN_CONTENT_TYPE",
        default_value = "application/json",
        value_name = "TYPE"
    )]
    pub content_type: String,

    /// A request header, `Name: value`; repeatable. Replaces a default of the same name
    /// (`User-Agent`, `Content-Type`, the URL's Basic `Authorization`) [default: none]
    #[arg(
        short = 'H',
        long = "header",
        env = "LOADGEN_HEADER",
        value_name = "NAME: VALUE",
        value_delimiter = '\n'
    )]
    pub headers: Vec<String>,

    /// Name of the request in reports and thresholds (`'GET /json:p99<250ms'`) [default: the
    /// method and the URL's path, `GET /json`]
    #[arg(long, env = "LOADGEN_NAME", value_name = "NAME")]
    pub name: Option<String>,

    /// Expected status; anything else is a `fail` (0 accepts any status)
    #[arg(
        long,
        env = "LOADGEN_EXPECT_STATUS",
        default_value_t = 200,
        value_name = "CODE"
    )]
    pub expect_status: u16,

    /// A JSON body field must equal a value: `code=1`, `data.name="x"`; repeatable [default: none]
    #[arg(long, env = "LOADGEN_EXPECT_JSON", value_name = "PATH=VALUE", value_parser = JsonCheck::parse)]
    pub expect_json: Vec<JsonCheck>,

    #[command(flatten)]
    pub workload: WorkloadArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// When and how much: users, loops, duration, arrival rate.
#[derive(Debug, Clone, Args)]
pub struct WorkloadArgs {
    /// Closed model: concurrent virtual users, each with its own keep-alive connection
    /// [default: 1]
    #[arg(short, long, env = "LOADGEN_USERS", value_name = "N")]
    pub users: Option<usize>,

    /// Users started per second [default: all at once]
    #[arg(long, env = "LOADGEN_SPAWN_RATE", value_name = "PER_SEC")]
    pub spawn_rate: Option<f64>,

    /// Closed model: iterations per user (the first article's loop_times) [default: unlimited]
    #[arg(short, long, env = "LOADGEN_LOOPS", value_name = "N")]
    pub loops: Option<u64>,

    /// Stop after this long (the first article's test timer), whichever of loops or duration comes
    /// first: `30s`, `5m` [default: unlimited]
    #[arg(short, long, env = "LOADGEN_DURATION", value_name = "DURATION", value_parser = duration_arg)]
    pub duration: Option<Duration>,

    /// Closed model: pause between a user's iterations, fixed or uniform in a range: `0`,
    /// `500ms`, `0.5s..3s`
    #[arg(
        long,
        env = "LOADGEN_WAIT",
        default_value = "0",
        value_name = "DURATION[..DURATION]"
    )]
    pub wait: DurationRange,

    /// Per-request timeout; a request that takes longer is a `timeout` (counted as exception)
    #[arg(long, env = "LOADGEN_TIMEOUT", default_value = "30s", value_name = "DURATION", value_parser = duration_arg)]
    pub timeout: Duration,

    /// Open model: iterations started per second at constant arrival (as wrk2), latency also
    /// measured from each intended start [default: closed model]
    #[arg(short, long, env = "LOADGEN_RATE", value_name = "PER_SEC")]
    pub rate: Option<f64>,

    /// Open model: users (connections) available, hence most iterations in flight
    #[arg(
        long,
        env = "LOADGEN_MAX_USERS",
        default_value_t = 100,
        value_name = "N"
    )]
    pub max_users: usize,

    /// Runtime worker threads; 1 runs everything on one thread (fastest when pinned to one
    /// core) [default: the number of usable cores]
    #[arg(long, env = "LOADGEN_THREADS", value_name = "N")]
    pub threads: Option<usize>,

    #[command(flatten)]
    pub client: ClientArgs,

    #[command(flatten)]
    pub dist: DistArgs,
}

/// One run on many generator processes ("workers"): each runs its share and writes its report;
/// `loadgen merge` makes one report of them.
#[derive(Debug, Clone, Args)]
pub struct DistArgs {
    /// Run id shared by the worker processes of one run: in every marker, and checked by `loadgen
    /// merge` [default: random; required with --workers above 1]
    #[arg(long, env = "LOADGEN_RUN_ID", value_name = "ID")]
    pub run_id: Option<String>,

    /// This process's index among --workers, from 0 [default: $JOB_COMPLETION_INDEX (a Kubernetes
    /// Indexed Job sets it), else 0]
    #[arg(long, env = "LOADGEN_WORKER_INDEX", value_name = "K")]
    pub worker_index: Option<usize>,

    /// Worker processes sharing the run: --users, --max-users and --rate are split among them
    /// (worker K takes the users K, K+N, K+2N...; the first USERS mod N workers get one more)
    #[arg(long, env = "LOADGEN_WORKERS", default_value_t = 1, value_name = "N")]
    pub workers: usize,

    /// Start at a wall-clock time, so that the workers' intervals line up: RFC 3339
    /// (`2026-12-01T10:00:00Z`), `+5s` from now, or `@10s`, the next multiple of 10 s since the
    /// Unix epoch [default: at once]
    #[arg(long, env = "LOADGEN_START_AT", value_name = "WHEN")]
    pub start_at: Option<String>,
}

/// What to print and write.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Print a progress line this often (a progress bar instead when stdout is a terminal)
    #[arg(long, env = "LOADGEN_REPORT_EVERY", default_value = "5s", value_name = "DURATION", value_parser = duration_arg)]
    pub report_every: Duration,

    /// No progress output; only the final summary
    #[arg(short, long, env = "LOADGEN_QUIET")]
    pub quiet: bool,

    /// Write the full summary as JSON (schema: fixtures/report.schema.json); `-` writes it to
    /// stdout as one line (the summary then goes to stderr), for `kubectl logs`
    #[arg(long, env = "LOADGEN_JSON_OUT", value_name = "FILE")]
    pub json_out: Option<PathBuf>,

    /// Write one CSV row per interval per request name
    #[arg(long, env = "LOADGEN_CSV_OUT", value_name = "FILE")]
    pub csv_out: Option<PathBuf>,

    /// Write a self-contained HTML report with charts
    #[arg(long, env = "LOADGEN_HTML_OUT", value_name = "FILE")]
    pub html_out: Option<PathBuf>,

    /// Write a JUnit XML file for CI test reporters: one test case per threshold, per violation
    /// class and per request name's checks
    #[arg(long, env = "LOADGEN_JUNIT_OUT", value_name = "FILE")]
    pub junit_out: Option<PathBuf>,
    /// Serve live metrics for Prometheus at http://ADDR/metrics while the run goes on (text
    /// exposition format, updated every second): `127.0.0.1:9464`; port 0 picks a free port
    #[arg(long, env = "LOADGEN_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,

    /// Fail (exit 1) unless this holds: `p99<250ms`, `fail_rate<0.01`, `rps>100`,
    /// `read:p95<50ms`; repeatable [default: none]
    #[arg(long, env = "LOADGEN_THRESHOLD", value_name = "[NAME:]METRIC<OP>VALUE", value_parser = Threshold::parse)]
    pub threshold: Vec<Threshold>,
}
