//! `/__admin/` in a real headless browser: Chromium from Debian driven over WebDriver by selenium
//! (tests/browser/admin_page.py). Clicking a fault's switch turns it on (as `/__admin/faults`
//! reports), and the live counters move while requests run.

mod support;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use reqwest::StatusCode;
use serde_json::Value;
use support::{Api, python};

#[tokio::test]
async fn the_page_is_one_self_contained_html_file() {
    let api = Api::spawn().await;
    let response = api
        .http
        .get(api.server.url("/__admin/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "GET /__admin/");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "served as HTML"
    );
    let html = response.text().await.unwrap();
    for external in [
        "src=\"http",
        "href=\"http",
        "src=\"//",
        "href=\"//",
        "@import",
    ] {
        assert!(
            !html.contains(external),
            "the page loads nothing from outside ({external})"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clicking_a_switch_turns_the_fault_on_and_the_counters_move_under_load() {
    let api = Arc::new(Api::spawn().await);
    let ann = api.user("ann@example.test").await;
    let bob = api.user("bob@example.test").await;
    let city = api.create_city(&ann, "Lisbon").await;
    let id = city["id"].as_str().unwrap().to_owned();

    let screenshot = python::workspace_root().join("target/admin-page.png");
    let _ = std::fs::remove_file(&screenshot);
    let script = python::workspace_root().join("mock-server/tests/browser/admin_page.py");
    let mut browser = Command::new(python::bin("python"))
        .arg(&script)
        .arg(api.server.url(""))
        .arg(&screenshot)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the browser script");
    let stdout = browser.stdout.take().unwrap();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Vec<String>>();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut ready = Some(ready_tx);
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let is_ready = line == "READY";
            lines.push(line);
            if is_ready && let Some(ready) = ready.take() {
                let _ = ready.send(lines.clone());
            }
        }
        lines
    });

    // The click happened (or the script died, which closes the channel).
    let clicked = ready_rx.await;
    assert!(
        clicked.is_ok(),
        "the browser script ended before clicking: {}",
        finish(browser, reader)
    );
    let faults = api.get_json("/__admin/faults").await;
    let bola = faults["faults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|fault| fault["name"] == "bola")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(
        bola["enabled"], true,
        "after the click /__admin/faults reports bola on: {faults}"
    );

    // Load until the page has seen the counters move: /json, and bob reading ann's city (a leak
    // now that bola is on).
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (api, stop) = (api.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                api.http.get(api.server.url("/json")).send().await.unwrap();
                let read = api.get(&bob, &format!("/cities/{id}")).await;
                assert_eq!(
                    read.status(),
                    StatusCode::OK,
                    "bola lets bob read ann's city"
                );
            }
        })
    };
    let result = tokio::task::spawn_blocking(move || {
        let status = browser.wait().expect("wait for the browser script");
        let mut stderr = String::new();
        if let Some(mut pipe) = browser.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
        }
        (status, reader.join().unwrap_or_default(), stderr)
    })
    .await
    .unwrap();
    stop.store(true, Ordering::Relaxed);
    load.await.unwrap();
    let (status, lines, stderr) = result;
    assert!(
        status.success(),
        "the browser did not see the counters move:\n{}\n--- stderr\n{stderr}",
        lines.join("\n")
    );
    let png = std::fs::read(&screenshot).expect("the script saved a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
}

/// Ends the script and returns what it printed, for an assertion message.
fn finish(
    mut browser: std::process::Child,
    reader: std::thread::JoinHandle<Vec<String>>,
) -> String {
    let _ = browser.kill();
    let _ = browser.wait();
    let mut stderr = String::new();
    if let Some(mut pipe) = browser.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    format!(
        "{}\n--- stderr\n{stderr}",
        reader.join().unwrap_or_default().join("\n")
    )
}
