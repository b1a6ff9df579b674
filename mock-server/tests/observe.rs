//! What an operator sees: Prometheus metrics at `/__admin/metrics` (parsed by prometheus-client's
//! OpenMetrics parser from PyPI) and the request journal at `/__admin/requests`.

mod support;

use mock_server::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Api, python, spawn_with};

/// Parses an exposition with `prometheus_client.openmetrics.parser` and returns its samples as
/// `[{"name", "labels", "value"}]`; panics with the parser's message when it refuses the text.
fn parse_exposition(text: &str) -> Vec<Value> {
    let output = python::run_python(
        "import json, sys\n\
         from prometheus_client.openmetrics.parser import text_string_to_metric_families\n\
         samples = []\n\
         for family in text_string_to_metric_families(sys.stdin.read()):\n\
         \x20   for s in family.samples:\n\
         \x20       samples.append({'family': family.name, 'type': family.type, 'name': s.name, 'labels': s.labels, 'value': s.value})\n\
         print(json.dumps(samples))",
        &[],
        text.as_bytes(),
    );
    assert!(
        output.status.success(),
        "the OpenMetrics parser refused /__admin/metrics:\n{}\n--- exposition\n{text}",
        python::describe(&output)
    );
    serde_json::from_slice::<Vec<Value>>(&output.stdout).expect("the script prints JSON")
}

/// The value of the sample `name` whose labels include `labels`.
fn sample(samples: &[Value], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s["name"] == name
                && labels
                    .iter()
                    .all(|(key, value)| s["labels"][*key].as_str() == Some(*value))
        })
        .and_then(|s| s["value"].as_f64())
}

