//! Waiting on the server's own state instead of sleeping: its `in_flight` gauge.

use std::time::Duration;

/// Blocks until the server at `url` is serving at least one request with a fault scope (its
/// `in_flight` gauge; the server runs with `error-rate:p=0`, which never fires but scopes every
/// request): proof that a request reached it, instead of a sleep.
pub fn wait_in_flight(url: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        loop {
            let stats: serde_json::Value = reqwest::get(format!("{url}/__admin/stats"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if stats["faults"]["in_flight"].as_u64().unwrap() >= 1 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
}
