//! `loadgen repro` and `loadgen replay` against servers we did not write: the FastAPI template
//! target and the DRF session one (cookies and CSRF), each with its shared-identity bug
//! (`RACEBENCH_BUG=shared-identity`). The isolation run finds a leak, the candidate racing pairs
//! are derived from its evidence and tried against the target until one reproduces (its rate
//! written into the file), replaying it with two fresh users reproduces it, and the clean target
//! is FIXED after as many attempts as the verified rate says 99.9 % confidence needs.
//!
//! The bug's window is widened (250 ms, on the clean build's twin too) and the victim's last byte
//! staggered inside it (60 ms), so the interleaving is fixed by margins far above scheduling
//! noise; the runs are bounded by `--loops` and `--attempts`, never by time.

use std::time::Duration;

use e2e::{
    plan,
    targets::{Framework, PythonTarget, workspace_root},
};
use loadgen::{
    repro::{self, derive, replay, verify},
    runner::live::Live,
};

fn options(base: &str, attempts: Option<u32>) -> replay::Options {
    replay::Options {
        attempts,
        timeout: Duration::from_secs(20),
        ..replay::Options::new(base)
    }
}

/// The search `loadgen repro` runs: 5 attempts per candidate, the victim's last byte 60 ms after
/// the observer's (written into the file, so replay uses it too).
fn search(base: &str) -> verify::Search {
    verify::Search {
        base_url: base.to_owned(),
        attempts: 5,
        budget: Duration::from_secs(300),
        timeout: Duration::from_secs(20),
        stagger: Duration::from_millis(60),
        pause: Duration::ZERO,
    }
}

/// An isolation run of 4 users x 2 loops against `base` with the description `api`, then
/// `repro`'s search on its first violation that `wanted` picks: the verified reproduction.
async fn proven_leak(
    api: &std::path::Path,
    base: &str,
    wanted: impl Fn(&loadgen::scenario::findings::Evidence) -> bool,
) -> loadgen::repro::Repro {
    let words = [
        "isolation",
        "--base-url",
        base,
        "--api",
        api.to_str().unwrap(),
        "--quiet",
        "--users",
        "4",
        "--loops",
        "2",
        "--no-preflight",
    ];
    let report = loadgen::run(&plan(&words), std::future::pending(), Live::off())
        .await
        .expect("the run starts");
    let leak = report
        .evidence
        .iter()
        .find(|e| wanted(e))
        .unwrap_or_else(|| panic!("the run finds the leak: {:?}", report.evidence));
    let table = repro::api_table(api).expect("the description reads");
    let candidates = derive::candidates(
        leak,
        base.to_owned(),
        Some(api.display().to_string()),
        table,
        12,
    )
    .expect("candidate pairs are derived");
    let found = verify::search(candidates, &search(base), |_| {}).await;
    found.best.unwrap_or_else(|| {
        panic!(
            "a candidate reproduces against the buggy target: {:?}",
            found.tried
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fastapi_shared_identity_leak_is_verified_replayed_then_fixed_with_confidence() {
    let api = workspace_root().join("fixtures/apis/fastapi.toml");
    let buggy = PythonTarget::start(
        Framework::FastApi,
        &[
            ("RACEBENCH_BUG", "shared-identity"),
            ("RACEBENCH_BUG_WINDOW", "250"),
        ],
    );
    let base = buggy.url("/api/v1");
    let verified = proven_leak(&api, &base, |e| e.class == "leak").await;
    let rate = verified
        .verified
        .as_ref()
        .expect("the file carries its rate");
    assert!(
        rate.rate >= 0.8 && rate.attempts >= 5,
        "with a 250 ms window and a 60 ms stagger the verified pair reproduces nearly always: {rate:?}\n{}",
        verified.to_toml().unwrap()
    );

    let replayed = replay::replay(&verified, &options(&base, Some(10))).await;
    assert!(
        replayed.code() == 1 && replayed.reproduced * 10 >= replayed.ran * 8 && replayed.ran == 10,
        "replay reproduces at 80 % or more of 10 attempts: {}\n{}",
        replayed.summary(),
        verified.to_toml().unwrap()
    );
    drop(buggy);

    let clean = PythonTarget::start(Framework::FastApi, &[("RACEBENCH_BUG_WINDOW", "250")]);
    let replayed = replay::replay(&verified, &options(&clean.url("/api/v1"), None)).await;
    assert_eq!(
        (replayed.code(), Some(replayed.ran)),
        (0, replayed.attempts_needed()),
        "the clean target is FIXED after as many attempts as 99.9 % confidence needs: {}",
        replayed.summary()
    );
    assert!(
        replayed.verdict_line().starts_with("FIXED: 0 of "),
        "{}",
        replayed.verdict_line()
    );
}

/// The same through sessions and CSRF (`targets/drf_session`): replay's two users take the
/// pre-login, signup and login steps with their own cookie jars, and the racing pair carries each
/// one's session cookie and rotated CSRF token (a write without them is refused, never raced).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drf_session_leak_is_replayed_with_cookies_and_csrf_then_fixed() {
    let api = workspace_root().join("fixtures/apis/drf-session.toml");
    let buggy = PythonTarget::start(
        Framework::DrfSession,
        &[
            ("RACEBENCH_BUG", "shared-identity"),
            ("RACEBENCH_BUG_WINDOW", "250"),
        ],
    );
    let base = buggy.base_url.clone();
    let verified = proven_leak(&api, &base, |e| e.class == "leak" && e.victim.is_some()).await;

    let replayed = replay::replay(&verified, &options(&base, Some(4))).await;
    assert!(
        replayed.code() == 1 && replayed.reproduced >= 3 && replayed.ran == 4,
        "replay reproduces through cookies and CSRF (at least 3 of 4): {}\n{}",
        replayed.summary(),
        verified.to_toml().unwrap()
    );
    drop(buggy);

    // The clean build's twin pauses the same window, so the pair still overlaps there.
    let clean = PythonTarget::start(Framework::DrfSession, &[("RACEBENCH_BUG_WINDOW", "250")]);
    let replayed = replay::replay(&verified, &options(&clean.base_url, None)).await;
    assert_eq!(
        (replayed.code(), Some(replayed.ran)),
        (0, replayed.attempts_needed()),
        "the clean session target is FIXED after as many attempts as 99.9 % confidence needs: {}",
        replayed.summary()
    );
}
