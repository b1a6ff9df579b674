//! Distributed runs end to end: three `loadgen json` worker processes against one mock server,
//! `loadgen merge` of their reports (exact totals and percentiles, thresholds on the merged
//! figures, refusal of foreign reports), `loadgen compare` against a baseline, and JUnit files
//! that validate against `fixtures/junit.xsd`.

mod common;

use std::{path::Path, process::Output, time::Duration};

use base64::Engine;
use hdrhistogram::{Histogram, serialization::Deserializer};
use serde_json::Value;

const WORKERS: usize = 3;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs worker `k` of 3 of `loadgen json` against `url` with `words`, writing `dir/w{k}.json`.
async fn worker(url: &str, dir: &Path, k: usize, run_id: &str, words: &[&str]) -> Output {
    common::binary()
        .args(["json", "--url", url, "--quiet", "--run-id", run_id])
        .args([
            "--workers",
            &WORKERS.to_string(),
            "--worker-index",
            &k.to_string(),
        ])
        .args(words)
        .arg("--json-out")
        .arg(dir.join(format!("w{k}.json")))
        .output()
        .await
        .expect("loadgen runs")
}

/// Runs the three workers at once; each must exit 0.
async fn three_workers(url: &str, dir: &Path, run_id: &str, words: &[&str]) {
    let (a, b, c) = tokio::join!(
        worker(url, dir, 0, run_id, words),
        worker(url, dir, 1, run_id, words),
        worker(url, dir, 2, run_id, words)
    );
    for (k, out) in [a, b, c].iter().enumerate() {
        assert_eq!(out.status.code(), Some(0), "worker {k}: {}", stderr(out));
    }
}

async fn merge(dir: &Path, reports: &[&str], words: &[&str]) -> Output {
    common::binary()
        .arg("merge")
        .args(reports.iter().map(|r| dir.join(r)))
        .args(words)
        .output()
        .await
        .expect("loadgen merge runs")
}

/// The microsecond samples of a report's base64 V2 histogram, as (value, count).
fn samples(encoded: &str) -> Vec<(u64, u64)> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("base64");
    let histogram: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .expect("an HdrHistogram");
    histogram
        .iter_recorded()
        .map(|v| (v.value_iterated_to(), v.count_at_value()))
        .collect()
}

