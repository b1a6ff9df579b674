//! `GET`/`POST /json`: the first article's Flask endpoint, with the configured delay.
//!
//! ```text
//! curl -s http://127.0.0.1:8020/json   # {"code": 1, "message": "Hello, World!"}
//! ```

use axum::{
    extract::State,
    http::{HeaderValue, header::CONTENT_TYPE},
    response::IntoResponse,
};

use shared::{api::Greeting, error::ErrorBody};

use crate::state::AppState;

/// The body, byte for byte as the issue states it; static so the hot path allocates nothing.
pub const BODY: &str = r#"{"code": 1, "message": "Hello, World!"}"#;

/// The first article's greeting, after the configured delay.
#[utoipa::path(
    get,
    path = "/json",
    tag = "json",
    responses(
        (status = 200, description = "The greeting", body = Greeting,
         example = json!({"code": 1, "message": "Hello, World!"})),
        (status = 500, description = "Only with the `error-rate` fault on", body = ErrorBody),
    )
)]
pub async fn json_show(State(state): State<AppState>) -> impl IntoResponse {
    state.delay.wait().await;
    // A `HeaderValue` from a literal, not a `&str` checked on each response.
    (
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        BODY,
    )
}

/// The same greeting for `POST` (the article's Flask route takes both); the body is ignored.
#[utoipa::path(
    post,
    path = "/json",
    tag = "json",
    responses(
        (status = 200, description = "The greeting", body = Greeting),
        (status = 500, description = "Only with the `error-rate` fault on", body = ErrorBody),
    )
)]
pub async fn json_post(state: State<AppState>) -> impl IntoResponse {
    json_show(state).await
}
