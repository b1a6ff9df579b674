//! Distributed `loadgen cities` end to end: three workers of one run against one mock-server with
//! `shared-identity` on, merged. Markers carry the global user index, so a leak whose observer
//! and victim live in different worker processes is still reported with both named.

use e2e::{plan, server, set_faults};
use loadgen::{
    report::{Report, merge::merge},
    runner::live::Live,
};

const WORKERS: usize = 3;

async fn worker(base: &str, index: usize) -> Report {
    let index = index.to_string();
    let words = [
        "cities",
        "--base-url",
        base,
        "--quiet",
        "--users",
        "18",
        "--duration",
        "3s",
        "--list-check",
        // Keep every violation's evidence, so the cross-worker leaks are among them.
        "--max-evidence",
        "100000",
        "--run-id",
        "e2e-dist",
        "--workers",
        "3",
        "--worker-index",
        &index,
        // Every worker's preflight before anyone's load (its lone create waits at the barrier
        // until the preflight's 5 s limit): a preflight inside another worker's load is one
        // more victim of the race, not a check of the description.
        "--start-at",
        "+8s",
    ];
    loadgen::run(&plan(&words), std::future::pending(), Live::off())
        .await
        .expect("the run starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leak_across_workers_names_an_observer_and_a_victim_of_different_workers() {
    let server = server().await;
    // Ten requests meet in the racy window at once: from 18 users on three workers, most such
    // meetings mix workers.
    set_faults(&server, &["shared-identity:barrier=10"]).await;
    let base = server.api_url("");
    let (a, b, c) = tokio::join!(worker(&base, 0), worker(&base, 1), worker(&base, 2));
    set_faults(&server, &[]).await;
    let reports: Vec<(String, Report)> = [a, b, c]
        .into_iter()
        .enumerate()
        .map(|(k, report)| (format!("worker-{k}.json"), report))
        .collect();
    let leaks: u64 = reports.iter().map(|(_, r)| r.figures.violations.leak).sum();
    let merged = merge(reports).expect("one run's reports merge").report;
    assert_eq!(merged.figures.violations.leak, leaks, "leaks are summed");
    assert!(leaks > 0, "shared-identity leaks across users");
    let across: Vec<_> = merged
        .evidence
        .iter()
        .filter(|e| e.class == "leak")
        .filter(|e| {
            e.victim
                .is_some_and(|victim| victim % WORKERS != e.observer % WORKERS)
        })
        .collect();
    assert!(
        !across.is_empty(),
        "some leak's victim lives in another worker (user k is on worker k mod 3): {:#?}",
        merged.evidence
    );
    let leak = across[0];
    let victim = leak.victim.expect("filtered on a victim");
    assert!(
        leak.message.contains(&format!("user {}", leak.observer))
            && leak.message.contains(&format!("user {victim}")),
        "the message names both: {}",
        leak.message
    );
    assert!(
        leak.observer_account.is_some(),
        "the observer is local: its account is known"
    );
}
