//! The public API, driven over real sockets: every endpoint, every error path, and isolation
//! between users. Each test starts its own server on `127.0.0.1:0`.

mod support;

use std::time::Duration;

use mock_server::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Api, spawn_with};

#[tokio::test]
async fn json_answers_the_greeting_on_get_and_post() {
    let api = Api::spawn().await;
    for response in [
        api.http.get(api.server.url("/json")).send().await.unwrap(),
        api.http
            .post(api.server.url("/json"))
            .body("anything")
            .send()
            .await
            .unwrap(),
    ] {
        let content_type = response.headers().get("content-type").cloned();
        let body = support::expect_json(response, StatusCode::OK, "/json answers 200").await;
        assert_eq!(
            content_type.as_ref().map(|value| value.to_str().unwrap()),
            Some("application/json"),
            "/json is served as JSON: {body}"
        );
        assert_eq!(
            body,
            json!({"code": 1, "message": "Hello, World!"}),
            "/json answers the fixed hello body"
        );
    }
}

#[tokio::test]
async fn delayed_json_requests_overlap_instead_of_queueing() {
    // Each `/json` sleeps its second, then `slow-body:duration=0,barrier=200` holds it after the
    // handler until all 200 have got there (and passes the body through whole). Overlapped, the
    // barrier opens about a second in; queued one after another, the 200th request would reach it
    // 200 s later, far past the 60 s liveness guard.
    let api = spawn_with(Config {
        delay: "1s".parse().unwrap(),
        faults: mock_server::faults::FaultConfig {
            enabled: vec!["slow-body:duration=0,barrier=200".parse().unwrap()],
            ..Default::default()
        },
        ..Config::default()
    })
    .await;
    let requests = (0..200).map(|_| {
        let http = api.http.clone();
        let url = api.server.url("/json");
        async move {
            let response = http.get(url).send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    });
    let answers =
        tokio::time::timeout(Duration::from_secs(60), futures::future::join_all(requests))
            .await
            .expect("200 delayed requests never were in the server together: they queue");
    assert!(
        answers
            .iter()
            .all(|(status, body)| *status == StatusCode::OK && body.contains("Hello, World!")),
        "every delayed request is answered 200 with its whole body"
    );
}

#[tokio::test]
async fn register_returns_the_new_account() {
    let api = Api::spawn().await;
    let response = api
        .register_raw(json!({"email": "ann@example.test", "password": "abcdefghi"}))
        .await;
    let body = support::expect_json(
        response,
        StatusCode::CREATED,
        "register answers 201 Created",
    )
    .await;
    assert_eq!(
        body["data"]["email"], "ann@example.test",
        "the account shows its email: {body}"
    );
    assert!(
        uuid::Uuid::parse_str(body["data"]["id"].as_str().unwrap()).is_ok(),
        "the account id is a UUID: {body}"
    );
    assert!(
        body["data"].get("password").is_none(),
        "the account never shows the password: {body}"
    );
}

#[tokio::test]
async fn registering_a_taken_email_is_409_whatever_its_case() {
    let api = Api::spawn().await;
    api.register("ann@example.test").await;
    let response = api
        .register_raw(json!({"email": "ANN@example.test", "password": "abcdefghi"}))
        .await;
    support::assert_error(response, StatusCode::CONFLICT, "email_taken").await;
}

#[tokio::test]
async fn invalid_email_or_short_password_is_422() {
    let api = Api::spawn().await;
    for body in [
        json!({"email": "not-an-email", "password": "abcdefghi"}),
        json!({"email": "a@b", "password": "abcdefghi"}),
        json!({"email": "ann@example.test", "password": "short"}),
        json!({"email": "ann@example.test"}),
        json!({"email": 7, "password": "abcdefghi"}),
    ] {
        let response = api.register_raw(body.clone()).await;
        support::assert_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
}

#[tokio::test]
async fn malformed_json_is_400_wrong_content_type_415_and_big_body_413() {
    let api = Api::spawn().await;
    let register = "/auth/register";
    let malformed = api
        .post_raw(register, None, "application/json", "{\"email\": ")
        .await;
    support::assert_error(malformed, StatusCode::BAD_REQUEST, "malformed_json").await;

    let plain = api.post_raw(register, None, "text/plain", "{}").await;
    support::assert_error(
        plain,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;

    let huge = format!(
        r#"{{"email": "{}@example.test", "password": "abcdefghi"}}"#,
        "a".repeat(70 * 1024)
    );
    let too_large = api.post_raw(register, None, "application/json", huge).await;
    support::assert_error(
        too_large,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
}

#[tokio::test]
async fn the_body_limit_is_configurable() {
    let api = spawn_with(Config {
        body_limit: 64,
        ..Config::default()
    })
    .await;
    let token = api.user("ann@example.test").await;
    let response = api
        .create_city_raw(&token, json!({"name": "x".repeat(100)}))
        .await;
    support::assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
}

#[tokio::test]
async fn token_accepts_the_oauth2_form_and_json() {
    let api = Api::spawn().await;
    api.register("ann@example.test").await;
    let form = api
        .token_raw(&[
            ("username", "ann@example.test"),
            ("password", support::PASSWORD),
        ])
        .await;
    let body = support::expect_json(form, StatusCode::OK, "login with the OAuth2 form").await;
    assert_eq!(
        body["token_type"], "bearer",
        "the token type is bearer: {body}"
    );
    assert_eq!(
        body["expires_in"], 3600,
        "the token lives the default 3600 s: {body}"
    );
    assert!(
        body["access_token"].as_str().unwrap().split('.').count() == 3,
        "the access token is a three-part JWT: {body}"
    );

    let as_json = api
        .http
        .post(api.server.api_url("/auth/token"))
        .json(&json!({"username": "ann@example.test", "password": support::PASSWORD}))
        .send()
        .await
        .unwrap();
    support::expect_status(as_json, StatusCode::OK, "login with a JSON body").await;
}

#[tokio::test]
async fn the_token_is_an_hs256_jwt_naming_the_user() {
    let api = spawn_with(Config {
        jwt_secret: Some("test-secret".into()),
        token_ttl: Duration::from_secs(120),
        ..Config::default()
    })
    .await;
    let user_id = api.register("ann@example.test").await;
    let token = api.login("ann@example.test").await;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_required_spec_claims(&["exp", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_secret(b"test-secret"),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!(
        claims["sub"], user_id,
        "the token's sub is the user's id: {claims}"
    );
    let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert_eq!(
        lifetime, 120,
        "exp - iat is the configured token_ttl: {claims}"
    );
}

#[tokio::test]
async fn bad_credentials_are_401_and_an_unknown_body_type_415() {
    let api = Api::spawn().await;
    api.register("ann@example.test").await;
    for (username, password) in [
        ("ann@example.test", "wrong-password"),
        ("bob@example.test", support::PASSWORD),
    ] {
        let response = api
            .token_raw(&[("username", username), ("password", password)])
            .await;
        support::assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let missing = api.token_raw(&[("username", "ann@example.test")]).await;
    support::assert_error(
        missing,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let text = api
        .post_raw("/auth/token", None, "text/plain", "username=x")
        .await;
    support::assert_error(
        text,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
}

#[tokio::test]
async fn missing_invalid_tampered_expired_and_unsigned_tokens_are_401() {
    let api = spawn_with(Config {
        jwt_secret: Some("test-secret".into()),
        ..Config::default()
    })
    .await;
    let user_id = api.register("ann@example.test").await;
    let good = api.login("ann@example.test").await;
    let url = api.server.api_url("/cities");

    let missing = api.http.get(&url).send().await.unwrap();
    support::assert_error(missing, StatusCode::UNAUTHORIZED, "missing_token").await;

    let basic = api
        .http
        .get(&url)
        .header("authorization", "Basic YTpi")
        .send()
        .await
        .unwrap();
    support::assert_error(basic, StatusCode::UNAUTHORIZED, "missing_token").await;

    let now = support::unix_now();
    let forged = [
        ("garbage", "not.a.jwt".to_owned()),
        ("tampered", support::tamper(&good)),
        (
            "other secret",
            support::sign(b"other-secret", json!({"sub": user_id, "exp": now + 60})),
        ),
        (
            "alg none",
            support::unsigned(json!({"sub": user_id, "exp": now + 60})),
        ),
        (
            "no exp",
            support::sign(b"test-secret", json!({"sub": user_id})),
        ),
        (
            "sub not a uuid",
            support::sign(b"test-secret", json!({"sub": "root", "exp": now + 60})),
        ),
    ];
    for (what, token) in forged {
        let response = api.http.get(&url).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_token", "{what}");
    }

    let expired = support::sign(b"test-secret", json!({"sub": user_id, "exp": now - 10}));
    let response = api
        .http
        .get(&url)
        .bearer_auth(expired)
        .send()
        .await
        .unwrap();
    support::assert_error(response, StatusCode::UNAUTHORIZED, "token_expired").await;

    let ok = api.http.get(&url).bearer_auth(&good).send().await.unwrap();
    support::expect_status(ok, StatusCode::OK, "a valid token is accepted").await;
}

/// A connection remembers the last token it verified (to skip the signature check of the next
/// request); that must never let another token through, nor an expired or orphaned one.
#[tokio::test]
async fn a_kept_alive_connection_that_sent_a_good_token_still_refuses_bad_ones() {
    let api = spawn_with(Config {
        jwt_secret: Some("test-secret".into()),
        ..Config::default()
    })
    .await;
    let user_id = api.register("ann@example.test").await;
    let good = api.login("ann@example.test").await;
    let url = api.server.api_url("/cities");
    // One pooled connection, used by one request after another.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let get = |token: String| http.get(&url).bearer_auth(token).send();
    let connections_before = api.server.state.gauges.connections();

    assert_eq!(
        get(good.clone()).await.unwrap().status(),
        StatusCode::OK,
        "first use"
    );
    assert_eq!(
        get(good.clone()).await.unwrap().status(),
        StatusCode::OK,
        "again"
    );
    let now = support::unix_now();
    for (what, token) in [
        ("tampered", support::tamper(&good)),
        (
            "other secret",
            support::sign(b"other-secret", json!({"sub": user_id, "exp": now + 60})),
        ),
    ] {
        let response = get(token).await.unwrap();
        support::assert_error(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
        assert_eq!(
            get(good.clone()).await.unwrap().status(),
            StatusCode::OK,
            "after {what}"
        );
    }
    let expired = support::sign(b"test-secret", json!({"sub": user_id, "exp": now - 10}));
    let response = get(expired).await.unwrap();
    support::assert_error(response, StatusCode::UNAUTHORIZED, "token_expired").await;

    let reset = http
        .post(api.server.url("/__admin/reset"))
        .send()
        .await
        .unwrap();
    assert!(reset.status().is_success(), "reset: {}", reset.status());
    let response = get(good).await.unwrap();
    support::assert_error(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
    assert_eq!(
        api.server.state.gauges.connections(),
        connections_before + 1,
        "every request of this client went over one kept-alive connection"
    );
}

#[tokio::test]
async fn a_city_can_be_created_read_listed_renamed_and_deleted() {
    let api = Api::spawn().await;
    let token = api.user("ann@example.test").await;

    let created = api.create_city(&token, "Lisbon").await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(
        uuid::Uuid::parse_str(&id).is_ok(),
        "a city id is a UUID: {created}"
    );
    assert_eq!(
        created["name"], "Lisbon",
        "the created city has its name: {created}"
    );
    assert!(
        time::OffsetDateTime::parse(
            created["created_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339
        )
        .is_ok(),
        "created_at is RFC 3339: {created}"
    );

    let shown = api.get(&token, &format!("/cities/{id}")).await;
    let shown = support::expect_json(shown, StatusCode::OK, "the owner reads its city").await;
    assert_eq!(shown["data"], created, "a read shows the city as created");

    let renamed = api
        .http
        .put(api.server.api_url(&format!("/cities/{id}")))
        .bearer_auth(&token)
        .json(&json!({"name": "Porto"}))
        .send()
        .await
        .unwrap();
    let renamed = support::expect_json(renamed, StatusCode::OK, "the owner renames its city").await;
    assert_eq!(
        renamed["data"]["name"], "Porto",
        "a rename answers the new name: {renamed}"
    );
    assert_eq!(
        renamed["data"]["id"],
        id.as_str(),
        "a rename keeps the id: {renamed}"
    );

    let listed: Value = api.get(&token, "/cities").await.json().await.unwrap();
    assert_eq!(
        listed["data"].as_array().unwrap().len(),
        1,
        "the list holds the one city: {listed}"
    );
    assert_eq!(
        listed["data"][0]["name"], "Porto",
        "the list shows the new name: {listed}"
    );

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
    let gone = api.get(&token, &format!("/cities/{id}")).await;
    support::assert_error(gone, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn listing_pages_with_limit_and_offset_oldest_first() {
    let api = Api::spawn().await;
    let token = api.user("ann@example.test").await;
    for index in 0..5 {
        api.create_city(&token, &format!("city-{index}")).await;
    }
    let page: Value = api
        .get(&token, "/cities?limit=2&offset=1")
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["city-1", "city-2"],
        "limit=2&offset=1 gives the 2nd and 3rd oldest: {page}"
    );
    let past_end: Value = api
        .get(&token, "/cities?offset=10")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        past_end["data"],
        json!([]),
        "an offset past the end is an empty page: {past_end}"
    );
    for bad in [
        "/cities?limit=0",
        "/cities?limit=abc",
        "/cities?limit=100000",
        "/cities?offset=-1",
    ] {
        support::assert_error(
            api.get(&token, bad).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
}

#[tokio::test]
async fn city_names_are_validated() {
    let api = Api::spawn().await;
    let token = api.user("ann@example.test").await;
    for body in [
        json!({"name": ""}),
        json!({"name": "   "}),
        json!({"name": "x".repeat(201)}),
        json!({}),
    ] {
        let response = api.create_city_raw(&token, body).await;
        support::assert_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
}

#[tokio::test]
async fn unknown_and_malformed_city_ids_are_404() {
    let api = Api::spawn().await;
    let token = api.user("ann@example.test").await;
    for path in [
        format!("/cities/{}", uuid::Uuid::new_v4()),
        "/cities/not-a-uuid".to_owned(),
        "/cities/%FF".to_owned(),
    ] {
        support::assert_error(
            api.get(&token, &path).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
}

#[tokio::test]
async fn another_users_city_is_404_to_read_update_and_delete_and_absent_from_lists() {
    let api = Api::spawn().await;
    let users = 40;
    let cities_each = 3;
    // Arrange: many users create cities at the same time.
    let tokens = futures::future::join_all(
        (0..users).map(|index| api.user_owned(format!("user{index}@example.test"))),
    )
    .await;
    let created = futures::future::join_all(tokens.iter().enumerate().map(|(index, token)| {
        let api = &api;
        async move {
            let mut ids = Vec::new();
            for n in 0..cities_each {
                ids.push(
                    api.create_city(token, &format!("u{index}-c{n}")).await["id"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
            }
            ids
        }
    }))
    .await;

    // Act and assert, concurrently: each user lists only its own cities and cannot touch the next
    // user's.
    futures::future::join_all(tokens.iter().enumerate().map(|(index, token)| {
        let api = &api;
        let own = &created[index];
        let foreign = &created[(index + 1) % users];
        async move {
            let listed: Value = api.get(token, "/cities").await.json().await.unwrap();
            let listed: Vec<&str> = listed["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap())
                .collect();
            assert_eq!(
                listed,
                own.iter().map(String::as_str).collect::<Vec<_>>(),
                "user {index} lists exactly its own cities"
            );
            for id in foreign {
                let path = format!("/cities/{id}");
                assert_eq!(
                    api.get(token, &path).await.status(),
                    StatusCode::NOT_FOUND,
                    "user {index} reads another user's city {id}"
                );
                let update = api
                    .http
                    .put(api.server.api_url(&path))
                    .bearer_auth(token)
                    .json(&json!({"name": "stolen"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    update.status(),
                    StatusCode::NOT_FOUND,
                    "user {index} renames another user's city {id}"
                );
                let delete = api
                    .http
                    .delete(api.server.api_url(&path))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    delete.status(),
                    StatusCode::NOT_FOUND,
                    "user {index} deletes another user's city {id}"
                );
            }
        }
    }))
    .await;

    // Nothing of anyone's was changed.
    for (index, token) in tokens.iter().enumerate() {
        for (n, id) in created[index].iter().enumerate() {
            let city: Value = api
                .get(token, &format!("/cities/{id}"))
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(
                city["data"]["name"],
                format!("u{index}-c{n}"),
                "user {index}'s city {id} was changed by someone else"
            );
        }
    }
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_in_json() {
    let api = Api::spawn().await;
    let unknown = api.http.get(api.server.url("/nope")).send().await.unwrap();
    support::assert_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
    let unknown_api = api
        .http
        .get(api.server.api_url("/nope"))
        .send()
        .await
        .unwrap();
    support::assert_error(unknown_api, StatusCode::NOT_FOUND, "not_found").await;
    for (method, path) in [
        (reqwest::Method::DELETE, "/json".to_owned()),
        (reqwest::Method::GET, "/api/v1/auth/register".to_owned()),
        (reqwest::Method::PATCH, "/api/v1/cities/x".to_owned()),
        (reqwest::Method::DELETE, "/__admin/stats".to_owned()),
    ] {
        let response = api
            .http
            .request(method, api.server.url(&path))
            .send()
            .await
            .unwrap();
        assert!(response.headers().contains_key("allow"), "{path}");
        support::assert_error(
            response,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        )
        .await;
    }
}
