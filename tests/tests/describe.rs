//! `loadgen describe` against servers we did not write: the FastAPI target's own
//! `/api/v1/openapi.json` (OpenAPI 3.1, JSON) and the DRF target's drf-spectacular schema at
//! `/api/schema/` (OpenAPI 3.0, YAML). For each: the description is inferred with nothing missing,
//! passes the preflight without an edit, and `isolation` with it is clean on the correct build and
//! finds the shared-identity bug on the buggy one (there through `isolation --openapi`, which
//! infers in memory). Lean on purpose: 4 users, 2 loops; the bug's window (20 ms) is held by every
//! authenticated request, so the 4 users' requests overlap by construction.

use e2e::{
    plan,
    targets::{Framework, FrameworkTarget},
};
use loadgen::{report::Report, runner::live::Live};

/// `loadgen isolation --quiet --users 4 --loops 2 WORDS...`, in process.
async fn isolation(words: &[&str]) -> Report {
    let mut all = vec!["isolation", "--quiet", "--users", "4", "--loops", "2"];
    all.extend_from_slice(words);
    loadgen::run(&plan(&all), std::future::pending(), Live::off())
        .await
        .unwrap_or_else(|e| panic!("the isolation run starts: {}", e.0))
}

/// Describes, checks with the preflight, runs clean on `clean`, then finds the bug on `buggy`.
async fn describe_then_isolation(framework: Framework, schema: &str, base: &str) {
    let name = framework.dir();
    let clean = FrameworkTarget::start(framework, &[]);
    let base_url = clean.url(base);
    let inferred = loadgen::api::openapi::describe(&clean.url(schema), Some(&base_url), None)
        .await
        .expect("the document reads");
    let text = inferred.toml();
    println!("{name}: inferred\n{text}");
    assert_eq!(
        inferred.missing(),
        Vec::<String>::new(),
        "{name}: every piece is inferred"
    );
    loadgen::describe::verify::preflight(&text, &base_url)
        .await
        .unwrap_or_else(|e| panic!("{name}: the inferred description passes the preflight: {e}"));
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("api.toml");
    std::fs::write(&file, &text).expect("the description is written");
    let file = file.display().to_string();
    let report = isolation(&[
        "--base-url",
        &base_url,
        "--api",
        &file,
        "--update-check",
        "--delete-check",
    ])
    .await;
    let r = report.figures.requests;
    assert_eq!(
        (r.violation, r.fail, r.exception),
        (0, 0, 0),
        "{name}: the correct build is clean with the inferred description: {:?} {:?}",
        report.failure_reasons,
        report.evidence
    );
    assert_eq!(loadgen::exit_code_of(&report), 0, "{name}: exit 0");
    drop(clean);

    let buggy = FrameworkTarget::start(framework, &[("RACEBENCH_BUG", "shared-identity")]);
    let report = isolation(&[
        "--base-url",
        &buggy.url(base),
        "--openapi",
        &buggy.url(schema),
    ])
    .await;
    assert!(
        report.figures.violations.leak > 0,
        "{name}: `isolation --openapi` finds the shared identity: {:?}",
        report.figures
    );
    assert_eq!(loadgen::exit_code_of(&report), 1, "{name}: exit 1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fastapi_openapi_json_describes_a_working_isolation_test() {
    describe_then_isolation(Framework::FastApi, "/api/v1/openapi.json", "/api/v1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drf_spectacular_schema_describes_a_working_isolation_test() {
    describe_then_isolation(Framework::Drf, "/api/schema/", "").await;
}
