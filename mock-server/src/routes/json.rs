//! `GET`/`POST /json`: the first article's Flask endpoint, with the configured delay.
//!
//! ```text
//! curl -s http://127.0.0.1:8020/json   # {"code": 1, "message": "Hello, World!"}
//! ```

use axum::{extract::State, http::header::CONTENT_TYPE, response::IntoResponse};

use crate::state::AppState;

/// The body, byte for byte as the issue states it; static so the hot path allocates nothing.
pub const BODY: &str = r#"{"code": 1, "message": "Hello, World!"}"#;

pub async fn json_show(State(state): State<AppState>) -> impl IntoResponse {
    state.delay.wait().await;
    ([(CONTENT_TYPE, "application/json")], BODY)
}