async fn metrics_text(api: &Api) -> String {
    let response = api
        .http
        .get(api.server.url("/__admin/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "GET /__admin/metrics");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "the exposition's media type"
    );
    response.text().await.unwrap()
}

#[tokio::test]
async fn metrics_count_requests_latency_store_and_cross_user_reads() {
    let api = Api::spawn().await;
    let ann = api.user("ann@example.test").await;
    let bob = api.user("bob@example.test").await;
    let city = api.create_city(&ann, "Lisbon").await;
    for _ in 0..3 {
        api.http.get(api.server.url("/json")).send().await.unwrap();
    }
    api.http.get(api.server.url("/nope")).send().await.unwrap();
    // bola: bob reads ann's city, a cross-user read the fault journal records.
    api.http
        .put(api.server.url("/__admin/faults"))
        .json(&json!({"enable": ["bola"]}))
        .send()
        .await
        .unwrap();
    let id = city["id"].as_str().unwrap();
    let leaked = api.get(&bob, &format!("/cities/{id}")).await;
    assert_eq!(
        leaked.status(),
        StatusCode::OK,
        "bola lets bob read ann's city"
    );

    let samples = parse_exposition(&metrics_text(&api).await);
    let json = [("method", "GET"), ("route", "/json"), ("status", "200")];
    assert_eq!(
        sample(&samples, "mock_requests_total", &json),
        Some(3.0),
        "/json requests"
    );
    assert_eq!(
        sample(&samples, "mock_request_duration_seconds_count", &json),
        Some(3.0),
        "/json latencies observed"
    );
    let inf = [("route", "/json"), ("le", "+Inf")];
    assert_eq!(
        sample(&samples, "mock_request_duration_seconds_bucket", &inf),
        Some(3.0),
        "the +Inf bucket holds every /json request"
    );
    let unmatched = [("route", "(unmatched)"), ("status", "404")];
    assert_eq!(
        sample(&samples, "mock_requests_total", &unmatched),
        Some(1.0),
        "/nope"
    );
    let created = [("route", "/api/v1/cities"), ("status", "201")];
    assert_eq!(
        sample(&samples, "mock_requests_total", &created),
        Some(1.0),
        "city created"
    );
    assert_eq!(
        sample(&samples, "mock_users", &[]),
        Some(2.0),
        "two accounts"
    );
    assert_eq!(sample(&samples, "mock_cities", &[]), Some(1.0), "one city");
    assert_eq!(
        sample(&samples, "mock_fault_fires_total", &[("fault", "bola")]),
        Some(1.0),
        "bola fired once"
    );
    assert_eq!(
        sample(&samples, "mock_fault_enabled", &[("fault", "bola")]),
        Some(1.0),
        "bola is on"
    );
    assert_eq!(
        sample(&samples, "mock_fault_fires_total", &[("fault", "racy-id")]),
        Some(0.0),
        "every fault of the catalogue has a series, fired or not"
    );
    assert_eq!(
        sample(&samples, "mock_cross_user_reads_total", &[]),
        Some(1.0),
        "the leak"
    );
    assert_eq!(
        sample(&samples, "mock_cross_user_writes_total", &[]),
        Some(0.0),
        "no write"
    );
    assert!(
        sample(&samples, "mock_request_journal_dropped_total", &[]).is_some()
            && sample(&samples, "mock_fault_journal_dropped_total", &[]).is_some(),
        "both journals' drops are exposed"
    );
}

#[tokio::test]
async fn metrics_are_behind_the_admin_guard() {
    let api = support::spawn_with_admin_token().await;
    let metrics = "/__admin/metrics";
    let anonymous = api.get_with(metrics, None).await;
    support::assert_error(anonymous, StatusCode::UNAUTHORIZED, "missing_token").await;
    let admin = api.get_with(metrics, Some(support::ADMIN_TOKEN)).await;
    assert_eq!(
        admin.status(),
        StatusCode::OK,
        "the admin token opens /__admin/metrics"
    );
}

async fn requests(api: &Api, query: &str) -> Value {
    api.get_json(&format!("/__admin/requests?{query}")).await
}

fn paths(view: &Value) -> Vec<String> {
    view["requests"]
        .as_array()
        .expect("requests is an array")
        .iter()
        .map(|r| format!("{} {} {}", r["method"], r["path"], r["status"]).replace('"', ""))
        .collect()
}

#[tokio::test]
async fn the_request_journal_answers_by_user_path_status_and_time() {
    let api = Api::spawn().await;
    let ann_id = api.register("ann@example.test").await;
    let ann = api.login("ann@example.test").await;
    let bob = api.user("bob@example.test").await;
    let city = api.create_city(&ann, "Lisbon").await;
    let id = city["id"].as_str().unwrap();
    api.get(&bob, &format!("/cities/{id}")).await;
    api.http.get(api.server.url("/json")).send().await.unwrap();

    let by_ann = requests(&api, &format!("user={ann_id}")).await;
    assert_eq!(
        paths(&by_ann),
        ["POST /api/v1/cities 201"],
        "ann's token made one request"
    );
    let entry = &by_ann["requests"][0];
    assert_eq!(
        entry["route"], "/api/v1/cities",
        "the entry names the route template: {entry}"
    );
    assert!(entry["duration_ms"].as_f64().unwrap() >= 0.0, "a duration");
    assert_eq!(entry["faults"], json!([]), "no fault is on");

    let not_found = requests(&api, "status=404").await;
    assert_eq!(
        paths(&not_found),
        [format!("GET /api/v1/cities/{id} 404")],
        "bob cannot read ann's city"
    );
    let by_template = requests(&api, "path=/api/v1/cities/{id}").await;
    assert_eq!(paths(&by_template).len(), 1, "the route template matches");
    let json_only = requests(&api, "path=/json").await;
    assert_eq!(
        paths(&json_only),
        ["GET /json 200"],
        "path=/json filters to the one /json request: {json_only}"
    );

    let last = json_only["requests"][0]["start_unix_ms"].as_u64().unwrap();
    let later = requests(&api, &format!("since={}", last + 60_000)).await;
    assert!(
        paths(&later).is_empty(),
        "nothing was routed a minute after the last request"
    );
    let limited = requests(&api, "limit=2").await;
    assert_eq!(limited["requests"].as_array().unwrap().len(), 2, "limit");

    let bad = api
        .http
        .get(api.server.url("/__admin/requests?user=nobody"))
        .send()
        .await
        .unwrap();
    support::assert_error(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

#[tokio::test]
async fn the_request_journal_names_the_faults_that_fired_and_clears() {
    let api = Api::spawn().await;
    let ann = api.user("ann@example.test").await;
    let bob = api.user("bob@example.test").await;
    let city = api.create_city(&ann, "Lisbon").await;
    api.http
        .put(api.server.url("/__admin/faults"))
        .json(&json!({"enable": ["bola"]}))
        .send()
        .await
        .unwrap();
    let id = city["id"].as_str().unwrap();
    api.get(&bob, &format!("/cities/{id}")).await;
    let read = requests(&api, &format!("path=/api/v1/cities/{id}")).await;
    assert_eq!(read["requests"][0]["faults"], json!(["bola"]), "{read}");

    let clear = api
        .http
        .delete(api.server.url("/__admin/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        clear.status(),
        StatusCode::NO_CONTENT,
        "DELETE /__admin/requests"
    );
    let after = requests(&api, "path=/api/v1/cities").await;
    assert!(paths(&after).is_empty(), "cleared: {after}");
    let journal = api
        .http
        .get(api.server.url("/__admin/journal"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        journal.contains("\"bola\""),
        "the fault journal (ground truth) is not cleared with the request journal"
    );
}

#[tokio::test]
async fn with_request_journal_zero_nothing_is_kept() {
    let api = spawn_with(Config {
        request_journal: 0,
        ..Config::default()
    })
    .await;
    api.http.get(api.server.url("/json")).send().await.unwrap();
    let view = requests(&api, "").await;
    assert_eq!(view["enabled"], false, "{view}");
    assert_eq!(
        view["requests"],
        json!([]),
        "with request recording off nothing is recorded: {view}"
    );
}

#[tokio::test]
async fn the_admin_pages_own_polling_stays_out_of_the_request_journal() {
    let api = Api::spawn().await;
    for path in [
        "/__admin/stats",
        "/__admin/faults",
        "/__admin/requests?limit=5",
    ] {
        let polled = api
            .http
            .get(api.server.url(path))
            .header(shared::admin::ADMIN_PAGE_HEADER, "1")
            .send()
            .await
            .unwrap();
        assert_eq!(polled.status(), StatusCode::OK, "the page polls {path}");
    }
    api.http.get(api.server.url("/json")).send().await.unwrap();
    api.http
        .get(api.server.url("/__admin/health"))
        .send()
        .await
        .unwrap();

    let view = requests(&api, "").await;
    assert_eq!(
        paths(&view),
        ["GET /json 200", "GET /__admin/health 200"],
        "the page's calls are left out; the traffic under test and other admin calls stay: {view}"
    );
}
