//! `loadgen repro` and `loadgen replay` against a server we did not write: the FastAPI template
//! target with its shared-identity bug (`RACEBENCH_BUG=shared-identity`). The isolation run finds
//! a leak, the racing pair is derived from its evidence, and replaying it with two fresh users
//! reproduces it on every attempt (but, when the file names two orders, the one spent finding the
//! order); the clean target never does.
//!
//! The bug's window is widened (250 ms) and the victim's last byte staggered inside it (60 ms),
//! so the interleaving is fixed by margins far above scheduling noise; the runs are bounded by
//! `--loops` and `--attempts`, never by time.

use std::time::Duration;

use e2e::{
    plan,
    targets::{Framework, PythonTarget, workspace_root},
};
use loadgen::{
    repro::{self, derive::derive, replay},
    runner::live::Live,
};

fn options(base: &str, attempts: u32) -> replay::Options {
    replay::Options {
        base_url: base.to_owned(),
        attempts,
        timeout: Duration::from_secs(20),
        stagger: Duration::from_millis(60),
        pause: Duration::ZERO,
        emit_curl: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fastapi_shared_identity_leak_is_replayed_then_fixed() {
    let api = workspace_root().join("fixtures/apis/fastapi.toml");
    let buggy = PythonTarget::start(
        Framework::FastApi,
        &[
            ("RACEBENCH_BUG", "shared-identity"),
            ("RACEBENCH_BUG_WINDOW", "250"),
        ],
    );
    let base = buggy.url("/api/v1");
    let words = [
        "isolation",
        "--base-url",
        base.as_str(),
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
        .find(|e| e.class == "leak")
        .unwrap_or_else(|| panic!("the run finds a leak: {:?}", report.evidence));
    let table = repro::api_table(&api).expect("the description reads");
    let derived = derive(leak, base.clone(), Some(api.display().to_string()), table)
        .expect("a racing pair is derived");

    let replayed = replay::replay(&derived, &options(&base, 4)).await;
    // Two `GET /users/me` sent within the client's clock noise: the file names both orders and
    // replay may spend its first attempt on the wrong one, then keeps the one that reproduced.
    let unsure = derived.race.or_else.is_some();
    let least = if unsure { 3 } else { 4 };
    assert!(
        replayed.code() == 1
            && replayed.reproduced >= least
            && (!unsure || replayed.kept_order.is_some()),
        "every attempt reproduces (at least {least} of 4, the order kept when two are named): {}\n{}",
        replayed.summary(),
        derived.to_toml().unwrap()
    );
    drop(buggy);

    let clean = PythonTarget::start(Framework::FastApi, &[]);
    let replayed = replay::replay(&derived, &options(&clean.url("/api/v1"), 2)).await;
    assert_eq!(
        replayed.code(),
        0,
        "the clean target is fixed: {}",
        replayed.summary()
    );
}
