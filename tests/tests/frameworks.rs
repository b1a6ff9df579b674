//! `loadgen isolation --api fixtures/apis/<x>.toml` against servers we did not write: the FastAPI
//! full-stack template target and the Django REST framework targets, with tokens and with
//! sessions and CSRF (`targets/`, real frameworks from the test venv), and mock-server. Clean: exit 0, no violation, no fail, thousands of checked
//! requests. With the shared-identity bug: leaks naming observer and victim. A wrong description
//! stops in the preflight (exit 2) naming the setting, and is never a violation.
//!
//! The runs are bounded by `--loops`, not by time, so a loaded machine makes them slower, not
//! different. The bug's window (20 ms, the targets' default) is held by every authenticated
//! request while 20 users send back to back, so requests overlap by construction.

use e2e::{
    plan,
    targets::{Framework, PythonTarget},
};
use loadgen::{report::Report, runner::live::Live};

const USERS: &str = "20";

fn api_file(name: &str) -> String {
    e2e::targets::workspace_root()
        .join("fixtures/apis")
        .join(format!("{name}.toml"))
        .display()
        .to_string()
}

/// `loadgen isolation --base-url BASE --api fixtures/apis/NAME.toml --quiet WORDS...`, in process.
async fn isolation(base: &str, name: &str, words: &[&str]) -> Result<Report, String> {
    let api = api_file(name);
    let mut all = vec![
        "isolation",
        "--base-url",
        base,
        "--api",
        api.as_str(),
        "--quiet",
    ];
    if !words.contains(&"--users") {
        all.extend(["--users", USERS]);
    }
    // The `resurrect` check (an update raced against a delete) finds what these tests are not
    // about on the real frameworks' correct builds: DRF writes the record back (Django's `save()`
    // INSERTs when its UPDATE matched no row), FastAPI's update answers 500. Peer isolation only.
    if name != "mock-server" {
        all.extend(["--skip", "resurrect"]);
    }
    all.extend_from_slice(words);
    loadgen::run(&plan(&all), std::future::pending(), Live::off())
        .await
        .map_err(|e| e.0)
}

fn summary(report: &Report) -> String {
    let r = report.figures.requests;
    format!(
        "{} requests ({} pass, {} fail, {} exception, {} violation); first violation after {:?} s; reasons {:?}; hints {:?}",
        r.total,
        r.pass,
        r.fail,
        r.exception,
        r.violation,
        report.first_violation_after_s,
        report.failure_reasons,
        report.hints
    )
}

fn assert_clean(report: &Report, target: &str) {
    let r = report.figures.requests;
    println!("{target} clean: {}", summary(report));
    assert_eq!(
        r.violation, 0,
        "{target}: a correct server shows no violation: {:?}",
        report.evidence
    );
    assert_eq!(
        r.fail,
        0,
        "{target}: every check passes: {}",
        summary(report)
    );
    assert_eq!(
        r.exception,
        0,
        "{target}: every request is answered: {}",
        summary(report)
    );
    assert!(
        r.pass >= 2000,
        "{target}: thousands of checked requests: {}",
        summary(report)
    );
    assert_eq!(loadgen::exit_code_of(report), 0, "{target}: exit 0");
    for step in ["create", "read", "list", "probe"] {
        assert!(
            report
                .endpoints
                .iter()
                .any(|e| e.name == step && e.figures.requests.pass > 0),
            "{target}: step {step} ran and passed"
        );
    }
}

