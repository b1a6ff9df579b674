//! From a found leak to its reproduction, over real sockets: `loadgen cities` finds a race on a
//! mock server (the fault's `barrier=2` makes the first pair overlap by design), `loadgen repro`
//! tries the candidate pairs against the server and writes the one that reproduced with its
//! rate, `loadgen replay` reproduces it (exit 1) while the fault is on; once the fault is off it
//! says FIXED (exit 0) only when the race was exercised often enough, and inconclusive (exit 3)
//! when it was not.
//!
//! The verification's and replay's races are not held by a barrier (it would be spent by the
//! set-up's requests): the fault's window is widened (hundreds of milliseconds) before `repro`,
//! and the victim's last byte staggered inside it, so the interleaving is fixed by margins far
//! above scheduling noise.

mod common;

use std::path::{Path, PathBuf};

use common::{assert_valid_junit, binary, temp_dir};
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

/// Runs `loadgen cities` with `extra` until it finds a violation, switches the fault to `then`
/// (the replay's settings), then `loadgen repro` on it with `verify` (its flags).
/// Returns the temp dir (removed when dropped, so the caller keeps it) and the repro file in it.
async fn found_and_derived(
    server: &TestServer,
    name: &str,
    extra: &[&str],
    then: &str,
    verify: &[&str],
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
    set_fault(server, Some(then));
    let mut args = vec![
        "repro",
        evidence.to_str().unwrap(),
        "--base-url",
        &base,
        "-o",
        repro.to_str().unwrap(),
    ];
    args.extend_from_slice(verify);
    let derived = loadgen(&args).await;
    assert_eq!(
        derived.status.code(),
        Some(0),
        "repro verifies and writes the file: {}",
        text(&derived)
    );
    let file = read(&repro);
    assert!(
        file.contains("[verified]") && file.contains("rate = "),
        "the file carries its measured rate: {file}\n{}",
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
async fn a_shared_identity_leak_is_reproduced_every_time_and_an_unexercised_race_is_inconclusive() {
    let server = spawn(Config::default()).await;
    set_fault(&server, Some("shared-identity:barrier=2"));
    let (_dir, repro) = found_and_derived(
        &server,
        "replay-shared-identity",
        &[],
        "shared-identity:window=300ms",
        &["--attempts", "3", "--stagger", "60ms"],
    )
    .await;
    let file = read(&repro);
    assert!(
        file.contains("[observer]")
            && file.contains("[victim]")
            && file.contains("stagger = \"60ms\""),
        "both roles, and the stagger the rate was measured with: {file}"
    );

    let curl = repro.with_file_name("repro.sh");
    let replayed = replay(
        &repro,
        &["--attempts", "3", "--emit-curl", curl.to_str().unwrap()],
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

    // With the fault off, mock-server's correct twin answers at once, well inside the 60 ms
    // stagger: the observer's answer is back before the victim's request is complete, so the
    // race is never exercised and nothing can be concluded from the misses.
    set_fault(&server, None);
    let unexercised = replay(&repro, &["--attempts", "3"]).await;
    assert_eq!(
        unexercised.status.code(),
        Some(3),
        "a race that never overlapped is inconclusive (exit 3), never FIXED: {}",
        text(&unexercised)
    );
    assert!(
        text(&unexercised).contains("NOT REPRODUCED (inconclusive)")
            && text(&unexercised).contains("did not overlap in time"),
        "it says why: {}",
        text(&unexercised)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_racy_id_overwrite_is_reproduced_from_the_creates_that_raced() {
    let server = spawn(Config::default()).await;
    set_fault(&server, Some("racy-id:barrier=2"));
    let (_dir, repro) = found_and_derived(
        &server,
        "replay-racy-id",
        &[],
        "racy-id:window=300ms",
        &["--attempts", "3", "--stagger", "60ms"],
    )
    .await;
    let replayed = replay(&repro, &["--attempts", "3"]).await;
    assert_eq!(
        replayed.status.code(),
        Some(1),
        "reproduced: {}\n{}",
        text(&replayed),
        read(&repro)
    );
    assert!(
        text(&replayed).contains("REPRODUCED 3/3"),
        "{}\n{}",
        text(&replayed),
        read(&repro)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unscoped_cache_leak_is_reproduced_by_the_victim_asking_first() {
    let server = spawn(Config::default()).await;
    set_fault(&server, Some("unscoped-cache"));
    // A short TTL, and a pause longer than it, so one attempt's cached list cannot serve the
    // next (verification and replay alike: the pause is written into the file).
    let (_dir, repro) = found_and_derived(
        &server,
        "replay-unscoped-cache",
        &["--list-check"],
        "unscoped-cache:ttl=1s",
        &["--attempts", "4", "--pause", "1200ms"],
    )
    .await;
    let file = read(&repro);
    assert!(
        file.contains("order = \"victim-first\"") && file.contains("pause = \"1200ms\""),
        "the victim asks first; the pause is kept: {file}"
    );
    let replayed = replay(&repro, &["--attempts", "4"]).await;
    assert!(
        text(&replayed).contains("REPRODUCED 4/4"),
        "the victim's list, asked first, fills the cache the observer reads: {}\n{file}",
        text(&replayed)
    );

    // Fixed: each attempt is sequential (victim, then observer), so every one exercises the
    // case; replay runs as many as 99.9 % confidence needs at the verified rate's lower bound.
    set_fault(&server, None);
    let fixed = replay(&repro, &[]).await;
    assert_eq!(fixed.status.code(), Some(0), "fixed: {}", text(&fixed));
    assert!(
        text(&fixed).contains("FIXED: 0 of 11 attempts reproduced; at the verified rate of 100 %"),
        "4 of 4 verified bounds the rate at 47 %, so 11 misses reach 99.9 %: {}",
        text(&fixed)
    );
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

/// A reproduction of mock-server's API (empty `[api]`): `race` for the observer and the victim,
/// in `order`, with `verified` (a `[verified]` table's body) when given.
fn reproduction(
    base: &str,
    observer: &str,
    victim: &str,
    order: &str,
    verified: Option<&str>,
) -> String {
    // A leak is expected of lists; of a read of one's own record under shared-identity, the
    // record missing (it was created in the victim's account).
    let expected = if observer == "read" {
        "class = \"lost_write\"\nobserver = \"observer\""
    } else {
        "class = \"leak\"\nobserver = \"observer\"\nvictim = \"victim\""
    };
    let mut text = format!(
        "base-url = \"{base}\"\n[expected]\n{expected}\n\
         [race]\norder = \"{order}\"\nstagger = \"60ms\"\n\
         [observer]\nsetup = [\"register\", \"login\", \"create\"]\nrace = \"{observer}\"\nrequest = \"-\"\n\
         [victim]\nsetup = [\"register\", \"login\", \"create\"]\nrace = \"{victim}\"\nrequest = \"-\"\n"
    );
    if let Some(verified) = verified {
        text.push_str(&format!(
            "[verified]\n{verified}\nat = \"2026-12-06T00:00:00Z\"\nbase-url = \"{base}\"\n"
        ));
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suite_of_three_files_fails_while_one_reproduces_and_passes_once_all_are_fixed() {
    let server = spawn(Config::default()).await;
    set_fault(&server, Some("shared-identity:window=300ms"));
    let base = server.api_url("");
    let dir = temp_dir("replay-suite");
    let suite = dir.join("suite");
    std::fs::create_dir_all(&suite).unwrap();
    // 50 of 50 bounds the rate at 94 %: 3 misses make 99.9 % (so `--attempts 3` is enough).
    let sure = "rate = 1.0\nattempts = 50\nreproduced = 50\nrate-lower-bound = 0.9418";
    // Two reads of one's own record, together: shared-identity hands the observer the victim's
    // identity, so its read of its own record is refused or shows another's.
    let live = reproduction(&base, "read", "create", "together", Some(sure));
    // Sequential lists: nothing shared between them under this fault.
    let gone = reproduction(&base, "list", "list", "victim-first", Some(sure));
    let unverified = reproduction(&base, "list", "list", "victim-first", None);
    std::fs::write(suite.join("a-live.toml"), &live).unwrap();
    std::fs::write(suite.join("b-gone.toml"), &gone).unwrap();
    std::fs::write(suite.join("c-unverified.toml"), &unverified).unwrap();
    let junit = dir.join("replay.xml");

    let run = replay(
        &suite,
        &["--attempts", "3", "--junit-out", junit.to_str().unwrap()],
    )
    .await;
    let out = text(&run);
    assert_eq!(
        run.status.code(),
        Some(1),
        "one file still reproduces: exit 1: {out}"
    );
    let table = out.rsplit("\n\n").next().unwrap_or_default();
    assert!(
        table.contains("a-live.toml")
            && table.contains("REPRODUCED")
            && table.contains("b-gone.toml")
            && table.contains("FIXED")
            && table.contains("c-unverified.toml")
            && table.contains("INCONCLUSIVE")
            && out.trim_end().ends_with(
                "FAIL: 3 file(s): 1 fixed, 1 reproduced, 1 inconclusive, 0 set-up error(s)"
            ),
        "a table of the three verdicts, then the suite's verdict last: {out}"
    );
    assert_valid_junit(&junit);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.matches("<testcase").count() == 3 && xml.matches("<failure").count() == 2,
        "one test case per file; the fixed one passes: {xml}"
    );

    std::fs::remove_file(suite.join("a-live.toml")).unwrap();
    std::fs::remove_file(suite.join("c-unverified.toml")).unwrap();
    std::fs::write(suite.join("d-gone.toml"), &gone).unwrap();
    let run = replay(&suite, &[]).await;
    assert_eq!(
        run.status.code(),
        Some(0),
        "every file FIXED at the confidence: exit 0: {}",
        text(&run)
    );
    assert!(
        text(&run)
            .trim_end()
            .ends_with("PASS: 2 file(s): 2 fixed, 0 reproduced, 0 inconclusive, 0 set-up error(s)"),
        "{}",
        text(&run)
    );
}
