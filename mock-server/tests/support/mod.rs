//! Helpers shared by the mock-server integration tests: a running server with an HTTP client, and
//! one-liners for the usual register / login / create steps.

#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use mock_server::{Config, testing::TestServer};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

pub mod gauge;
pub mod python;

pub const PASSWORD: &str = "abcdefghi";

/// The admin token of a server from [`spawn_with_admin_token`].
pub const ADMIN_TOKEN: &str = "s3cret";

/// A server on port 0 and a client for it.
pub struct Api {
    pub server: TestServer,
    pub http: reqwest::Client,
}

pub async fn spawn_with(config: Config) -> Api {
    Api {
        server: mock_server::testing::spawn(config).await,
        http: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap(),
    }
}

/// A server whose admin API requires `Authorization: Bearer` [`ADMIN_TOKEN`].
pub async fn spawn_with_admin_token() -> Api {
    spawn_with(Config {
        admin_token: Some(ADMIN_TOKEN.into()),
        ..Config::default()
    })
    .await
}

impl Api {
    pub async fn spawn() -> Self {
        spawn_with(Config::default()).await
    }

    pub async fn register_raw(&self, body: Value) -> Response {
        self.http
            .post(self.server.api_url("/auth/register"))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Registers `email` and returns the new user's id.
    pub async fn register(&self, email: &str) -> String {
        let response = self
            .register_raw(json!({"email": email, "password": PASSWORD}))
            .await;
        let body = expect_json(response, StatusCode::CREATED, &format!("{email} registers")).await;
        body["data"]["id"].as_str().unwrap().to_owned()
    }

    /// `POST /auth/token` with `form` as the OAuth2 form, whatever it holds.
    pub async fn token_raw(&self, form: &[(&str, &str)]) -> Response {
        self.http
            .post(self.server.api_url("/auth/token"))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Logs in with the OAuth2 form and returns the access token.
    pub async fn login(&self, email: &str) -> String {
        let response = self
            .token_raw(&[("username", email), ("password", PASSWORD)])
            .await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{email} logs in with its password"
        );
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Registers and logs in; returns the token.
    pub async fn user(&self, email: &str) -> String {
        self.register(email).await;
        self.login(email).await
    }

    pub async fn user_owned(&self, email: String) -> String {
        self.user(&email).await
    }

    pub async fn create_city_raw(&self, token: &str, body: Value) -> Response {
        self.http
            .post(self.server.api_url("/cities"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Creates a city and returns its `data` object.
    pub async fn create_city(&self, token: &str, name: &str) -> Value {
        let response = self.create_city_raw(token, json!({"name": name})).await;
        let body = expect_json(
            response,
            StatusCode::CREATED,
            &format!("creating city {name}"),
        )
        .await;
        body["data"].clone()
    }

    pub async fn get(&self, token: &str, api_path: &str) -> Response {
        self.http
            .get(self.server.api_url(api_path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }
}

impl Api {
    /// `GET` a path of the server (not under the API prefix), with `Bearer <token>` when given.
    pub async fn get_with(&self, path: &str, token: Option<&str>) -> Response {
        let request = self.http.get(self.server.url(path));
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        request.send().await.unwrap()
    }

    /// `POST` `body` as is, with its `content-type`, to an API path (with `Bearer <token>` when
    /// given): the requests a JSON helper cannot build (malformed, mislabelled, oversized).
    pub async fn post_raw(
        &self,
        api_path: &str,
        token: Option<&str>,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        let request = self.http.post(self.server.api_url(api_path));
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        request
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// `GET` a path of the server (no token) and its JSON body.
    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.http.get(self.server.url(path)).send().await.unwrap();
        response.json().await.unwrap()
    }
}

/// Reads `response`'s body and asserts its status is `expected`; the message names `why` and shows
/// the status and body that came back. Returns the body.
pub async fn expect_status(response: Response, expected: StatusCode, why: &str) -> String {
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, expected, "{why}: got {status} with body {body}");
    body
}

/// [`expect_status`], then parses the body as JSON (panicking with the body if it is not).
pub async fn expect_json(response: Response, expected: StatusCode, why: &str) -> Value {
    let body = expect_status(response, expected, why).await;
    serde_json::from_str(&body)
        .unwrap_or_else(|error| panic!("{why}: body is not JSON ({error}): {body}"))
}

/// Asserts the status and the JSON error body's code, and that the message is a sentence.
pub async fn assert_error(response: Response, status: StatusCode, code: &str) {
    let content_type = response.headers().get("content-type").cloned();
    let body = expect_json(
        response,
        status,
        &format!("an error answer with code {code}"),
    )
    .await;
    assert_eq!(
        content_type.as_ref().map(|value| value.to_str().unwrap()),
        Some("application/json"),
        "an error answer is JSON: {body}"
    );
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        !body["error"]["message"].as_str().unwrap().is_empty(),
        "{body}"
    );
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An HS256 token over `claims` signed with `secret`.
pub fn sign(secret: &[u8], claims: Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

/// A token with `"alg": "none"` and no signature, the classic JWT bypass.
pub fn unsigned(claims: Value) -> String {
    let header = base64url(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = base64url(claims.to_string().as_bytes());
    format!("{header}.{payload}.")
}

/// `token` with one character of its payload changed (signature left as is).
pub fn tamper(token: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let payload = &mut parts[1];
    let last = payload.pop().unwrap();
    payload.push(if last == 'A' { 'B' } else { 'A' });
    parts.join(".")
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}