fn assert_leak_named(report: &Report, target: &str) {
    println!("{target} buggy: {}", summary(report));
    assert!(
        report.figures.violations.leak > 0,
        "{target}: the shared identity leaks: {}",
        summary(report)
    );
    let leak = report
        .evidence
        .iter()
        .find(|e| e.class == "leak" && e.victim.is_some())
        .expect("a leak with a victim in the evidence");
    assert_ne!(
        Some(leak.observer),
        leak.victim,
        "observer and victim differ: {leak:?}"
    );
    assert!(
        leak.observer_account.is_some(),
        "the observer's account is named: {leak:?}"
    );
    assert_eq!(loadgen::exit_code_of(report), 1, "{target}: exit 1");
    println!("{target} evidence: {}", leak.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fastapi_template_clean_and_with_the_shared_identity_bug() {
    let clean = PythonTarget::start(Framework::FastApi, &[]);
    let base = clean.url("/api/v1");
    let report = isolation(
        &base,
        "fastapi",
        &["--loops", "30", "--delete-check", "--update-check"],
    )
    .await
    .expect("the preflight passes on the template's shapes");
    assert_clean(&report, "fastapi");
    assert!(
        report.redirects_followed == 0,
        "the description names the slashed collection"
    );
    drop(clean);

    let buggy = PythonTarget::start(Framework::FastApi, &[("RACEBENCH_BUG", "shared-identity")]);
    let report = isolation(
        &buggy.url("/api/v1"),
        "fastapi",
        &["--loops", "10", "--max-evidence", "500"],
    )
    .await
    .expect("a single user passes the preflight even with the bug");
    assert_leak_named(&report, "fastapi");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drf_clean_and_with_the_shared_identity_bug() {
    let clean = PythonTarget::start(Framework::Drf, &[]);
    let report = isolation(
        &clean.base_url,
        "drf",
        &["--loops", "30", "--delete-check", "--update-check"],
    )
    .await
    .expect("the preflight passes on DRF's shapes");
    assert_clean(&report, "drf");
    drop(clean);

    let buggy = PythonTarget::start(Framework::Drf, &[("RACEBENCH_BUG", "shared-identity")]);
    let report = isolation(
        &buggy.base_url,
        "drf",
        &["--loops", "10", "--max-evidence", "500"],
    )
    .await
    .expect("a single user passes the preflight even with the bug");
    assert_leak_named(&report, "drf");
}

/// Sessions and Django's CSRF protection: a pre-login GET sets the CSRF cookie, signup and login
/// send it back, login rotates it, every write sends the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drf_sessions_with_csrf_clean_and_with_the_shared_identity_bug() {
    let clean = PythonTarget::start(Framework::DrfSession, &[]);
    let report = isolation(
        &clean.base_url,
        "drf-session",
        &["--loops", "15", "--delete-check", "--update-check"],
    )
    .await
    .expect("the preflight passes on DRF's session and CSRF shapes");
    assert_clean(&report, "drf-session");
    assert!(
        report
            .endpoints
            .iter()
            .any(|e| e.name == "pre-login" && e.figures.requests.pass > 0),
        "the pre-login step ran: {}",
        summary(&report)
    );

    // The same description without its CSRF keys stops before the load, naming them.
    let text = std::fs::read_to_string(api_file("drf-session")).expect("the fixture reads");
    let without: String = text
        .lines()
        .filter(|line| !line.starts_with("csrf =") && !line.starts_with("cookie-path ="))
        .map(|line| format!("{line}\n"))
        .collect();
    let dir = tempfile::Builder::new()
        .prefix("racebench-api-")
        .tempdir()
        .unwrap();
    let file = dir.path().join("no-csrf.toml");
    std::fs::write(&file, without).unwrap();
    let api = file.display().to_string();
    let words = [
        "isolation",
        "--base-url",
        clean.base_url.as_str(),
        "--api",
        api.as_str(),
        "--quiet",
        "--users",
        "2",
        "--loops",
        "1",
    ];
    let error = loadgen::run(&plan(&words), std::future::pending(), Live::off())
        .await
        .map(|_| ())
        .expect_err("a description without CSRF keys is a set-up error");
    assert!(
        error.0.starts_with("preflight: ") && error.0.contains("CSRF Failed"),
        "the preflight stops at the CSRF refusal and shows it: {}",
        error.0
    );
    assert!(
        error.0.contains("csrf = \"django\"") && error.0.contains("login.cookie-path"),
        "the hint names the CSRF keys: {}",
        error.0
    );
    assert!(
        !error.0.contains("accounts."),
        "the hint names no setting that cannot change the refusal: {}",
        error.0
    );
    drop(clean);

    let buggy = PythonTarget::start(
        Framework::DrfSession,
        &[("RACEBENCH_BUG", "shared-identity")],
    );
    let report = isolation(
        &buggy.base_url,
        "drf-session",
        &["--loops", "10", "--max-evidence", "500"],
    )
    .await
    .expect("a single user passes the preflight even with the bug");
    assert_leak_named(&report, "drf-session");
}

/// Sessions the server ends mid-run (Django's own expiry, `SESSION_COOKIE_AGE` of 1 s) are
/// established again before a refusal is judged: no violation, no fail. Every authenticated
/// request holds the target's 20 ms pause, so each user's 15 iterations last well over 1 s and
/// every session ends at least once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drf_sessions_the_server_ends_are_established_again() {
    let target = PythonTarget::start(Framework::DrfSession, &[("RACEBENCH_SESSION_AGE", "1")]);
    let report = isolation(
        &target.base_url,
        "drf-session",
        &["--users", "4", "--loops", "15"],
    )
    .await
    .expect("the preflight passes");
    println!("drf-session, 1 s sessions: {}", summary(&report));
    assert_clean_small(&report);
    let logins = report
        .endpoints
        .iter()
        .find(|e| e.name == "login")
        .map_or(0, |e| e.figures.requests.pass);
    assert!(
        logins > 4,
        "some of the 4 identities logged in again: {logins} logins; {}",
        summary(&report)
    );
    assert!(
        report.hints.iter().any(|h| h.contains("logged in again")),
        "a hint says sessions were established again: {:?}",
        report.hints
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_server_clean_and_with_the_shared_identity_bug() {
    let server = e2e::server().await;
    let base = server.api_url("");
    let report = isolation(
        &base,
        "mock-server",
        &["--loops", "30", "--delete-check", "--update-check"],
    )
    .await
    .expect("the preflight passes on mock-server");
    assert_clean(&report, "mock-server");

    e2e::set_faults(&server, &["shared-identity"]).await;
    let report = isolation(
        &base,
        "mock-server",
        &["--loops", "20", "--max-evidence", "500"],
    )
    .await
    .expect("the preflight passes");
    e2e::set_faults(&server, &[]).await;
    assert_leak_named(&report, "mock-server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_description_stops_in_the_preflight_naming_the_setting() {
    let target = PythonTarget::start(Framework::FastApi, &[]);
    let base = target.url("/api/v1");
    for (set, setting) in [
        ("records.marker=/name", "records.marker"),
        ("records.collection=/things/", "records.collection"),
        ("records.id=/data/id", "records.id"),
        ("login.username-field=email", "login.username-field"),
        (
            "accounts.email={run}.u{user}@racebench.test",
            "accounts.email",
        ),
    ] {
        let error = isolation(&base, "fastapi", &["--loops", "1", "--set", set])
            .await
            .expect_err("a wrong description is a set-up error");
        assert!(error.starts_with("preflight: "), "{set}: {error}");
        assert!(
            error.contains(setting),
            "{set}: the error names {setting}: {error}"
        );
        assert!(
            error.contains("it answered: "),
            "{set}: the error shows the answer: {error}"
        );
    }

    // The collection without its slash: FastAPI answers 307 to the slashed path, which is
    // followed (same origin), counted, and named once as a hint.
    let report = isolation(
        &base,
        "fastapi",
        &["--loops", "2", "--set", "records.collection=/items"],
    )
    .await
    .expect("a same-origin redirect is followed");
    assert!(
        report.redirects_followed > 0,
        "redirects are counted: {}",
        summary(&report)
    );
    assert!(
        report.hints.iter().any(|h| h.contains("/api/v1/items/")),
        "the hint names where the server redirects: {:?}",
        report.hints
    );
    assert_clean_small(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_provisioned_accounts_are_used_as_given() {
    let server = e2e::server().await;
    let client = reqwest::Client::new();
    let mut lines = Vec::new();
    for n in 0..4 {
        let (email, password) = (
            format!("provisioned{n}@example.com"),
            format!("secret-{n}-pw"),
        );
        let registered = client
            .post(server.api_url("/auth/register"))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .expect("mock-server answers");
        assert!(
            registered.status().is_success(),
            "register {n}: {}",
            registered.status()
        );
        if n < 2 {
            lines.push(format!("{email} {password}"));
        } else {
            let token: serde_json::Value = client
                .post(server.api_url("/auth/token"))
                .form(&[
                    ("username", email.as_str()),
                    ("password", password.as_str()),
                ])
                .send()
                .await
                .expect("mock-server answers")
                .json()
                .await
                .expect("a token answer");
            lines.push(format!(
                "token {}",
                token["access_token"].as_str().expect("a token")
            ));
        }
    }
    let dir = tempfile::Builder::new()
        .prefix("racebench-accounts-")
        .tempdir()
        .unwrap();
    let file = dir.path().join("accounts.txt");
    std::fs::write(
        &file,
        format!("# two logins, two ready tokens\n{}\n", lines.join("\n")),
    )
    .unwrap();
    let source_file = format!("accounts.file={}", file.display());
    let base = server.api_url("");
    let from_file = [
        "--set",
        "accounts.source=file",
        "--set",
        source_file.as_str(),
    ];
    let mut words = vec!["--users", "4", "--loops", "5"];
    words.extend_from_slice(&from_file);
    let report = isolation(&base, "mock-server", &words).await;
    let api = api_file("mock-server");
    let mut too_many = vec![
        "loadgen",
        "isolation",
        "--api",
        api.as_str(),
        "--users",
        "5",
    ];
    too_many.extend_from_slice(&from_file);
    let cli = <loadgen::cli::Cli as clap::Parser>::try_parse_from(too_many).expect("flags parse");
    let error = loadgen::plan::Plan::from_cli(cli)
        .map(|_| ())
        .map_err(|e| e.0);
    std::fs::remove_dir_all(&dir).ok();
    let report = report.expect("the preflight passes with provisioned accounts");
    assert_clean_small(&report);
    assert!(
        report.endpoints.iter().all(|e| e.name != "register"),
        "no registration with provisioned accounts"
    );
    assert!(
        error.as_ref().is_err_and(|e| e.contains("accounts.file")),
        "5 users for 4 accounts is a usage error naming the setting: {error:?}"
    );
}

fn assert_clean_small(report: &Report) {
    let r = report.figures.requests;
    assert_eq!(r.violation + r.fail + r.exception, 0, "{}", summary(report));
    assert!(r.pass > 0, "{}", summary(report));
}