/// The nearest-rank percentile (parts per 100,000) of one histogram fed `samples`, clamped into
/// the exact `[min, max]`, in µs: the definition `loadgen::stats::latency` documents.
fn percentile_us(samples: &[(u64, u64)], quantile: u64, min_ms: f64, max_ms: f64) -> u64 {
    let mut one = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
    for &(value, count) in samples {
        one.record_n(value, count).unwrap();
    }
    let n = one.len();
    let rank = (n * quantile).div_ceil(100_000).max(1);
    let mut seen = 0;
    let mut answer = one.max();
    for bucket in one.iter_recorded() {
        seen += bucket.count_at_value();
        if seen >= rank {
            answer = one.highest_equivalent(bucket.value_iterated_to());
            break;
        }
    }
    let us = |ms: f64| (ms * 1e6).round() as u64 / 1_000;
    let (min_us, max_us) = (us(min_ms), us(max_ms));
    answer.clamp(min_us.min(max_us), max_us)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_merge_into_their_sum_with_the_percentiles_of_all_samples() {
    let server = common::server(Duration::from_millis(2)).await;
    let dir = common::temp_dir("dist-merge");
    let url = server.url("/json");
    // One wall-clock start for the three, far enough ahead for a busy machine to launch them.
    let start_at = (time::OffsetDateTime::now_utc() + Duration::from_secs(3))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    three_workers(
        &url,
        &dir,
        "dist-1",
        &["--users", "7", "--duration", "2s", "--start-at", &start_at],
    )
    .await;
    let out = merge(
        &dir,
        &["w0.json", "w1.json", "w2.json"],
        &["--json-out", dir.join("m.json").to_str().unwrap()],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "merge: {}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Workers (3 merged") && text.contains("worker 2"),
        "the summary has the per-worker table: {text}"
    );

    let workers: Vec<Value> = (0..WORKERS)
        .map(|k| common::read_json(&dir.join(format!("w{k}.json"))))
        .collect();
    let merged = common::read_json(&dir.join("m.json"));
    common::assert_valid_report(&merged);
    let users: Vec<u64> = workers
        .iter()
        .map(|w| w["workload"]["users"].as_u64().unwrap())
        .collect();
    assert_eq!(
        users,
        [3, 2, 2],
        "7 users: the first 7 mod 3 workers take one more"
    );
    for field in ["total", "pass", "fail", "exception", "violation"] {
        let sum: u64 = workers
            .iter()
            .map(|w| w["requests"][field].as_u64().unwrap())
            .sum();
        assert_eq!(
            merged["requests"][field], sum,
            "requests.{field} is the sum"
        );
    }
    let sum: u64 = workers
        .iter()
        .map(|w| w["iterations"].as_u64().unwrap())
        .sum();
    assert_eq!(merged["iterations"], sum, "iterations are the sum");
    assert!(
        merged["requests"]["pass"].as_u64().unwrap() > 100,
        "the merged report holds the workers' passes: {}",
        merged["requests"]
    );
    assert_eq!(
        merged["workload"]["users"], 7,
        "the merged users are the sum of the workers' users: {}",
        merged["workload"]
    );
    assert_eq!(
        merged["worker"],
        Value::Null,
        "a merged report is no single worker's: {}",
        merged["worker"]
    );
    assert_eq!(
        merged["workers"].as_array().unwrap().len(),
        3,
        "the merged report lists its three workers: {}",
        merged["workers"]
    );

    // One histogram fed every worker's samples answers the merged percentiles.
    let all: Vec<(u64, u64)> = workers
        .iter()
        .flat_map(|w| samples(w["histogram"].as_str().unwrap()))
        .collect();
    let min = workers
        .iter()
        .map(|w| w["latency_ms"]["min"].as_f64().unwrap())
        .fold(f64::INFINITY, f64::min);
    let max = workers
        .iter()
        .map(|w| w["latency_ms"]["max"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert_eq!(
        merged["latency_ms"]["min"].as_f64().unwrap(),
        min,
        "the merged min latency is the workers' smallest: {}",
        merged["latency_ms"]
    );
    assert_eq!(
        merged["latency_ms"]["max"].as_f64().unwrap(),
        max,
        "the merged max latency is the workers' largest: {}",
        merged["latency_ms"]
    );
    let count: u64 = all.iter().map(|(_, n)| n).sum();
    assert_eq!(
        merged["latency_ms"]["count"], count,
        "the merged sample count is the sum of the workers' histograms: {}",
        merged["latency_ms"]
    );
    for (field, quantile) in [("p50", 50_000), ("p99", 99_000), ("p999", 99_900)] {
        // Reports print whole microseconds in ms; compare them as microseconds.
        assert_eq!(
            (merged["latency_ms"][field].as_f64().unwrap() * 1e3).round() as u64,
            percentile_us(&all, quantile, min, max),
            "merged {field} equals that of one histogram fed every sample"
        );
    }

    // Intervals line up on the wall clock: --start-at made the workers begin together.
    let agreed = workers[0]["start_at_unix_s"]
        .as_f64()
        .expect("--start-at is reported");
    for (k, w) in workers.iter().enumerate() {
        assert_eq!(
            w["start_at_unix_s"], agreed,
            "worker {k} has the same start"
        );
        let started = w["started_at_unix_s"].as_f64().unwrap();
        assert!(
            started >= agreed - 0.001,
            "worker {k} waited for --start-at"
        );
        let late = merged["workers"][k]["late_s"].as_f64().unwrap();
        assert!(
            (late - (started - agreed).max(0.0)).abs() < 1e-9,
            "late_s of worker {k}"
        );
    }
    let intervals = merged["intervals"].as_array().unwrap();
    let on_time = merged["workers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|w| w["late_s"].as_f64().unwrap() < 0.4);
    if on_time {
        assert!(
            (2..=3).contains(&intervals.len()),
            "2 s of three workers started together make 2 merged intervals (3 if one \
             straddles a tick): {}",
            intervals.len()
        );
    }
    let interval_total: u64 = intervals
        .iter()
        .map(|i| {
            i["rows"].as_array().unwrap().last().unwrap()["total"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert_eq!(
        interval_total, merged["requests"]["total"],
        "every request is in one interval"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_threshold_only_the_merged_figures_breach_fails_the_merge() {
    let server = common::server(Duration::ZERO).await;
    let dir = common::temp_dir("dist-threshold");
    // One user per worker, 10 loops each: every worker makes 10 requests, the run 30.
    three_workers(
        &server.url("/json"),
        &dir,
        "dist-2",
        &[
            "--users",
            "3",
            "--loops",
            "10",
            "--threshold",
            "requests<25",
        ],
    )
    .await;
    let junit = dir.join("m.xml");
    let out = merge(
        &dir,
        &["w0.json", "w1.json", "w2.json"],
        &["--junit-out", junit.to_str().unwrap()],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "30 requests breach requests<25 although each worker's 10 did not: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("threshold breached: requests<25"),
        "{}",
        stderr(&out)
    );
    common::assert_valid_junit(&junit);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("name=\"requests&lt;25\"")
            && xml
                .contains("<failure message=\"threshold requests&lt;25 breached (actual 30.000)\""),
        "the breached threshold is a failed test case: {xml}"
    );
    // --threshold replaces the workers' thresholds.
    let out = merge(
        &dir,
        &["w0.json", "w1.json", "w2.json"],
        &["--threshold", "requests<31"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_of_different_runs_or_one_worker_twice_are_refused() {
    let server = common::server(Duration::ZERO).await;
    let dir = common::temp_dir("dist-refuse");
    let url = server.url("/json");
    let words = ["--users", "3", "--loops", "2"];
    let other = dir.join("other");
    let (a, b) = tokio::join!(
        worker(&url, &dir, 0, "run-a", &words),
        worker(&url, &other, 1, "run-b", &words)
    );
    assert_eq!(a.status.code(), Some(0), "{}", stderr(&a));
    // The second worker's directory does not exist: writing its report is an output error.
    assert_eq!(b.status.code(), Some(2), "an unwritable --json-out exits 2");
    assert!(stderr(&b).contains("cannot write"), "{}", stderr(&b));
    std::fs::create_dir_all(&other).unwrap();
    let b = worker(&url, &other, 1, "run-b", &words).await;
    assert_eq!(b.status.code(), Some(0), "{}", stderr(&b));

    let out = merge(&dir, &["w0.json", "other/w1.json"], &[]).await;
    assert_eq!(out.status.code(), Some(2), "different runs are refused");
    let message = stderr(&out);
    assert!(
        message.contains("different runs")
            && message.contains("run-a")
            && message.contains("run-b"),
        "the error names both run ids: {message}"
    );
    let out = merge(&dir, &["w0.json", "w0.json"], &[]).await;
    assert_eq!(out.status.code(), Some(2), "one worker twice is refused");
    assert!(stderr(&out).contains("both worker 0"), "{}", stderr(&out));
    std::fs::write(dir.join("junk.json"), "{\"not\": \"a report\"}").unwrap();
    let out = merge(&dir, &["junk.json"], &[]).await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "a file that is no report exits 2"
    );
    assert!(
        stderr(&out).contains("not a loadgen JSON report"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_out_dash_prints_one_report_line_that_merge_reads_from_a_log() {
    let server = common::server(Duration::ZERO).await;
    let dir = common::temp_dir("dist-stdout");
    let out = common::binary()
        .args([
            "json",
            "--url",
            &server.url("/json"),
            "--duration",
            "1500ms",
            "--report-every",
            "1s",
            "--json-out",
            "-",
        ])
        .output()
        .await
        .expect("loadgen runs");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "stdout holds the report line only: {stdout}"
    );
    let report: Value = serde_json::from_str(lines[0]).expect("the line is the JSON report");
    common::assert_valid_report(&report);
    let total = report["requests"]["total"].as_u64().unwrap();
    assert!(
        stderr(&out).contains(&format!("Total requests: {total},")),
        "the summary went to stderr: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("s] users 1, in flight"),
        "progress lines go to stderr too: {}",
        stderr(&out)
    );
    // A log as `kubectl logs` prints it: both streams, the report line among them.
    let log = format!("{}{}", stderr(&out), stdout);
    std::fs::write(dir.join("pod.log"), log).unwrap();
    let out = merge(&dir, &["pod.log"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("Total requests: {total},")),
        "the merged log has the run's requests"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_finds_no_regression_against_itself_and_names_p50_and_p99_after_50ms_more() {
    let fast = common::server(Duration::from_millis(5)).await;
    let slow = common::server(Duration::from_millis(55)).await;
    let dir = common::temp_dir("dist-compare");
    let run = |url: String, file: &'static str| {
        let path = dir.join(file);
        async move {
            let out = common::binary()
                .args([
                    "json",
                    "--url",
                    &url,
                    "--quiet",
                    "--users",
                    "4",
                    "--duration",
                    "2s",
                ])
                .arg("--json-out")
                .arg(&path)
                .output()
                .await
                .expect("loadgen runs");
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        }
    };
    run(fast.url("/json"), "base.json").await;
    run(slow.url("/json"), "slow.json").await;
    let compare = |current: &'static str, extra: &[&str]| {
        let mut command = common::binary();
        command
            .arg("compare")
            .arg(dir.join("base.json"))
            .arg(dir.join(current))
            .args(["--max-regression", "p50=10%,p99=10%,rps=5%"])
            .args(extra);
        async move { command.output().await.expect("loadgen compare runs") }
    };

    let same = compare("base.json", &[]).await;
    assert_eq!(
        same.status.code(),
        Some(0),
        "a run is no regression of itself: {}",
        stderr(&same)
    );
    let text = String::from_utf8_lossy(&same.stdout);
    assert!(text.contains("No regression"), "{text}");
    assert!(
        text.contains("+0.0 %"),
        "unchanged figures show +0.0 %: {text}"
    );

    let html = dir.join("c.html");
    let junit = dir.join("c.xml");
    let slower = compare(
        "slow.json",
        &[
            "--html-out",
            html.to_str().unwrap(),
            "--junit-out",
            junit.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(
        slower.status.code(),
        Some(1),
        "50 ms more is a regression: {}",
        stderr(&slower)
    );
    let message = stderr(&slower);
    assert!(
        message.contains("regressed: ")
            && message.contains("p50 of all")
            && message.contains("p99 of all"),
        "the exit names p50 and p99: {message}"
    );
    let text = String::from_utf8_lossy(&slower.stdout);
    assert!(text.contains("REGRESSED"), "{text}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.starts_with("<!doctype html>") && page.contains("REGRESSED"),
        "the HTML comparison page marks the regression"
    );
    common::assert_valid_junit(&junit);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.matches("<failure ").count() >= 2,
        "p50 and p99 fail: {xml}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runs_junit_file_validates_and_has_a_case_per_threshold_class_and_request_name() {
    let server = common::server(Duration::ZERO).await;
    let dir = common::temp_dir("dist-junit");
    let junit = dir.join("run.xml");
    let out = common::binary()
        .args([
            "json",
            "--url",
            &server.url("/json"),
            "--quiet",
            "--loops",
            "5",
        ])
        .args([
            "--expect-status",
            "201",
            "--threshold",
            "p99<5s",
            "--threshold",
            "fail_rate<0.5",
        ])
        .arg("--junit-out")
        .arg(&junit)
        .output()
        .await
        .expect("loadgen runs");
    assert_eq!(
        out.status.code(),
        Some(3),
        "every request fails its check, so the run tested nothing (exit 3): {}",
        stderr(&out)
    );
    common::assert_valid_junit(&junit);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(
        xml.matches("<testcase ").count(),
        2 + 7 + 1,
        "two thresholds, seven violation classes, one request name: {xml}"
    );
    assert!(xml.contains("tests=\"10\" failures=\"3\""), "{xml}");
    assert!(
        xml.contains("5 of 5 `GET /json` requests failed their checks: status 200 != 201"),
        "the check's failure message is the first reason: {xml}"
    );
}
