//! loadgen: a load generator that measures right — closed and open workload models, checks and
//! outcomes, exact percentiles, reports, thresholds — and is fast enough that the generator is
//! not what it measures.
//!
//! The binary is [`main_with`] over a parsed [`plan::Plan`]; tests call [`run`] in-process.
//!
//! Layout:
//! - [`cli`]: clap derive, every flag with a default and a `LOADGEN_*` variable.
//! - [`plan`]: the validated plan (configuration errors exit 2 with one line).
//! - [`preflight`]: one connect and one request before the load; unreachable exits 2.
//! - [`client`]: one keep-alive HTTP/1.1 connection per virtual user (hyper's low-level client).
//! - [`scenario`]: the [`scenario::Scenario`] trait, the per-user [`scenario::Session`], and the
//!   `json` scenario.
//! - [`checks`]: outcomes (pass, fail, exception, timeout, leak, lost_write, corrupt) and checks.
//! - [`runner`]: users, spawn rate, closed and open models, timer, signals, the collector.
//! - [`stats`]: sharded recording, HdrHistograms with exact percentiles, intervals.
//! - [`report`]: the report (JSON contract), text summary, CSV, HTML, live progress.
//! - [`thresholds`]: `p99<250ms`-style CI gates.
//! - [`exit`]: the exit code of a finished run (0, 1, 2, 3, 130, 143).
//! - [`selfcheck`]: scheduler lag and CPU, to flag a saturated generator.

pub mod checks;
pub mod cli;
pub mod client;
pub mod exit;
pub mod plan;
pub mod preflight;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod selfcheck;
pub mod stats;
pub mod thresholds;

use std::{future::Future, process::ExitCode, sync::Arc};

use exit::Exit;
use plan::{Plan, PlanError, ScenarioPlan};
use report::{Report, progress::Live};

/// Runs `plan` until it stops (loops, duration, or `shutdown`), and returns the report with its
/// thresholds evaluated. Only set-up problems (an unresolvable URL, a threshold naming an unknown
/// request) are errors; failed requests are in the report.
pub async fn run(
    plan: &Plan,
    shutdown: impl Future<Output = ()> + Send + 'static,
    live: Live,
) -> Result<Report, PlanError> {
    // Kept until the run ends: dropping it stops the metrics server.
    let (live, _metrics_server) = match plan.output.metrics_listen {
        Some(addr) => {
            let metrics = report::metrics::Metrics::default();
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
    let run = match &plan.scenario {
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
            start(plan, Arc::new(scenario), target, shutdown, live).await?
        }
        ScenarioPlan::File(file) => {
            let scenario = scenario::file::File::new(file.script.clone(), &target);
            start(plan, Arc::new(scenario), target, shutdown, live).await?
        }
        ScenarioPlan::Cities(cities) => {
            let journal = match &cities.score {
                Some(admin) => Some(
                    scenario::cities::score::Journal::open(admin)
                        .await
                        .map_err(PlanError)?,
                ),
                None => None,
            };
            let scenario = Arc::new(scenario::cities::Cities::new(cities.options.clone()));
            let (ledger, evidence) = (scenario.ledger(), scenario.evidence());
            let run = start(plan, scenario, target, shutdown, live).await?;
            let mut report = Report::new(plan, run);
            report.evidence = evidence.evidence();
            if let Some(journal) = journal {
                match journal.score(&ledger, &evidence.leaks()).await {
                    Ok(score) => report.score = Some(score),
                    Err(error) => eprintln!("warning: --score: {error}"),
                }
            }
            report.apply_thresholds(plan);
            return Ok(report);
        }
    };
    let mut report = Report::new(plan, run);
    report.apply_thresholds(plan);
    Ok(report)
}

async fn start<S: scenario::Scenario>(
    plan: &Plan,
    scenario: Arc<S>,
    target: Arc<client::Target>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    live: Live,
) -> Result<runner::Run, PlanError> {
    plan.check_threshold_names(&scenario.steps())?;
    preflight::check(&plan.url, &target, scenario.probe(), plan.workload.timeout).await?;
    Ok(runner::run(&plan.workload, scenario, target, shutdown, live).await)
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
    print!("{}", report::text::render(&report));
    print!("{}", report::findings::render(&report));
    let outputs = [
        (
            &plan.output.json_out,
            report::json::write as fn(&Report, &_) -> _,
        ),
        (&plan.output.csv_out, report::csv::write),
        (&plan.output.html_out, report::html::write),
    ];
    for (path, write) in outputs {
        if let Some(path) = path
            && let Err(error) = write(&report, path)
        {
            return fail(&format!("cannot write {}: {error}", path.display()));
        }
    }
    let (mut violations, mut breaches) = (Vec::new(), Vec::new());
    if let ScenarioPlan::Cities(cities) = &plan.scenario {
        if let Some(path) = &cities.evidence_out
            && let Err(error) = report::findings::write_evidence(&report, path)
        {
            return fail(&format!("cannot write {}: {error}", path.display()));
        }
        for (class, count) in report::findings::failing(&report, cities) {
            let message = format!(
                "violation: {count} {} (allow with --allow {})",
                class.as_str(),
                class.as_str()
            );
            eprintln!("{message}");
            violations.push(message);
        }
    }
    for verdict in report.thresholds.iter().filter(|v| !v.passed) {
        let message = format!("threshold breached: {}", verdict.threshold);
        eprintln!("{message}");
        breaches.push(message);
    }
    Exit::judge(&report, violations, breaches, report.interrupted_by).report()
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
