//! Extractors whose rejection is an [`ApiError`], so malformed input gets the JSON error body.
//!
//! They wrap axum's own extractors (`via(...)`); handlers use these instead of axum's.

use axum::{
    extract::{FromRequest, FromRequestParts, Request},
    http::{HeaderMap, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// `axum::Json` with JSON errors; also a response type.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Query` with a 422 JSON error on a bad parameter (as FastAPI does).
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// `axum::extract::Path`; an undecodable id is simply not found.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// A body sent either as JSON or as an `x-www-form-urlencoded` form, chosen by `Content-Type`.
///
/// The OAuth2 password flow (FastAPI's `OAuth2PasswordRequestForm`) posts a form; many clients post
/// JSON. Anything else is 415.
#[derive(Debug)]
pub struct JsonOrForm<T>(pub T);

impl<S, T> FromRequest<S> for JsonOrForm<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match content_type(request.headers()).as_deref() {
            Some("application/json") => {
                let axum::Json(value) = axum::Json::<T>::from_request(request, state).await?;
                Ok(Self(value))
            }
            Some("application/x-www-form-urlencoded") => {
                let axum::Form(value) = axum::Form::<T>::from_request(request, state).await?;
                Ok(Self(value))
            }
            other => Err(ApiError::UnsupportedMediaType(format!(
                "expected a form (`application/x-www-form-urlencoded`) or JSON body, got `{}`.",
                other.unwrap_or("none")
            ))),
        }
    }
}

/// The media type of a request without its parameters, lower-cased (`application/json`).
fn content_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or_default().trim();
    Some(essence.to_ascii_lowercase())
}
