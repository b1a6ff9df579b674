//! The seven acts of `make bench`, each a headline (what it shows), a loadgen run streamed below
//! it, and a [`Verdict`] against a written expectation.
//!
//! 1. the first article's test, 2. the test timer, 3. throughput, 4. the open model while the
//!    server stalls, 5. isolation with no fault, 6. every fault switched on at run time,
//!    7. every fault off again.

use std::{
    path::PathBuf,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::{
    admin::Admin,
    console::Console,
    error::Error,
    faults::{Class, FaultPlan, First},
    loadgen::{Finished, Loadgen, Report},
    table::{Verdict, thousands},
};

/// Act 4: the rate, connections and length of the open-model run, and when and how the server
/// stalls. 10 stuck requests among ~3,000 stay under 1 %, so the uncorrected p99 never sees the
/// stall; the ~500 iterations that were due during it do, once measured from their intended start.
const OPEN_RATE: &str = "500";
const OPEN_USERS: &str = "10";
const OPEN_DURATION: &str = "6s";
const STALL_AT: Duration = Duration::from_secs(2);
const STALL_DELAY: &str = "1s";
const STALL_FOR: Duration = Duration::from_millis(300);

/// Acts 5 to 7: the cities scenario. 20 users (the second article's), a few seconds, every check
/// that needs no extra request pattern, and a short timeout so a hung server shows as `timeout`.
const CITIES_USERS: &str = "20";
const CITIES_DURATION: &str = "4s";
const CITIES_TIMEOUT: &str = "2s";
/// Act 6: when the fault is switched on, after the run starts.
const SWITCH_AT: Duration = Duration::from_secs(1);

/// Everything an act needs: the server's URL and admin API, loadgen, where reports go.
#[derive(Debug)]
pub struct Stage {
    pub console: Console,
    pub admin: Admin,
    pub loadgen: Loadgen,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub out_dir: PathBuf,
}

impl Stage {
    /// Runs loadgen with `args` plus `--html-out`, reports named `STEM.json` and `STEM.html`.
    async fn run(
        &self,
        stem: &str,
        mut args: Vec<String>,
    ) -> (Result<Finished, Error>, Vec<PathBuf>) {
        let json = self.out_dir.join(format!("{stem}.json"));
        let html = self.out_dir.join(format!("{stem}.html"));
        args.push("--html-out".into());
        args.push(html.display().to_string());
        let result = self.loadgen.run(&args, &json).await;
        (result, vec![json, html])
    }

    fn json_args(&self, extra: &[&str]) -> Vec<String> {
        let url = format!("{}{}", self.url, shared::paths::JSON);
        ["json", "--url", &url, "--expect-json", "code=1"]
            .iter()
            .chain(extra)
            .map(|s| (*s).to_owned())
            .collect()
    }

    /// The cities scenario of acts 5 to 7, with `extra` flags and an evidence file.
    fn cities_args(&self, stem: &str, extra: &[String]) -> (Vec<String>, PathBuf) {
        let evidence = self.out_dir.join(format!("{stem}.evidence.jsonl"));
        let base = format!("{}{}", self.url, shared::paths::API_V1);
        let mut args: Vec<String> = [
            "cities",
            "--base-url",
            &base,
            "--users",
            CITIES_USERS,
            "--duration",
            CITIES_DURATION,
            "--timeout",
            CITIES_TIMEOUT,
            "--list-check",
            "--probe-foreign",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.extend(extra.iter().cloned());
        args.push("--evidence-out".into());
        args.push(evidence.display().to_string());
        (args, evidence)
    }
}

/// Act 1: the first article's test, reproduced.
pub async fn article(stage: &Stage) -> Result<Verdict, Error> {
    let (act, expectation) = ("1 article", "10 requests, all pass, mean 200-250 ms");
    stage.console.headline(
        "Act 1",
        "the first article, reproduced",
        "GET /json with a 200 ms server delay, 2 users x 5 loops: exactly 10 requests of about \
         200 ms each, and the article's statistics, line for line.",
    );
    stage.admin.set_delay("200ms").await?;
    let args = stage.json_args(&["--users", "2", "--loops", "5"]);
    let (result, reports) = stage.run("act1-article", args).await;
    Ok(judge(
        stage,
        act,
        expectation,
        result,
        reports,
        |report, _code| {
            let r = &report.requests;
            let mean = report.latency_ms.mean;
            let passed = r.total == 10 && r.pass == 10 && (200.0..250.0).contains(&mean);
            let result = format!("{} requests, {} pass, mean {mean:.1} ms", r.total, r.pass);
            (passed, result)
        },
    ))
}

/// Act 2: the article's test timer, a duration that stops the loops.
pub async fn timer(stage: &Stage) -> Result<Verdict, Error> {
    let (act, expectation) = ("2 timer", "stopped by the 5 s duration, all pass");
    stage.console.headline(
        "Act 2",
        "the test timer",
        "2 users x 100 loops against the 200 ms delay would take 20 s; a 5 s duration stops the \
         run first (whichever comes first, as the article's timer).",
    );
    stage.admin.set_delay("200ms").await?;
    let args = stage.json_args(&["--users", "2", "--loops", "100", "--duration", "5s"]);
    let (result, reports) = stage.run("act2-timer", args).await;
    Ok(judge(
        stage,
        act,
        expectation,
        result,
        reports,
        |report, _code| {
            let r = &report.requests;
            let passed = report.stopped_by == "duration"
                && (4.9..5.5).contains(&report.duration_s)
                && r.total > 0
                && r.total == r.pass
                && r.total < 200;
            let result = format!(
                "stopped by {} after {:.2} s, {} requests, {} pass",
                report.stopped_by, report.duration_s, r.total, r.pass
            );
            (passed, result)
        },
    ))
}

/// Act 3: throughput with no delay.
pub async fn throughput(stage: &Stage) -> Result<Verdict, Error> {
    let (act, expectation) = ("3 throughput", "all pass, over 1,000 requests/s");
    stage.console.headline(
        "Act 3",
        "throughput",
        "GET /json with no delay for 10 s, 50 users on keep-alive connections: requests per \
         second and exact percentiles. Server and generator share the machine's cores, so this \
         is the pair's throughput, not the server's.",
    );
    stage.admin.set_delay("0").await?;
    let args = stage.json_args(&["--users", "50", "--duration", "10s"]);
    let (result, reports) = stage.run("act3-throughput", args).await;
    Ok(judge(
        stage,
        act,
        expectation,
        result,
        reports,
        |report, _code| {
            let r = &report.requests;
            let l = &report.latency_ms;
            let passed = r.total > 0 && r.total == r.pass && report.rps > 1000.0;
            let result = format!(
                "{} requests, {}/s, p50 {:.2} ms, p99 {:.2} ms",
                thousands(r.total),
                thousands(report.rps.round() as u64),
                l.p50,
                l.p99
            );
            (passed, result)
        },
    ))
}

/// Act 4: the open model while the server stalls; coordinated omission made visible.
pub async fn open_model(stage: &Stage) -> Result<Verdict, Error> {
    let (act, expectation) = (
        "4 open model",
        "corrected p99 >= 500 ms and >= 10x uncorrected",
    );
    stage.console.headline(
        "Act 4",
        "the open model while the server stalls",
        &format!(
            "{OPEN_RATE} requests/s at a fixed rate on {OPEN_USERS} connections for \
             {OPEN_DURATION}. {} s in, the server stalls: its delay goes to {STALL_DELAY} for \
             {} ms. Measured from each send, the stall is 10 slow requests and the p99 hides it \
             (coordinated omission); measured from each request's intended send time \
             (corrected), every request that was due during the stall counts its wait.",
            STALL_AT.as_secs(),
            STALL_FOR.as_millis()
        ),
    );
    stage.admin.set_delay("0").await?;
    let args = stage.json_args(&[
        "--rate",
        OPEN_RATE,
        "--max-users",
        OPEN_USERS,
        "--duration",
        OPEN_DURATION,
    ]);
    let stall = async {
        tokio::time::sleep(STALL_AT).await;
        stage.admin.set_delay(STALL_DELAY).await?;
        stage.console.line(&format!(
            ">> PUT /__admin/config {{\"delay\": \"{STALL_DELAY}\"}}: the server stalls"
        ));
        tokio::time::sleep(STALL_FOR).await;
        stage.admin.set_delay("0").await?;
        stage
            .console
            .line(">> PUT /__admin/config {\"delay\": \"0\"}: back to normal");
        Ok::<(), Error>(())
    };
    let ((result, reports), stalled) = tokio::join!(stage.run("act4-open-model", args), stall);
    stalled?;
    Ok(judge(
        stage,
        act,
        expectation,
        result,
        reports,
        |report, _code| {
            let uncorrected = report.latency_ms.p99;
            let Some(corrected) = report.latency_corrected_ms.map(|l| l.p99) else {
                return (false, "no corrected latency in the report".to_owned());
            };
            let late = report.open_model.map_or(0, |o| o.late);
            let scheduled = report.open_model.map_or(0, |o| o.scheduled);
            let passed = corrected >= 500.0 && corrected >= 10.0 * uncorrected;
            let result = format!(
                "p99 uncorrected {uncorrected:.2} ms, corrected {corrected:.1} ms; {} of {} late",
                thousands(late),
                thousands(scheduled)
            );
            (passed, result)
        },
    ))
}

/// Acts 5 and 7: the cities scenario with every fault off, zero violations expected.
pub async fn clean(stage: &Stage, act_number: u8) -> Result<Verdict, Error> {
    let (act, stem, title, what) = if act_number == 5 {
        (
            "5 isolation",
            "act5-isolation",
            "isolation, clean",
            format!(
                "loadgen cities: {CITIES_USERS} users register, log in, then create a city, read \
                 it back, list their own, and probe other users' ids, for {CITIES_DURATION}. \
                 Every response is scanned for other users' data. No fault is on: zero \
                 violations."
            ),
        )
    } else {
        (
            "7 the fix",
            "act7-fix",
            "the fix",
            "Every fault off again, so the correct twin of each bug runs: the same scenario, \
             zero violations."
                .to_owned(),
        )
    };
    let expectation = "0 violations, 0 fail, 0 exception";
    stage
        .console
        .headline(&format!("Act {act_number}"), title, &what);
    stage.admin.switch_faults(&[], &["*"]).await?;
    stage.admin.reset().await?;
    let (args, evidence) = stage.cities_args(stem, &["--score".to_owned()]);
    let (result, mut reports) = stage.run(stem, args).await;
    reports.push(evidence);
    Ok(judge(
        stage,
        act,
        expectation,
        result,
        reports,
        |report, code| {
            let r = &report.requests;
            let v = &report.violations;
            let violations = v.leak + v.lost_write + v.corrupt + v.timeout;
            let passed = code == 0 && r.total > 0 && r.total == r.pass && violations == 0;
            let result = format!(
                "{} requests, {violations} violations, {} fail, {} exception",
                thousands(r.total),
                r.fail,
                r.exception
            );
            (passed, result)
        },
    ))
}

/// Act 6: each fault in turn, switched on about a second into a cities run, off after it.
pub async fn faults(stage: &Stage, names: &[String]) -> Result<Vec<Verdict>, Error> {
    stage.console.headline(
        "Act 6",
        "every fault of the catalogue, switched on at run time",
        &format!(
            "For each fault: {CITIES_USERS} users run the cities scenario for {CITIES_DURATION}; \
             {} s in, the fault is switched on through PUT /__admin/faults, and off after the \
             run. What loadgen detected, its class, how soon after the switch, one line of \
             evidence; nothing may be detected before the switch.",
            SWITCH_AT.as_secs()
        ),
    );
    let mut verdicts = Vec::new();
    for name in names {
        verdicts.push(fault(stage, &FaultPlan::for_fault(name)).await?);
    }
    Ok(verdicts)
}

/// One fault of act 6.
async fn fault(stage: &Stage, plan: &FaultPlan) -> Result<Verdict, Error> {
    let console = &stage.console;
    let act = format!("6 {}", plan.name);
    let expectation = format!("{} after the switch", plan.expectation());
    let stem = format!("act6-{}", plan.name);
    println!();
    console.line(&console.bold(&format!("-- {}", plan.name)));
    stage.admin.switch_faults(&[], &["*"]).await?;
    stage.admin.reset().await?;
    let mut extra = plan.extra.clone();
    extra.extend(["--quiet", "--score", "--max-evidence", "3"].map(str::to_owned));
    let (mut args, evidence) = stage.cities_args(&stem, &extra);
    // The checks beside the peer-user ones run in `isolation` only (same scenario and flags).
    args[0] = plan.command.to_owned();
    let switch = async {
        tokio::time::sleep(SWITCH_AT).await;
        let at = SystemTime::now();
        stage
            .admin
            .switch_faults(std::slice::from_ref(&plan.enable), &[])
            .await?;
        console.line(&format!(
            ">> PUT /__admin/faults {{\"enable\": [\"{}\"]}}",
            plan.enable
        ));
        Ok::<SystemTime, Error>(at)
    };
    let ((result, mut reports), switched) = tokio::join!(stage.run(&stem, args), switch);
    stage.admin.switch_faults(&[], &["*"]).await?;
    console.line(">> PUT /__admin/faults {\"disable\": [\"*\"]}");
    let switched_at = switched?;
    reports.push(evidence);
    let verdict = judge(
        stage,
        &act,
        &expectation,
        result,
        reports,
        |report, _code| detection(console, plan, report, switched_at),
    );
    Ok(verdict)
}

/// Act 6's judgement of one run: an expected class seen, none of anything before the switch.
fn detection(
    console: &Console,
    plan: &FaultPlan,
    report: &Report,
    switched_at: SystemTime,
) -> (bool, String) {
    let switch_s = switched_at
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
        - report.started_at_unix_s;
    let seen: Vec<String> = crate::faults::CLASSES
        .iter()
        .filter_map(|class| {
            let n = class.count(report);
            (n > 0).then(|| format!("{} {}", class.name(), thousands(n)))
        })
        .collect();
    let detected: Vec<_> = plan
        .watched()
        .into_iter()
        .filter(|class| class.count(report) > 0)
        .collect();
    let first = first_detection(plan, report, &detected);
    let before = early(report, switch_s);
    console.line(&format!(
        "switched on {switch_s:.2} s into the run; seen: {}",
        if seen.is_empty() {
            "nothing".to_owned()
        } else {
            seen.join(", ")
        }
    ));
    if let Some(line) = evidence_line(report, &detected) {
        console.line(&format!("evidence: {line}"));
    }
    let mut result = match (&detected[..], first) {
        ([], _) => "nothing detected".to_owned(),
        (classes, Some(first)) => format!(
            "{}; first {}",
            classes
                .iter()
                .map(|c| format!("{} {}", c.name(), thousands(c.count(report))))
                .collect::<Vec<_>>()
                .join(", "),
            since_switch(first, switch_s)
        ),
        (classes, None) => classes
            .iter()
            .map(|c| format!("{} {}", c.name(), thousands(c.count(report))))
            .collect::<Vec<_>>()
            .join(", "),
    };
    if let Some(before) = &before {
        result.push_str(&format!("; {before}"));
    }
    (!detected.is_empty() && before.is_none(), result)
}

/// When the first request of a detected class ended: an exact time if any is known (the evidence,
/// or `first_violation_after_s` when every violation class seen is an expected one), otherwise the
/// earliest interval bound.
fn first_detection(plan: &FaultPlan, report: &Report, detected: &[Class]) -> Option<First> {
    let violations = [Class::Leak, Class::LostWrite, Class::Corrupt];
    let watched = plan.watched();
    let overall = report
        .first_violation_after_s
        .filter(|_| {
            detected.iter().any(|class| violations.contains(class))
                && violations
                    .iter()
                    .all(|class| class.count(report) == 0 || watched.contains(class))
        })
        .map(|at| First { at, exact: true });
    let firsts: Vec<First> = detected
        .iter()
        .filter_map(|class| class.first_at(report))
        .chain(overall)
        .collect();
    let earliest = |exact: bool| {
        firsts
            .iter()
            .filter(|first| first.exact == exact)
            .min_by(|a, b| a.at.total_cmp(&b.at))
            .copied()
    };
    earliest(true).or_else(|| earliest(false))
}

/// `0.02 s after the switch`, or for a time known only to the end of a one-second interval,
/// `within 0.37 s of the switch` (rounded up, never below 0.01 s).
fn since_switch(first: First, switch_s: f64) -> String {
    let after = (first.at - switch_s).max(0.0);
    if first.exact {
        format!("{after:.2} s after the switch")
    } else {
        format!(
            "within {:.2} s of the switch",
            ((after * 100.0).ceil() / 100.0).max(0.01)
        )
    }
}

/// Slack for comparing an exact time of loadgen's with the switch time of the demo's clock: the
/// two clocks are read at slightly different moments.
const CLOCK_SLACK_S: f64 = 0.02;
/// Slack for the one-second intervals: a request that ends just after a tick can be counted in
/// the interval before it (seen: a violation at 1.013 s in the interval ending at 1.001 s).
const TICK_SLACK_S: f64 = 0.25;

/// Anything that went wrong before the fault was switched on: the run was not clean before it.
/// Exact for violations (`first_violation_after_s`); for fail and exception, whole intervals
/// that ended well before the switch (none with the switch at 1 s: the first second's fails and
/// exceptions are left to act 5, the same scenario with every fault off).
fn early(report: &Report, switch_s: f64) -> Option<String> {
    if let Some(at) = report.first_violation_after_s
        && at < switch_s - CLOCK_SLACK_S
    {
        return Some(format!("a violation at {at:.3} s, before the switch"));
    }
    let early = report
        .all_rows()
        .filter(|(interval, _)| interval.end_s <= switch_s - TICK_SLACK_S)
        .any(|(_, row)| row.fail + row.exception + row.leak + row.lost_write + row.corrupt > 0);
    early.then(|| "failures before the switch".to_owned())
}

/// The first piece of evidence of the first detected class (of any class if none), or the first
/// failure reason when there is no evidence.
fn evidence_line(report: &Report, detected: &[Class]) -> Option<String> {
    let first_of = |class: &str| report.evidence.iter().find(|e| e.class == class);
    let evidence = detected
        .iter()
        .find_map(|class| first_of(class.name()))
        .or_else(|| report.evidence.first());
    if let Some(evidence) = evidence {
        return Some(format!("[{}] {}", evidence.class, evidence.message));
    }
    report.failure_reasons.first().map(|reason| {
        // Reasons of a failed check start with the request's name already.
        let text = if reason.reason.starts_with(&format!("{}:", reason.name)) {
            reason.reason.clone()
        } else {
            format!("{}: {}", reason.name, reason.reason)
        };
        format!("[{}] {text} (x{})", reason.outcome, thousands(reason.count))
    })
}

/// Turns a loadgen run into a verdict: `check` judges a report; a run that could not be judged
/// is a failure with its reason. Prints the verdict under the act.
fn judge(
    stage: &Stage,
    act: &str,
    expectation: &str,
    result: Result<Finished, Error>,
    reports: Vec<PathBuf>,
    check: impl FnOnce(&Report, i32) -> (bool, String),
) -> Verdict {
    let verdict = match result {
        Ok(finished) => {
            let (passed, result) = check(&finished.report, finished.code);
            Verdict {
                act: act.to_owned(),
                expectation: expectation.to_owned(),
                result,
                passed,
                reports,
            }
        }
        Err(error) => Verdict::broken(act, expectation, error.to_string(), reports),
    };
    stage.console.verdict(verdict.passed, &verdict.result);
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exact_detection_time_is_shown_as_is_and_an_interval_bound_rounded_up() {
        let exact = First {
            at: 1.25,
            exact: true,
        };
        assert_eq!(
            since_switch(exact, 1.0),
            "0.25 s after the switch",
            "an exact switch time is shown as the delay after it"
        );
        let bound = First {
            at: 2.0,
            exact: false,
        };
        assert_eq!(
            since_switch(bound, 1.632),
            "within 0.37 s of the switch",
            "a bound switch time is shown as within the remaining window"
        );
        assert_eq!(
            since_switch(bound, 1.999),
            "within 0.01 s of the switch",
            "a bound switch time is shown as within the remaining window"
        );
    }
}
