//! `loadgen isolation --api fixtures/apis/express.toml` against the Node target (`targets/express`:
//! Express 5 + jsonwebtoken, ownership a client-set field checked by a guard), one mode of its
//! shared current-user race at a time, each exercising a rule of the oracle:
//! - `guard-owner`: the race refuses users their OWN creates and lists with 403: `denied`
//!   violations, never plain fails, and no hint blames the description the preflight passed with;
//! - `shared-identity`: the race happens on the create (whose answer shows no owner) and shows on
//!   later steps: the owner's read (`lost_write`) and another user's list (`leak`);
//! - `probe-leak`: the race shows on a probe of another user's record (`leak` on `probe`);
//! - the clean build: no violation, no fail, exit 0; with tokens that expire during the run, still
//!   no violation (loadgen logs in again).
//!
//! Lean for CI: 4 users, bounded by `--loops`; the 20 ms window is held by every authenticated
//! request while the other users send back to back, so requests overlap by construction.

use e2e::{
    assert_follows_schema, plan,
    targets::{Framework, FrameworkTarget},
};
use loadgen::{report::Report, runner::live::Live};

/// `loadgen isolation` on the Express target with 4 users and every check, in process.
async fn isolation(target: &FrameworkTarget, loops: &str) -> Report {
    isolation_with(target, loops, &[]).await
}

/// [`isolation`] with `extra` words.
async fn isolation_with(target: &FrameworkTarget, loops: &str, extra: &[&str]) -> Report {
    let api = e2e::targets::workspace_root()
        .join("fixtures/apis/express.toml")
        .display()
        .to_string();
    let words = [
        "isolation",
        "--base-url",
        &target.base_url,
        "--api",
        &api,
        "--quiet",
        "--users",
        "4",
        "--loops",
        loops,
        "--list-check",
        "--update-check",
        "--delete-check",
        "--probe-foreign",
        "1",
    ];
    let words: Vec<&str> = words.iter().chain(extra).copied().collect();
    loadgen::run(&plan(&words), std::future::pending(), Live::off())
        .await
        .unwrap_or_else(|e| panic!("the run starts (the preflight passes): {}", e.0))
}

fn summary(report: &Report) -> String {
    format!(
        "requests {:?}; violations {:?}; reasons {:?}",
        report.figures.requests, report.figures.violations, report.failure_reasons
    )
}

fn start(bug: &str) -> FrameworkTarget {
    FrameworkTarget::start(Framework::Express, &[("RACEBENCH_BUG", bug)])
}

#[tokio::test]
async fn clean_express_shows_no_violation_and_no_fail() {
    let target = FrameworkTarget::start(Framework::Express, &[]);
    let report = isolation(&target, "15").await;
    let r = report.figures.requests;
    println!("express clean: {}", summary(&report));
    assert_eq!(r.violation, 0, "a correct server: {:?}", report.evidence);
    assert_eq!(
        r.fail + r.exception,
        0,
        "every check passes: {}",
        summary(&report)
    );
    assert!(r.pass >= 400, "real work was done: {}", summary(&report));
    for step in ["create", "read", "list", "update", "delete", "probe"] {
        assert!(
            report
                .endpoints
                .iter()
                .any(|e| e.name == step && e.figures.requests.pass > 0),
            "step {step} ran and passed: {}",
            summary(&report)
        );
    }
    assert_eq!(loadgen::exit_code_of(&report), 0, "exit 0");
}

#[tokio::test]
async fn an_expired_token_is_no_violation_loadgen_logs_in_again() {
    // Tokens live 3 s from the second they were issued in (so 2 to 3 s: long enough for the
    // preflight); 25 loops of 9 requests that each hold a 20 ms window (4.5 s at least) outlive
    // them.
    let target = FrameworkTarget::start(Framework::Express, &[("RACEBENCH_TOKEN_TTL", "3")]);
    let report = isolation(&target, "25").await;
    println!("express clean, 3 s tokens: {}", summary(&report));
    assert_eq!(
        report.figures.requests.violation, 0,
        "a refusal of an expired token is no violation: {:?}",
        report.evidence
    );
    assert!(
        report
            .failure_reasons
            .iter()
            .any(|r| r.reason.contains("the credential had expired")),
        "the expiries are told as such: {}",
        summary(&report)
    );
    assert_eq!(loadgen::exit_code_of(&report), 0, "exit 0");
}

#[tokio::test]
async fn guard_owner_race_is_denied_violations_not_fails_and_blames_no_description_key() {
    let target = start("guard-owner");
    let report = isolation(&target, "10").await;
    let (r, v) = (report.figures.requests, report.figures.violations);
    println!("express guard-owner: {}", summary(&report));
    assert!(
        v.denied > 0,
        "own creates and lists refused: {}",
        summary(&report)
    );
    assert_eq!(
        r.fail,
        0,
        "a refused own action is a violation, not a fail: {}",
        summary(&report)
    );
    let denied = report
        .evidence
        .iter()
        .find(|e| e.class == "denied")
        .expect("denied evidence");
    assert!(
        ["create", "list"].contains(&denied.step.as_str()) && denied.actual.starts_with("403"),
        "the evidence shows the refused own request: {denied:?}"
    );
    for reason in &report.failure_reasons {
        assert!(
            reason.example.is_some(),
            "every reason carries an example answer: {reason:?}"
        );
        assert!(
            !reason.reason.contains("(check "),
            "no hint blames the description the preflight passed with: {reason:?}"
        );
    }
    assert_follows_schema(&report);
    assert_eq!(loadgen::exit_code_of(&report), 1, "exit 1");
}

#[tokio::test]
async fn shared_identity_race_on_the_create_shows_on_the_later_read_and_list() {
    let target = start("shared-identity");
    let report = isolation(&target, "15").await;
    let v = report.figures.violations;
    println!("express shared-identity: {}", summary(&report));
    assert!(
        report
            .evidence
            .iter()
            .any(|e| e.class == "leak" && e.step == "list"),
        "another user's list shows the misattributed record: {}",
        summary(&report)
    );
    assert!(
        v.lost_write > 0,
        "its owner's read finds it gone: {}",
        summary(&report)
    );
    assert!(
        !report.evidence.iter().any(|e| e.step == "create"),
        "the create's own answer shows nothing (no owner in it): {:?}",
        report.evidence
    );
    assert_eq!(loadgen::exit_code_of(&report), 1, "exit 1");
}

#[tokio::test]
async fn probe_leak_race_shows_on_its_own_reads_and_never_as_a_false_class() {
    // The racy step is the read's owner check: an owner's read of its own record is refused
    // (lost_write) whenever another user stored the shared caller last, which with 4 users is
    // nearly always; a probe of another's record leaks only when that record's owner stored last,
    // which depends on the arrival order (0 probe leaks in some runs on this machine). So this
    // test holds the first, and any probe leak must name two different users; the leak on a probe
    // is proven, by experiment, in express_replay.rs.
    let target = start("probe-leak");
    let report = isolation(&target, "15").await;
    println!("express probe-leak: {}", summary(&report));
    let v = report.figures.violations;
    assert!(
        v.lost_write > 0 && v.denied == 0 && v.corrupt == 0,
        "the owners' reads are refused as lost writes, no other class: {}",
        summary(&report)
    );
    for leak in report
        .evidence
        .iter()
        .filter(|e| e.class == "leak" && e.step == "probe")
    {
        assert_ne!(
            Some(leak.observer),
            leak.victim,
            "observer and victim differ: {leak:?}"
        );
    }
    assert_eq!(loadgen::exit_code_of(&report), 1, "exit 1");
}
