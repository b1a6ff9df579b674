//! `GET /openapi.json`: the OpenAPI 3.1 document of every route ([`crate::openapi`]).
//!
//! ```text
//! curl -s localhost:8020/openapi.json | jq '.paths | keys'
//! ```

use axum::{http::header::CONTENT_TYPE, response::IntoResponse};

/// The document, built once per process.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "docs",
    responses(
        (status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json",
         body = Object),
    )
)]
pub async fn openapi_show() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], crate::openapi::json())
}
