//! loadgen: a load generator that measures right — closed and open workload models, checks and
//! outcomes, exact percentiles, reports, thresholds — and is fast enough that the generator is
//! not what it measures.
//!
//! The binary is [`main_with`] over a parsed [`plan::Plan`]; tests call [`run`] in-process.
//!
//! Layout:
//! - [`api`]: the API description, the one adapter between HTTP and the isolation test's oracle.
//! - [`cli`]: clap derive, every flag with a default and a `LOADGEN_*` variable.
//! - [`plan`]: the validated plan (configuration errors exit 2 with one line).
//! - [`preflight`]: one connect and one request before the load; unreachable exits 2.
//! - [`client`]: one keep-alive HTTP/1.1 connection per virtual user (hyper's low-level client).
//! - [`scenario`]: the [`scenario::Scenario`] trait, the per-user [`scenario::Session`], and the
//!   `json` scenario.
//! - [`checks`]: outcomes (pass, fail, exception, timeout, leak, lost_write, corrupt) and checks.
//! - [`runner`]: users, spawn rate, closed and open models, timer, signals, the collector.
//! - [`stats`]: sharded recording, HdrHistograms with exact percentiles, intervals.
//! - [`report`]: the report (JSON contract), text summary, CSV, HTML, JUnit, merge, compare.
//! - [`output`]: where a finished report goes (files, the summary).
//! - [`thresholds`]: `p99<250ms`-style CI gates.
//! - [`exit`]: the exit code of a finished run (0, 1, 2, 3, 130, 143).
//! - [`selfcheck`]: scheduler lag and CPU, to flag a saturated generator.
//! - [`offline`]: `loadgen merge` and `loadgen compare`, which read reports instead of running.
//! - [`describe`]: `loadgen describe`, an API description inferred from an OpenAPI document.
//! - [`repro`]: `loadgen repro` (a violation to its racing pair) and `loadgen replay`.

pub mod api;
pub mod checks;
pub mod cli;
pub mod client;
pub mod describe;
pub mod exit;
pub mod offline;
pub mod output;
pub mod plan;
pub mod preflight;
pub mod report;
pub mod repro;
pub mod runner;
pub mod scenario;
pub mod selfcheck;
pub mod stats;
pub mod summary;
pub mod thresholds;

use std::{future::Future, process::ExitCode, sync::Arc, time::Instant};

use cli::{Cli, Command};
use exit::Exit;
use plan::{Plan, PlanError, ScenarioPlan};

use report::Report;
use runner::live::Live;

pub use output::{Files, print_summary};

/// Runs `plan` until it stops (loops, duration, or `shutdown`), and returns the report with its
/// findings and thresholds. Only set-up problems (an unresolvable URL, a threshold naming an
/// unknown request, a failed preflight) are errors; failed requests are in the report.
pub async fn run(
    plan: &Plan,
    shutdown: impl Future<Output = ()> + Send + 'static,
    live: Live,
) -> Result<Report, PlanError> {
    let shutdown = runner::stop::Shutdown::relay(shutdown);
    // Kept until the run ends: dropping it stops the metrics server.
    let (live, _metrics_server) = match plan.output.metrics_listen {
        Some(addr) => {
            let metrics = runner::metrics::Metrics::default();
            let server = metrics.serve(addr).await.map_err(|error| {
                PlanError(format!("--metrics-listen {addr}: cannot listen: {error}"))
            })?;
            eprintln!("metrics: http://{}/metrics", server.addr);
            (live.with_metrics(metrics), Some(server))
        }
        None => (live, None),
    };
    let target = Arc::new(
        client::Target::resolve_with(&plan.url, &plan.workload.client)
            .await
            .map_err(PlanError)?,
    );
    match &plan.scenario {
        ScenarioPlan::Json(json) => {
            let scenario = scenario::json::Json::new(
                &target,
                json.name.clone(),
                json.method.clone(),
                json.body.clone(),
                json.headers.clone(),
                json.content_type.clone(),
                json.checks.clone(),
            );
            start(plan, Arc::new(scenario), target, shutdown, live).await
        }
        ScenarioPlan::File(file) => {
            let scenario = scenario::file::File::new(file.script.clone(), &target);
            start(plan, Arc::new(scenario), target, shutdown, live).await
        }
        ScenarioPlan::Cities(cities) => {
            let scenario = scenario::cities::Cities::new(cities.options.clone());
            start(plan, Arc::new(scenario), target, shutdown, live).await
        }
    }
}

/// The one path of every scenario: prepare, run, finish, report. A shutdown during the set-up
/// (the preflight, the scenario's own) ends it there, and the run starts stopped: an empty report.
async fn start<S: scenario::Scenario>(
    plan: &Plan,
    scenario: Arc<S>,
    target: Arc<client::Target>,
    shutdown: runner::stop::Shutdown,
    live: Live,
) -> Result<Report, PlanError> {
    plan.check_threshold_names(&scenario.steps())?;
    let set_up = Instant::now();
    let preflight = async {
        preflight::check(
            &plan.url,
            &target,
            || scenario.probe(),
            plan.workload.timeout,
        )
        .await?;
        scenario.prepare(&target).await.map_err(PlanError)
    };
    tokio::select! {
        result = preflight => result?,
        () = shutdown.requested() => {}
    }
    let preflight_s = set_up.elapsed().as_secs_f64();
    let run = runner::run(
        &plan.workload,
        scenario.clone(),
        target,
        shutdown.requested(),
        live,
    )
    .await;
    let findings = scenario.finish().await;
    let mut report = Report::new(&plan.setting(), run);
    report.preflight_s = Some(preflight_s);
    report.apply_findings(findings);
    report.evaluate(&plan.thresholds);
    Ok(report)
}

