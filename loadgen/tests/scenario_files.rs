//! `loadgen run FILE.toml`: the example files of `fixtures/scenarios/` run against mock-server on
//! port 0 (set-up, extraction, checks, stages), and a broken file is a one-line error.

mod common;

use std::time::Duration;

use clap::Parser;
use loadgen::{cli::Cli, plan::Plan, report::Report, runner::live::Live};

fn fixture(name: &str) -> String {
    format!(
        "{}/../fixtures/scenarios/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

async fn run(words: &[&str]) -> Report {
    let mut all = vec!["run"];
    all.extend_from_slice(words);
    all.push("--quiet");
    loadgen::run(&common::plan(&all), std::future::pending(), Live::off())
        .await
        .expect("the run starts")
}

fn endpoint<'a>(report: &'a Report, name: &str) -> &'a loadgen::report::Endpoint {
    report
        .endpoints
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("the report has no endpoint `{name}`"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_and_cities_registers_logs_in_then_creates_and_reads_back_with_the_extracted_id() {
    let server = common::server(Duration::ZERO).await;
    let file = fixture("login-and-cities.toml");
    let base = server.url("/api/v1");

    let report = run(&[&file, "--base-url", &base, "--users", "3", "--loops", "4"]).await;

    let names: Vec<&str> = report.endpoints.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        ["register", "token", "create", "read"],
        "per-request names, set-up first, in file order"
    );
    for (name, passes) in [("register", 3), ("token", 3), ("create", 12), ("read", 12)] {
        let requests = endpoint(&report, name).figures.requests;
        assert_eq!(
            (requests.total, requests.pass),
            (passes, passes),
            "`{name}`: every request passes its checks; reasons: {:?}",
            report.failure_reasons
        );
    }
    // `read` checks /data/id against the {city_id} extracted from `create`'s answer and the name
    // against the one `create` sent: 12 passes mean the token and the id were carried over.
    assert_eq!(
        report.thresholds.len(),
        2,
        "the file's two thresholds are evaluated"
    );
    assert!(
        report.thresholds.iter().all(|v| v.passed),
        "every threshold of the file holds: {:?}",
        report.thresholds
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ramp_json_raises_holds_and_lowers_the_users_as_the_timeline_shows() {
    let server = common::server(Duration::ZERO).await;
    let file = fixture("ramp-json.toml");

    let report = run(&[&file, "--base-url", &server.url("")]).await;

    assert_eq!(report.workload.users, 6, "the peak of the stages");
    assert_eq!(
        report.workload.duration_limit_s,
        Some(9.0),
        "the stages' total"
    );
    let json = endpoint(&report, "json").figures.requests;
    assert!(json.pass > 0 && json.pass == json.total, "{json:?}");
    let users: Vec<u64> = report.intervals.iter().map(|i| i.active_users).collect();
    let peak = users.iter().copied().max().unwrap_or(0);
    assert_eq!(peak, 6, "the hold stage reaches 6 users: {users:?}");
    let first_peak = users.iter().position(|&u| u == peak).unwrap();
    let last_peak = users.iter().rposition(|&u| u == peak).unwrap();
    assert!(
        users[..first_peak].iter().any(|&u| 0 < u && u < peak),
        "the ramp up passes through a partial user count: {users:?}"
    );
    assert!(
        users[last_peak..].iter().any(|&u| 0 < u && u < peak),
        "the ramp down passes through a partial user count: {users:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weighted_order_picks_requests_by_weight_and_never_one_of_weight_zero() {
    let server = common::server(Duration::ZERO).await;
    let dir = common::temp_dir("weighted");
    let file = dir.join("weighted.toml");
    std::fs::write(
        &file,
        r#"
order = "weighted"
[[requests]]
name = "get"
path = "/json"
weight = 3
[[requests]]
name = "post"
method = "POST"
path = "/json"
body = '{"hello": "{user}"}'
weight = 1
[[requests]]
name = "never"
path = "/json"
weight = 0
"#,
    )
    .unwrap();

    let report = run(&[
        file.to_str().unwrap(),
        "--base-url",
        &server.url(""),
        "--users",
        "2",
        "--loops",
        "200",
    ])
    .await;

    let count = |name| endpoint(&report, name).figures.requests.pass;
    assert_eq!(
        count("get") + count("post"),
        400,
        "one request per iteration"
    );
    assert_eq!(count("never"), 0, "weight 0 is never picked");
    assert!(
        count("get") > count("post"),
        "weight 3 beats weight 1 over 400 picks: {} vs {}",
        count("get"),
        count("post")
    );
}

fn plan_error(toml: &str, extra: &[&str]) -> String {
    let dir = common::temp_dir("bad-file");
    let file = dir.join("bad.toml");
    std::fs::write(&file, toml).unwrap();
    let mut argv = vec!["loadgen", "run", file.to_str().unwrap()];
    argv.extend_from_slice(extra);
    Plan::from_cli(Cli::try_parse_from(argv).expect("arguments parse"))
        .expect_err("the file is refused")
        .0
}

#[test]
fn a_broken_file_is_one_line_naming_the_request_and_the_mistake() {
    let base = "base-url = \"http://127.0.0.1:9/\"\n";
    for (body, words) in [
        (
            "[[requests]]\nname = \"read\"\npath = \"/cities/{city_id}\"\n",
            "city_id",
        ),
        ("[[requests]]\nname = \"a\"\n", "exactly one of `path`"),
        (
            "[[requests]]\nname = \"a\"\nurl = \"http://other:1/x\"\n",
            "origin",
        ),
        (
            "[[requests]]\nname = \"a\"\npath = \"/\"\ncolour = 1\n",
            "colour",
        ),
        (
            "[[requests]]\nname = \"a\"\npath = \"/\"\nextract = { user = \"/id\" }\n",
            "built in",
        ),
        (
            "[[stages]]\nduration = \"0s\"\ntarget = 3\n[[requests]]\nname = \"a\"\npath = \"/\"\n",
            "stages[0]",
        ),
        ("", "no [[requests]]"),
    ] {
        let error = plan_error(&format!("{base}{body}"), &[]);
        assert!(error.contains(words), "expected `{words}` in: {error}");
        assert!(!error.contains('\n'), "one line: {error}");
    }
    let stages = format!(
        "{base}[[stages]]\nduration = \"1s\"\ntarget = 3\n[[requests]]\nname = \"a\"\npath = \"/\"\n"
    );
    for flag in ["--loops", "--rate"] {
        let error = plan_error(&stages, &[flag, "3"]);
        assert!(
            error.contains(flag),
            "a file with [[stages]] refuses {flag}, naming it: {error}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_ramp_schedules_the_integral_of_its_stages() {
    let server = common::server(Duration::ZERO).await;
    let dir = common::temp_dir("rate-ramp");
    let file = dir.join("rate.toml");
    // 0 -> 50/s over 2 s (50 arrivals), then 50/s for 1 s (50 more).
    std::fs::write(
        &file,
        "ramp = \"rate\"\n\
         [[stages]]\nduration = \"2s\"\ntarget = 50\n\
         [[stages]]\nduration = \"1s\"\ntarget = 50\n\
         [[requests]]\nname = \"json\"\npath = \"/json\"\n",
    )
    .unwrap();

    let report = run(&[
        file.to_str().unwrap(),
        "--base-url",
        &server.url(""),
        "--max-users",
        "10",
    ])
    .await;

    assert_eq!(
        report.workload.model, "open",
        "a file with stages and a rate runs the open model: {:?}",
        report.workload
    );
    let open = report.open_model.expect("open-model figures");
    assert_eq!(open.scheduled, 100, "the rate's integral over the stages");
    assert_eq!(
        open.started + open.dropped,
        open.scheduled,
        "every due arrival started or was dropped: {open:?}"
    );
    let first = report.intervals.first().unwrap().all().total;
    let peak = report
        .intervals
        .iter()
        .map(|i| i.all().total)
        .max()
        .unwrap();
    assert!(
        first < peak,
        "the first second (about 12 arrivals) is below the held rate (50/s): {first} vs {peak}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_base_url_is_a_set_up_error_before_any_user_starts() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let plan = common::plan(&[
        "run",
        &fixture("ramp-json.toml"),
        "--base-url",
        &url,
        "--quiet",
    ]);

    let error = loadgen::run(&plan, std::future::pending(), Live::off())
        .await
        .expect_err("the preflight refuses an unreachable target");

    assert!(error.to_string().contains(&url), "names the URL: {error}");
}
