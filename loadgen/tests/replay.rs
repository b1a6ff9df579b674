//! From a found leak to its reproduction, over real sockets: `loadgen cities` finds a race on a
//! mock server (the fault's `barrier=2` makes the first pair overlap by design), `loadgen repro`
//! writes the racing pair, `loadgen replay` reproduces it (exit 1) while the fault is on and
//! reports it fixed (exit 0) once the fault is off.
//!
//! Replay's own race is not held by a barrier (it would be spent by the set-up's requests): the
//! replay phase widens the fault's window (hundreds of milliseconds) and staggers the victim's
//! last byte inside it, so the interleaving is fixed by margins far above scheduling noise.

mod common;

use std::path::{Path, PathBuf};

use common::{binary, temp_dir};
use mock_server::{
    Config,
    testing::{TestServer, spawn},
};

fn set_fault(server: &TestServer, fault: Option<&str>) {
    let update = shared::admin::FaultsUpdate {
        disable: vec!["*".to_owned()],
        enable: fault.into_iter().map(str::to_owned).collect(),
        ..Default::default()
    };
    server.state.faults.update(&update).expect("a known fault");
}

async fn loadgen(args: &[&str]) -> std::process::Output {
    binary().args(args).output().await.expect("loadgen runs")
}

fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `loadgen cities` with `extra` until it finds a violation, then `loadgen repro` on it.
/// Returns the temp dir (removed when dropped, so the caller keeps it) and the repro file in it.
async fn found_and_derived(
    server: &TestServer,
    name: &str,
    extra: &[&str],
) -> (common::TempDir, PathBuf) {
    let base = server.api_url("");
    let dir = temp_dir(name);
    let evidence = dir.join("evidence.jsonl");
    let repro = dir.join("repro.toml");
    let mut args = vec![
        "cities",
        "--base-url",
        &base,
        "--users",
        "4",
        "--duration",
        "2s",
        "--quiet",
        "--no-preflight",
        "--evidence-out",
        evidence.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let run = loadgen(&args).await;
    assert_eq!(
        run.status.code(),
        Some(1),
        "the run finds the race: {}",
        text(&run)
    );
    let derived = loadgen(&[
        "repro",
        evidence.to_str().unwrap(),
        "--base-url",
        &base,
        "-o",
        repro.to_str().unwrap(),
    ])
    .await;
    assert_eq!(
        derived.status.code(),
        Some(0),
        "repro writes the file: {}",
        text(&derived)
    );
    (dir, repro)
}

async fn replay(repro: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["replay", repro.to_str().unwrap()];
    args.extend_from_slice(extra);
    loadgen(&args).await
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("the file was written")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_identity_leak_is_reproduced_every_time_then_fixed() {
    let server = spawn(Config::default()).await;
    set_fault(&server, Some("shared-identity:barrier=2"));
    let (_dir, repro) = found_and_derived(&server, "replay-shared-identity", &[]).await;
    let file = read(&repro);
    assert!(
        file.contains("[observer]") && file.contains("[victim]"),
        "both roles: {file}"
    );

    set_fault(&server, Some("shared-identity:window=300ms"));
    let curl = repro.with_file_name("repro.sh");
    let replayed = replay(
        &repro,
        &[
            "--attempts",
            "3",
            "--stagger",
            "60ms",
            "--emit-curl",
            curl.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(
        replayed.status.code(),
        Some(1),
        "reproduced is exit 1: {}",
        text(&replayed)
    );
    assert!(
        text(&replayed).contains("REPRODUCED 3/3"),
        "every attempt reproduces: {}",
        text(&replayed)
    );
    let script = read(&curl);
    assert!(
        script.contains("NOT SYNCHRONISED") && script.matches("curl -sS").count() >= 4,
        "a readable curl script that says it is not synchronised: {script}"
    );

    set_fault(&server, None);
    let fixed = replay(&repro, &["--attempts", "3"]).await;
    assert_eq!(
        fixed.status.code(),
        Some(0),
        "fixed is exit 0: {}",
        text(&fixed)
    );
    assert!(
        text(&fixed).contains("FIXED after 3 attempts"),
        "{}",
        text(&fixed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_racy_id_overwrite_is_reproduced_from_the_creates_that_raced() {
    let server = spawn(Config::default()).await;
    set_fault(&server, Some("racy-id:barrier=2"));
    let (_dir, repro) = found_and_derived(&server, "replay-racy-id", &[]).await;

    set_fault(&server, Some("racy-id:window=300ms"));
    let replayed = replay(&repro, &["--attempts", "3", "--stagger", "60ms"]).await;
    assert_reproduced_3_of_3_then_fixed(&server, &repro, &replayed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unscoped_cache_leak_is_reproduced_by_the_victim_asking_first() {
    let server = spawn(Config::default()).await;
    set_fault(&server, Some("unscoped-cache"));
    let (_dir, repro) =
        found_and_derived(&server, "replay-unscoped-cache", &["--list-check"]).await;

    // A short TTL, and a pause longer than it, so one attempt's cached list cannot serve the next.
    set_fault(&server, Some("unscoped-cache:ttl=2s"));
    let replayed = replay(&repro, &["--attempts", "4", "--pause", "2500ms"]).await;
    let file = read(&repro);
    // The two lists may have been sent within the client's clock noise of each other: then the
    // file names both orders and replay spends at most one attempt on the wrong one.
    let unsure = file.contains("or-else");
    let wanted: &[&str] = if unsure {
        &["REPRODUCED 3/4", "REPRODUCED 4/4"]
    } else {
        &["REPRODUCED 4/4"]
    };
    assert!(
        wanted.iter().any(|w| text(&replayed).contains(w)),
        "the victim's list, asked first, fills the cache the observer reads ({wanted:?}): {}\n{file}",
        text(&replayed)
    );
    assert!(
        !unsure || text(&replayed).contains("order victim-first"),
        "of the two orders, victim-first reproduces and is kept: {}\n{file}",
        text(&replayed)
    );
    set_fault(&server, None);
    let fixed = replay(&repro, &["--attempts", "2"]).await;
    assert_eq!(fixed.status.code(), Some(0), "fixed: {}", text(&fixed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_exits_2_on_an_unreachable_target_and_repro_on_a_missing_violation() {
    let dir = temp_dir("replay-errors");
    let evidence = dir.join("evidence.jsonl");
    std::fs::write(&evidence, "").unwrap();
    let empty = loadgen(&["repro", evidence.to_str().unwrap()]).await;
    assert_eq!(
        empty.status.code(),
        Some(2),
        "no violation to derive: {}",
        text(&empty)
    );

    let repro = dir.join("repro.toml");
    std::fs::write(
        &repro,
        "base-url = \"http://127.0.0.1:1/api/v1\"\n[expected]\nclass = \"leak\"\nobserver = \"observer\"\n\
         [race]\norder = \"together\"\n[observer]\nsetup = [\"register\", \"login\", \"create\"]\nrace = \"read\"\nrequest = \"GET /x\"\n\
         [victim]\nsetup = [\"register\", \"login\", \"create\"]\nrace = \"list\"\nrequest = \"GET /y\"\n",
    )
    .unwrap();
    let unreachable = replay(&repro, &["--attempts", "1"]).await;
    assert_eq!(
        unreachable.status.code(),
        Some(2),
        "a set-up error names the request: {}",
        text(&unreachable)
    );
    assert!(
        text(&unreachable).contains("register"),
        "{}",
        text(&unreachable)
    );
}

/// A replay of 3 attempts that reproduced every time, then one with the fault off that finds
/// nothing (exit 0).
async fn assert_reproduced_3_of_3_then_fixed(
    server: &TestServer,
    repro: &Path,
    replayed: &std::process::Output,
) {
    assert_eq!(
        replayed.status.code(),
        Some(1),
        "reproduced: {}\n{}",
        text(replayed),
        read(repro)
    );
    assert!(
        text(replayed).contains("REPRODUCED 3/3"),
        "{}\n{}",
        text(replayed),
        read(repro)
    );

    set_fault(server, None);
    let fixed = replay(repro, &["--attempts", "2"]).await;
    assert_eq!(fixed.status.code(), Some(0), "fixed: {}", text(&fixed));
}