/// The binary after parsing: `merge` and `compare` read reports, every other command runs load.
pub fn main_of(cli: Cli) -> ExitCode {
    // Commands that write no run report give the signals back (see `runner::stop::install`).
    if matches!(
        cli.command,
        Command::Merge(_)
            | Command::Compare(_)
            | Command::Repro(_)
            | Command::Replay(_)
            | Command::Describe(_)
    ) {
        runner::stop::release();
    }
    match cli.command {
        Command::Merge(args) => offline::merge(args),
        Command::Compare(args) => offline::compare(args),
        Command::Repro(args) => repro::main_repro(args),
        Command::Replay(args) => repro::main_replay(args),
        Command::Describe(args) => describe::main_describe(args),
        command => match Plan::from_cli(Cli { command }) {
            Ok(plan) => main_with(plan),
            Err(error) => fail(&error.to_string()),
        },
    }
}

/// `loadgen completions` and `loadgen man` ([`cli::docs`]): the exit code once printed (2 with a
/// one-line reason when stdout cannot be written), `None` for every other command.
pub fn print_docs(command: &Command) -> Option<ExitCode> {
    cli::docs::print(command).map(|written| match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => Exit::Setup(format!("cannot write: {error}")).report(),
    })
}

/// The binary: builds the runtime (`--threads`), runs until done or Ctrl-C / SIGTERM, prints the
/// summary, writes the files, and maps the run to its exit code ([`exit::Exit`]: 0 clean,
/// 1 violations or breach, 2 set-up error, 3 tested nothing, 130/143 interrupted).
pub fn main_with(plan: Plan) -> ExitCode {
    let runtime = if plan.workload.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(plan.workload.threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => return fail(&format!("cannot start the runtime: {error}")),
    };
    let files = Files {
        json: plan.output.json_out.as_deref(),
        csv: plan.output.csv_out.as_deref(),
        html: plan.output.html_out.as_deref(),
        junit: plan.output.junit_out.as_deref(),
    };
    // A report that cannot be written fails now, not after the whole run.
    if let Err(error) = files.check(plan.output.evidence_out.as_deref()) {
        return fail(&error);
    }
    let live = Live::new(&plan);
    let caught = Arc::new(std::sync::OnceLock::new());
    let shutdown = {
        let caught = caught.clone();
        async move {
            let _ = caught.set(runner::stop::caught().await);
        }
    };
    let mut report = match runtime.block_on(run(&plan, shutdown, live)) {
        Ok(report) => report,
        Err(error) => return fail(&error.to_string()),
    };
    report.interrupted_by = caught.get().copied();
    report.command_line = Some(command_line());
    print_summary(
        &format!(
            "{}{}",
            report::text::render(&report),
            report::findings::render(&report)
        ),
        &files,
    );
    // The run's own `--allow` travels in the report (`Report::allowed`).
    if let Err(error) = files.write(&report, &[]) {
        return fail(&error);
    }
    if let Some(path) = &plan.output.evidence_out
        && let Err(error) = report::findings::write_evidence(&report, path)
    {
        return fail(&format!("cannot write {}: {error}", path.display()));
    }
    let written = files.written(plan.output.evidence_out.as_deref());
    if !written.is_empty() {
        print_summary(&format!("Reports: {}\n", written.join(", ")), &files);
    }
    let (violations, breaches) = verdicts(&report);
    for message in violations.iter().chain(&breaches) {
        eprintln!("{message}");
    }
    let exit = Exit::judge(&report, violations, breaches, report.interrupted_by);
    let verdict = exit.verdict(&report);
    let code = exit.report();
    print_summary(&format!("{verdict}\n"), &files);
    code
}

/// The messages of the violation classes that fail the run and of the breached thresholds.
fn verdicts(report: &Report) -> (Vec<String>, Vec<String>) {
    let violations = report::findings::failing(report)
        .into_iter()
        .map(|(class, count)| match class {
            "timeout" => format!(
                "timeouts: {count} (not violations; they fail an isolation run: allow with --allow timeout)"
            ),
            _ => format!("violation: {count} {class} (allow with --allow {class})"),
        })
        .collect();
    let breaches = report
        .thresholds
        .iter()
        .filter(|v| !v.passed)
        .map(|v| format!("threshold breached: {}", v.threshold))
        .collect();
    (violations, breaches)
}

/// The exit code a finished run's report means (see [`exit::Exit`]).
pub fn exit_code_of(report: &Report) -> u8 {
    let (violations, breaches) = verdicts(report);
    Exit::judge(report, violations, breaches, report.interrupted_by).code()
}

/// This process's arguments, quoted where a shell would need it.
fn command_line() -> String {
    std::env::args()
        .map(|arg| {
            let plain = !arg.is_empty()
                && arg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c));
            if plain {
                arg
            } else {
                format!("'{}'", arg.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn fail(message: &str) -> ExitCode {
    Exit::Setup(message.to_owned()).report()
}
