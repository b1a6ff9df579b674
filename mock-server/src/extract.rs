//! Extractors whose rejection is an [`ApiError`], so malformed input gets the JSON error body.
//!
//! They wrap axum's own extractors (`via(...)`); handlers use these instead of axum's.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::{HeaderMap, StatusCode, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
};
use serde::de::{DeserializeOwned, IgnoredAny};

use crate::error::ApiError;

/// `axum::Json` with JSON errors, that takes an object only; also a response type.
///
/// Every body the API takes is an object, but serde also reads a struct from a sequence of its
/// fields in order, so `["Lisbon"]` would pass for `{"name": "Lisbon"}`: a well-formed array is
/// refused with 422 before serde sees it.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(ApiError::UnsupportedMediaType(
                "expected `Content-Type: application/json`.".to_owned(),
            ));
        }
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
                    _ => ApiError::BadRequest(rejection.body_text()),
                })?;
        let starts_an_array = bytes
            .iter()
            .find(|byte| !byte.is_ascii_whitespace())
            .is_some_and(|byte| *byte == b'[');
        if starts_an_array && serde_json::from_slice::<IgnoredAny>(&bytes).is_ok() {
            return Err(ApiError::Validation(
                "The body must be a JSON object, not an array.".to_owned(),
            ));
        }
        let axum::Json(value) = axum::Json::<T>::from_bytes(&bytes)?;
        Ok(Self(value))
    }
}

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
                let Json(value) = Json::<T>::from_request(request, state).await?;
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

/// `application/json` or a `+json` type, as axum's `Json` accepts.
fn is_json(headers: &HeaderMap) -> bool {
    content_type(headers).is_some_and(|essence| {
        essence == "application/json"
            || essence
                .strip_prefix("application/")
                .is_some_and(|subtype| subtype.ends_with("+json"))
    })
}

/// The media type of a request without its parameters, lower-cased (`application/json`).
fn content_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or_default().trim();
    Some(essence.to_ascii_lowercase())
}
