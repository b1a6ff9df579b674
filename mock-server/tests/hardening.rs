//! What a hostile or careless client must not break (issue 10), over real sockets on port 0:
//! slowloris heads and idle connections are closed after their timeouts, the connection limit
//! refuses instead of hanging, a shutdown has a deadline, ambiguous credentials are refused, a
//! declared oversized body is refused before it is read, every 4xx (hyper's own too) has the JSON
//! error body, a body that stalls is answered 408, a JSON array is not an object, a reset racing a create leaves nothing half-done,
//! and the store's caps refuse creates instead of evicting.
//!
//! No assertion depends on timing: a connection is "closed by the server" when its read ends
//! (with a generous guard, so a regression fails instead of hanging), and a race is set up by
//! waiting on the server's own in-flight gauge.

mod support;

use std::{net::SocketAddr, time::Duration};

use axum::{body::Body, extract::connect_info::MockConnectInfo, http::Request};
use mock_server::{AppState, Config, serve::Limits, store::Caps};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Api, spawn_with};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tower::ServiceExt;

/// How long a test waits for something that must happen before calling it a failure: far above
/// the configured timeouts, so only a regression (it never happens) reaches it.
const GUARD: Duration = Duration::from_secs(30);

fn limits(header: Duration, idle: Duration) -> Limits {
    Limits {
        header_timeout: header,
        idle_timeout: idle,
        ..Limits::default()
    }
}

/// Reads until the server closes the connection (EOF or reset); returns what it sent.
/// Fails if the connection is still open after [`GUARD`].
async fn read_until_closed(stream: &mut TcpStream, why: &str) -> Vec<u8> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(GUARD, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server never closed the connection: {why}"
    );
    received
}

/// Reads one response (head and a `content-length` body) from a kept-alive connection.
async fn read_response(stream: &mut TcpStream) -> (u16, String) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = find(&data, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length: "))
                .map_or(0, |value| value.trim().parse().unwrap());
            if data.len() >= end + 4 + length {
                let status = head[9..12].parse().unwrap();
                let body = String::from_utf8_lossy(&data[end + 4..end + 4 + length]).into_owned();
                return (status, body);
            }
        }
        let n = tokio::time::timeout(GUARD, stream.read(&mut buf))
            .await
            .expect("a response within the guard")
            .unwrap();
        assert!(n > 0, "connection closed mid-response: {data:?}");
        data.extend_from_slice(&buf[..n]);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Splits a complete `connection: close` answer into its status and JSON body.
fn status_and_json(answer: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("a complete answer: {text:?}"));
    let status = head[9..12].parse().unwrap();
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("JSON body ({e}): {text:?}"));
    (status, body)
}

const GET_JSON: &[u8] = b"GET /json HTTP/1.1\r\nhost: test\r\n\r\n";

