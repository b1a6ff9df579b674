//! racebench-demo, what `make bench` runs: the whole tool chain in one story. It starts
//! `mock-server` on a free loopback port, runs `loadgen` against it in seven acts (the first
//! article, the test timer, throughput, the open model while the server stalls, isolation, every
//! fault of the catalogue switched on at run time, the fix), prints a summary table, writes JSON
//! and HTML reports, and never leaves the server running.
//!
//! Layout:
//! - [`cli`]: the command line and the validated [`cli::Plan`].
//! - [`server`]: the `mock-server` child, stopped on success, failure, panic, signal, and (through
//!   its stdin) even when the demo is killed.
//! - [`admin`]: the admin API calls (delay, faults, reset).
//! - [`loadgen`]: the `loadgen` child, its output streamed, its JSON report read back.
//! - [`acts`]: the seven acts and their verdicts.
//! - [`faults`]: act 6's plan and expectation for each fault.
//! - [`table`]: verdicts and the summary table.
//! - [`console`]: headlines and indentation; colour only on a terminal.
//! - [`error`]: set-up failures.

pub mod acts;
pub mod admin;
pub mod cli;
pub mod console;
pub mod error;
pub mod faults;
pub mod loadgen;
pub mod server;
pub mod table;

use std::{process::ExitCode, time::Instant};

use crate::{
    acts::Stage, admin::Admin, cli::Plan, console::Console, error::Error, loadgen::Loadgen,
    server::Server, table::Verdict,
};

/// Runs the plan until it ends or a signal stops it, prints what happened, and returns the exit
/// code: 0 every act met its expectation, 1 one did not, 2 the demo could not run, 130/143 after
/// SIGINT/SIGTERM. Whatever ends the run, the server is stopped before this returns.
pub async fn main_with(plan: Plan) -> ExitCode {
    let console = Console::detect();
    // Dropping `run` on a signal drops the server handle, which stops the server.
    let ended = tokio::select! {
        result = run(&plan, console) => Ok(result),
        signal = signal() => Err(signal),
    };
    match ended {
        Ok(Ok(verdicts)) if verdicts.iter().all(|v| v.passed) => ExitCode::SUCCESS,
        Ok(Ok(_)) => ExitCode::FAILURE,
        Ok(Err(error)) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
        Err((name, code)) => {
            eprintln!("racebench-demo: {name}: stopped, and so is the server");
            ExitCode::from(code)
        }
    }
}

/// Starts the server, runs the acts, stops the server, prints the summary.
pub async fn run(plan: &Plan, console: Console) -> Result<Vec<Verdict>, Error> {
    let started = Instant::now();
    std::fs::create_dir_all(&plan.out_dir)
        .map_err(Error::io(format!("create {}", plan.out_dir.display())))?;
    let log = plan.out_dir.join("mock-server.log");
    println!("{}", console.bold("racebench demo"));
    let mut server = Server::start(&plan.bin_dir.join("mock-server"), &log).await?;
    println!(
        "mock-server (pid {}) listening on {}; its log: {}",
        server.pid,
        server.url,
        log.display()
    );
    let stage = Stage {
        console,
        admin: Admin::new(&server.url),
        loadgen: Loadgen::new(plan.bin_dir.join("loadgen"), console),
        url: server.url.clone(),
        out_dir: plan.out_dir.clone(),
    };
    let verdicts = acts(&stage, plan).await;
    let verdicts = match (verdicts, server.exited()) {
        (Err(cause), Some(status)) => {
            return Err(Error::ServerExited {
                status: status.to_string(),
                log,
                cause: Box::new(cause),
            });
        }
        (verdicts, _) => verdicts,
    };
    let status = server.stop().await;
    println!();
    match status {
        Some(status) => println!("mock-server stopped ({status})"),
        None => println!("mock-server did not stop within 5 s: killed"),
    }
    let verdicts = verdicts?;
    summary(&console, plan, &verdicts, started)?;
    Ok(verdicts)
}

/// The acts of the plan, in order.
async fn acts(stage: &Stage, plan: &Plan) -> Result<Vec<Verdict>, Error> {
    stage.admin.health().await?;
    let mut verdicts = Vec::new();
    for act in &plan.acts {
        match act {
            1 => verdicts.push(acts::article(stage).await?),
            2 => verdicts.push(acts::timer(stage).await?),
            3 => verdicts.push(acts::throughput(stage).await?),
            4 => verdicts.push(acts::open_model(stage).await?),
            5 | 7 => verdicts.push(acts::clean(stage, *act).await?),
            6 => {
                let names = match &plan.faults {
                    Some(names) => names.clone(),
                    None => stage
                        .admin
                        .faults()
                        .await?
                        .faults
                        .into_iter()
                        .map(|fault| fault.name)
                        .collect(),
                };
                verdicts.extend(acts::faults(stage, &names).await?);
            }
            _ => {}
        }
    }
    Ok(verdicts)
}

/// The table, the report files, the time taken; `summary.json` beside the reports.
fn summary(
    console: &Console,
    plan: &Plan,
    verdicts: &[Verdict],
    started: Instant,
) -> Result<(), Error> {
    println!();
    println!("{}", console.bold("Summary"));
    table::print(console, verdicts);
    let path = plan.out_dir.join("summary.json");
    let json = serde_json::to_string_pretty(verdicts).expect("verdicts serialize");
    std::fs::write(&path, json + "\n").map_err(Error::io(format!("write {}", path.display())))?;
    println!();
    println!("Reports (JSON, HTML, evidence as JSON lines):");
    for verdict in verdicts {
        let files: Vec<String> = verdict
            .reports
            .iter()
            .filter(|path| path.exists())
            .map(|path| path.display().to_string())
            .collect();
        if !files.is_empty() {
            println!("  {}", files.join("  "));
        }
    }
    println!("  {}", path.display());
    let failed = verdicts.iter().filter(|v| !v.passed).count();
    println!();
    println!(
        "{} of {} expectations met in {:.0} s: {}",
        verdicts.len() - failed,
        verdicts.len(),
        started.elapsed().as_secs_f64(),
        console.pass_fail(failed == 0)
    );
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM with the signal's name and the exit code it maps to.
async fn signal() -> (&'static str, u8) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = match signal(SignalKind::terminate()) {
            Ok(terminate) => terminate,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return ("SIGINT", 130);
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => ("SIGINT", 130),
            _ = terminate.recv() => ("SIGTERM", 143),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        ("SIGINT", 130)
    }
}
