//! The `/__admin` API: health, stats, reset, run-time config, the record of fault switches, and
//! who may call it.

mod support;

use std::{net::SocketAddr, time::Instant};

use axum::{body::Body, extract::connect_info::MockConnectInfo, http::Request};
use mock_server::{AppState, Config};
use reqwest::StatusCode;
use serde_json::json;
use support::Api;
use tower::ServiceExt;

#[tokio::test]
async fn health_answers_ok() {
    let api = Api::spawn().await;
    let health = api.get_json("/__admin/health").await;
    assert_eq!(health["status"], "ok", "health reports status ok: {health}");
    assert!(
        health["uptime_s"].is_u64(),
        "health reports its uptime in whole seconds: {health}"
    );
}

#[tokio::test]
async fn stats_count_users_cities_and_requests_per_route_and_status() {
    let api = Api::spawn().await;
    let token = api.user("ann@example.test").await;
    api.create_city(&token, "Lisbon").await;
    api.get(&token, &format!("/cities/{}", uuid::Uuid::new_v4()))
        .await;
    api.http.get(api.server.url("/json")).send().await.unwrap();
    api.http.get(api.server.url("/nope")).send().await.unwrap();

    let stats = api.get_json("/__admin/stats").await;
    assert_eq!(
        stats["users"], 1,
        "stats count the one registered user: {stats}"
    );
    assert_eq!(
        stats["cities"], 1,
        "stats count the one created city: {stats}"
    );
    let requests = &stats["requests"];
    assert_eq!(
        requests["POST /api/v1/auth/register"]["201"], 1,
        "the registration is counted under its route and 201: {stats}"
    );
    assert_eq!(
        requests["POST /api/v1/auth/token"]["200"], 1,
        "the login is counted under its route and 200: {stats}"
    );
    assert_eq!(
        requests["POST /api/v1/cities"]["201"], 1,
        "the create is counted under its route and 201: {stats}"
    );
    assert_eq!(
        requests["GET /api/v1/cities/{id}"]["404"], 1,
        "the read of an unknown city is counted under the route template and 404: {stats}"
    );
    assert_eq!(
        requests["GET /json"]["200"], 1,
        "GET /json is counted under 200: {stats}"
    );
    assert_eq!(
        requests["GET (unmatched)"]["404"], 1,
        "an unmatched path is counted as GET (unmatched) 404: {stats}"
    );
    assert_eq!(
        stats["requests_total"], 6,
        "every request before the stats call is counted: {stats}"
    );
}

#[tokio::test]
async fn reset_forgets_users_and_cities_and_their_tokens() {
    let api = Api::spawn().await;
    let token = api.user("ann@example.test").await;
    api.create_city(&token, "Lisbon").await;

    let reset = api
        .http
        .post(api.server.url("/__admin/reset"))
        .send()
        .await
        .unwrap();
    support::expect_status(reset, StatusCode::NO_CONTENT, "POST /__admin/reset").await;

    let stats = api.get_json("/__admin/stats").await;
    assert_eq!(
        (stats["users"].as_u64(), stats["cities"].as_u64()),
        (Some(0), Some(0)),
        "reset forgets every user and city: {stats}"
    );
    support::assert_error(
        api.get(&token, "/cities").await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    // The email is free again.
    api.register("ann@example.test").await;
}

#[tokio::test]
async fn fault_switches_are_recorded_in_order() {
    let api = Api::spawn().await;
    for (body, what) in [
        (json!({"enable": ["bola"]}), "switches bola on"),
        (json!({"disable": ["bola"]}), "switches bola off"),
    ] {
        let response = api
            .http
            .put(api.server.url("/__admin/faults"))
            .json(&body)
            .send()
            .await
            .unwrap();
        support::expect_json(
            response,
            StatusCode::OK,
            &format!("PUT /__admin/faults {what}"),
        )
        .await;
    }
    let record = api.get_json("/__admin/faults/switches").await;
    let switches = record["switches"].as_array().expect("a list of switches");
    assert_eq!(switches.len(), 2, "one switch on, one off: {record}");
    let on = switches[0]["on"][0].as_str().unwrap_or_default();
    assert!(
        on.starts_with("bola:") && switches[0]["off"] == json!([]),
        "the first switch turned bola on: {record}"
    );
    assert!(
        switches[1]["on"] == json!([]) && switches[1]["off"] == json!(["bola"]),
        "the second switch turned bola off: {record}"
    );
    assert!(
        switches[0]["at_unix_ms"].as_u64() <= switches[1]["at_unix_ms"].as_u64(),
        "oldest first, in Unix ms: {record}"
    );
}

#[tokio::test]
async fn config_changes_the_json_delay_at_run_time() {
    let api = Api::spawn().await;
    let config = api.get_json("/__admin/config").await;
    assert_eq!(
        config["delay"], "0",
        "the default /json delay is 0: {config}"
    );

    let updated = api
        .http
        .put(api.server.url("/__admin/config"))
        .json(&json!({"delay": "300ms"}))
        .send()
        .await
        .unwrap();
    let updated =
        support::expect_json(updated, StatusCode::OK, "PUT /__admin/config sets a delay").await;
    assert_eq!(
        updated["delay"], "300ms",
        "the new config shows the delay it was given: {updated}"
    );

    let started = Instant::now();
    api.http.get(api.server.url("/json")).send().await.unwrap();
    // A lower bound only: the server sleeps 300 ms, which no load can shorten.
    assert!(
        started.elapsed().as_millis() >= 300,
        "/json answered in {:?}, before the 300 ms delay set at run time",
        started.elapsed()
    );

    let bad = api
        .http
        .put(api.server.url("/__admin/config"))
        .json(&json!({"delay": "uniform:3s..1s"}))
        .send()
        .await
        .unwrap();
    support::assert_error(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

#[tokio::test]
async fn with_an_admin_token_admin_requires_it() {
    let api = support::spawn_with_admin_token().await;
    let stats = "/__admin/stats";
    let missing = api.get_with(stats, None).await;
    support::assert_error(missing, StatusCode::UNAUTHORIZED, "missing_token").await;
    let wrong = api.get_with(stats, Some("guess")).await;
    support::assert_error(wrong, StatusCode::UNAUTHORIZED, "invalid_token").await;
    let right = api.get_with(stats, Some(support::ADMIN_TOKEN)).await;
    assert_eq!(
        right.status(),
        StatusCode::OK,
        "the admin token opens /__admin/stats"
    );
}

#[tokio::test]
async fn without_an_admin_token_admin_refuses_clients_off_loopback() {
    let state = AppState::new(&Config::default());
    let remote: SocketAddr = "192.0.2.10:40000".parse().unwrap();
    let app = mock_server::router(state.clone()).layer(MockConnectInfo(remote));
    let response = app
        .oneshot(Request::get("/__admin/stats").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "without an admin token a client off loopback is refused /__admin (403): {response:?}"
    );

    let local: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let app = mock_server::router(state).layer(MockConnectInfo(local));
    let response = app
        .oneshot(Request::get("/__admin/stats").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "without an admin token a loopback client may use /__admin: {response:?}"
    );
}