#[tokio::test]
async fn slowloris_heads_are_closed_after_the_header_timeout_while_fresh_clients_are_served() {
    let api = spawn_with(Config {
        limits: limits(Duration::from_millis(500), Duration::from_secs(60)),
        ..Config::default()
    })
    .await;
    let addr = api.server.addr;
    // 50 connections, each sending a head one byte every 50 ms and never its final CRLF.
    let head = b"GET /json HTTP/1.1\r\nhost: slow.test\r\nx-padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    let mut held = Vec::new();
    for _ in 0..50 {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut reader, mut writer) = stream.into_split();
        let trickle = tokio::spawn(async move {
            for byte in head {
                if writer.write_all(&[*byte]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            // Out of bytes: hold the head open.
            std::future::pending::<()>().await;
        });
        held.push((
            tokio::spawn(async move {
                let mut received = Vec::new();
                let read = tokio::time::timeout(GUARD, reader.read_to_end(&mut received)).await;
                (received, read.is_ok())
            }),
            trickle,
        ));
    }

    let fresh = api.http.get(api.server.url("/json")).send().await.unwrap();
    assert_eq!(fresh.status(), StatusCode::OK, "a fresh client is served");

    for (reader, trickle) in held {
        let (received, closed) = reader.await.unwrap();
        assert!(
            closed,
            "a slowloris connection was still open after {GUARD:?}"
        );
        assert!(
            received.is_empty(),
            "closed without an answer: {received:?}"
        );
        trickle.abort();
    }
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout() {
    let api = spawn_with(Config {
        limits: limits(Duration::from_secs(60), Duration::from_millis(500)),
        ..Config::default()
    })
    .await;
    let mut stream = TcpStream::connect(api.server.addr).await.unwrap();
    stream.write_all(GET_JSON).await.unwrap();
    assert_eq!(
        read_response(&mut stream).await.0,
        200,
        "a first request on a fresh connection is answered 200"
    );
    // A second request on the same connection works: the connection is kept alive.
    stream.write_all(GET_JSON).await.unwrap();
    assert_eq!(
        read_response(&mut stream).await.0,
        200,
        "a second request on the kept-alive connection is answered 200"
    );

    let after = read_until_closed(&mut stream, "idle past --idle-timeout").await;
    assert!(after.is_empty(), "nothing more was sent: {after:?}");
}

#[tokio::test]
async fn past_the_connection_limit_a_new_connection_is_refused_with_503_until_one_closes() {
    let api = spawn_with(Config {
        limits: Limits {
            max_connections: 2,
            ..Limits::default()
        },
        ..Config::default()
    })
    .await;
    let addr = api.server.addr;
    // Two connections the server has certainly accepted: each got an answer.
    let mut first = TcpStream::connect(addr).await.unwrap();
    let mut second = TcpStream::connect(addr).await.unwrap();
    for stream in [&mut first, &mut second] {
        stream.write_all(GET_JSON).await.unwrap();
        assert_eq!(
            read_response(stream).await.0,
            200,
            "each connection under the limit is answered 200"
        );
    }

    let mut third = TcpStream::connect(addr).await.unwrap();
    let _ = third.write_all(GET_JSON).await;
    let answer = read_until_closed(&mut third, "a refused connection is closed").await;
    // The canned 503 is written before the close; a reset may still swallow it.
    if !answer.is_empty() {
        let (status, body) = status_and_json(&answer);
        assert_eq!(status, 503, "refused at the limit");
        assert_eq!(
            body["error"]["code"], "too_many_connections",
            "the refusal at the connection limit carries the too_many_connections error: {body}"
        );
    }

    drop(first);
    // The slot frees once the server sees the close; until then a new connection is refused.
    let served = tokio::time::timeout(GUARD, async {
        loop {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            if stream.write_all(GET_JSON).await.is_ok() {
                let mut answer = Vec::new();
                let mut buf = [0u8; 1024];
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    answer.extend_from_slice(&buf[..n]);
                    if find(&answer, b"Hello, World!").is_some() {
                        return;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(served.is_ok(), "a closed connection frees its slot");
}

#[tokio::test]
async fn a_shutdown_closes_a_half_sent_request_at_its_deadline() {
    let api = spawn_with(Config {
        limits: Limits {
            shutdown_timeout: Duration::from_millis(300),
            ..Limits::default()
        },
        ..Config::default()
    })
    .await;
    let mut stream = TcpStream::connect(api.server.addr).await.unwrap();
    stream
        .write_all(
            b"PUT /__admin/config HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n\
              content-length: 100\r\n\r\n{\"delay\":",
        )
        .await
        .unwrap();
    // Wait until the half-sent request is in its handler (this poll is the other one in flight).
    tokio::time::timeout(GUARD, async {
        while api.get_json("/__admin/stats").await["requests_in_flight"] != 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the half-sent request reaches its handler");

    let stopped = tokio::time::timeout(GUARD, api.server.stop()).await;
    assert!(stopped.is_ok(), "shutdown waited past its deadline");
    let after = read_until_closed(&mut stream, "closed at the shutdown deadline").await;
    assert!(after.is_empty(), "no answer to a request never completed");
}

#[tokio::test]
async fn a_body_that_stalls_is_answered_408_and_the_connection_closed() {
    let api = spawn_with(Config {
        limits: Limits {
            body_timeout: Duration::from_secs(1),
            ..Limits::default()
        },
        ..Config::default()
    })
    .await;
    let mut stream = TcpStream::connect(api.server.addr).await.unwrap();
    // The head and 10 of the 100 bytes it declares, then nothing.
    stream
        .write_all(
            b"POST /api/v1/auth/register HTTP/1.1\r\nhost: test\r\n\
              content-type: application/json\r\ncontent-length: 100\r\n\r\n{\"email\":",
        )
        .await
        .unwrap();
    let answer =
        read_until_closed(&mut stream, "a stalled body must not hold its connection").await;
    let (status, body) = status_and_json(&answer);
    assert_eq!(
        status,
        408,
        "a stalled body is answered 408: {}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(
        body["error"]["code"], "body_timeout",
        "the 408 carries the JSON error: {body}"
    );
    // A body that arrives in pieces, each well within the timeout (20 ms apart against 1 s), is
    // read to its end.
    let mut stream = TcpStream::connect(api.server.addr).await.unwrap();
    let body = br#"{"email": "slow@example.test", "password": "abcdefghi"}"#;
    stream
        .write_all(
            format!(
                "POST /api/v1/auth/register HTTP/1.1\r\nhost: test\r\n\
                 content-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    for piece in body.chunks(body.len() / 3 + 1) {
        tokio::time::sleep(Duration::from_millis(20)).await;
        stream.write_all(piece).await.unwrap();
    }
    let (status, text) = read_response(&mut stream).await;
    assert_eq!(
        status, 201,
        "a body whose pieces arrive within the timeout is served: {text}"
    );
}

#[tokio::test]
async fn two_authorization_headers_are_ambiguous_credentials() {
    let api = support::spawn_with_admin_token().await;
    let token = api.user("ann@example.test").await;
    let response = api
        .http
        .get(api.server.api_url("/cities"))
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", "Bearer not-a-token")
        .send()
        .await
        .unwrap();
    support::assert_error(response, StatusCode::BAD_REQUEST, "ambiguous_credentials").await;

    let admin = api
        .http
        .get(api.server.url("/__admin/stats"))
        .header("authorization", format!("Bearer {}", support::ADMIN_TOKEN))
        .header("authorization", "Bearer guess")
        .send()
        .await
        .unwrap();
    support::assert_error(admin, StatusCode::BAD_REQUEST, "ambiguous_credentials").await;
}

#[tokio::test]
async fn an_ipv4_client_of_a_dual_stack_socket_is_loopback_for_admin() {
    let app = mock_server::router(AppState::new(&Config::default()));
    // What the peer of `[::]` looks like for a client on 127.0.0.1.
    let mapped: SocketAddr = "[::ffff:127.0.0.1]:40000".parse().unwrap();
    let response = app
        .layer(MockConnectInfo(mapped))
        .oneshot(Request::get("/__admin/stats").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "::ffff:127.0.0.1 is loopback"
    );
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_413_before_it_is_sent() {
    let api = Api::spawn().await;
    let mut stream = TcpStream::connect(api.server.addr).await.unwrap();
    stream
        .write_all(
            b"POST /api/v1/cities HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n\
              content-length: 10000000000\r\n\r\n{\"name\":\"",
        )
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream, "answered without waiting for the body").await;
    let (status, body) = status_and_json(&answer);
    assert_eq!(
        status, 413,
        "a body over the size limit is answered 413 before it is read: {body}"
    );
    assert_eq!(
        body["error"]["code"], "payload_too_large",
        "the 413 carries the payload_too_large error: {body}"
    );
}

#[tokio::test]
async fn hypers_own_400_414_and_431_carry_the_json_error_body() {
    let api = Api::spawn().await;
    let long_uri = format!("GET /{} HTTP/1.1\r\nhost: test\r\n\r\n", "a".repeat(9000));
    let big_header = format!(
        "GET /json HTTP/1.1\r\nhost: test\r\nx-big: {}\r\n\r\n",
        "a".repeat(70_000)
    );
    let many_headers = format!(
        "GET /json HTTP/1.1\r\nhost: test\r\n{}\r\n",
        (0..120)
            .map(|i| format!("x-h{i}: v\r\n"))
            .collect::<String>()
    );
    for (request, status, code) in [
        ("BLAH\r\n\r\n".to_owned(), 400, "bad_request"),
        (
            "GET /json HTTP/1.1\r\nbad header\r\n\r\n".to_owned(),
            400,
            "bad_request",
        ),
        (long_uri, 414, "uri_too_long"),
        (big_header, 431, "headers_too_large"),
        (many_headers, 431, "headers_too_large"),
    ] {
        let mut stream = TcpStream::connect(api.server.addr).await.unwrap();
        let _ = stream.write_all(request.as_bytes()).await;
        let answer = read_until_closed(&mut stream, code).await;
        let (got, body) = status_and_json(&answer);
        assert_eq!(got, status, "{code}");
        assert_eq!(body["error"]["code"], code, "{body}");
    }
}

#[tokio::test]
async fn a_json_array_is_not_an_object() {
    let api = Api::spawn().await;
    let token = api.user("ann@example.test").await;
    let city = api.create_city_raw(&token, json!(["Lisbon"])).await;
    support::assert_error(city, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let register = api
        .register_raw(json!(["bob@example.test", "abcdefghi"]))
        .await;
    support::assert_error(
        register,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let login = api
        .http
        .post(api.server.api_url("/auth/token"))
        .json(&json!(["ann@example.test", "abcdefghi"]))
        .send()
        .await
        .unwrap();
    support::assert_error(login, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    // A broken array is still a syntax error.
    let broken = api
        .post_raw("/cities", Some(&token), "application/json", "[\"Lisbon\"")
        .await;
    support::assert_error(broken, StatusCode::BAD_REQUEST, "malformed_json").await;
}

#[tokio::test]
async fn a_reset_racing_a_create_leaves_no_city_without_an_owner() {
    // `racy-id` holds each create inside its window after the token check: the reset lands there.
    let api = spawn_with(Config {
        faults: mock_server::faults::FaultConfig {
            enabled: vec!["racy-id:window=1s".parse().unwrap()],
            ..Default::default()
        },
        ..Config::default()
    })
    .await;
    let token = api.user("ann@example.test").await;
    let create = {
        let (http, url, token) = (
            api.http.clone(),
            api.server.api_url("/cities"),
            token.clone(),
        );
        tokio::spawn(async move {
            http.post(url)
                .bearer_auth(token)
                .json(&json!({"name": "Lisbon"}))
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    tokio::time::timeout(GUARD, async {
        while api.get_json("/__admin/stats").await["requests_in_flight"] != 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the create reaches its handler");
    let reset = api
        .http
        .post(api.server.url("/__admin/reset"))
        .send()
        .await
        .unwrap();
    support::expect_status(reset, StatusCode::NO_CONTENT, "POST /__admin/reset").await;
    create.await.unwrap();

    let stats = api.get_json("/__admin/stats").await;
    assert_eq!(
        (stats["users"].as_u64(), stats["cities"].as_u64()),
        (Some(0), Some(0)),
        "the create belongs wholly before the reset: no city is left whose owner is gone: {stats}"
    );
}

#[tokio::test]
async fn past_the_caps_creates_are_409_store_full_and_nothing_is_evicted() {
    let api = spawn_with(Config {
        caps: Caps {
            max_users: 1,
            max_records: 2,
        },
        ..Config::default()
    })
    .await;
    let token = api.user("ann@example.test").await;
    let first = api.create_city(&token, "Lisbon").await;
    api.create_city(&token, "Porto").await;
    let full = api.create_city_raw(&token, json!({"name": "Faro"})).await;
    support::assert_error(full, StatusCode::CONFLICT, "store_full").await;
    let register = api
        .register_raw(json!({"email": "bob@example.test", "password": "abcdefghi"}))
        .await;
    support::assert_error(register, StatusCode::CONFLICT, "store_full").await;

    let stats = api.get_json("/__admin/stats").await;
    assert_eq!(stats["cities"], 2, "{stats}");
    assert_eq!(stats["max_records"], 2, "{stats}");
    assert_eq!(stats["max_users"], 1, "{stats}");
    let listed: Value = api.get(&token, "/cities").await.json().await.unwrap();
    assert_eq!(
        listed["data"].as_array().unwrap().len(),
        2,
        "nothing evicted"
    );

    let id = first["id"].as_str().unwrap();
    let deleted = api
        .http
        .delete(api.server.api_url(&format!("/cities/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    support::expect_status(
        deleted,
        StatusCode::NO_CONTENT,
        "the owner deletes its city",
    )
    .await;
    api.create_city(&token, "Faro").await;
}
