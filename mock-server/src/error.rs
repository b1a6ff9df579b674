//! `ApiError`: every way a request can fail, each mapped to a status and the shared JSON error body.
//!
//! Handlers return `Result<_, ApiError>`; extractors below reject with `ApiError` too, so malformed
//! input never reaches a handler and never produces axum's plain-text rejections. Internal details
//! are logged, never sent.

use axum::{
    Json,
    extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use shared::error::ErrorBody;

/// A failed request, as the client sees it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("The request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("Missing bearer token: send `Authorization: Bearer <token>`.")]
    MissingToken,
    #[error("More than one `Authorization` header: send exactly one.")]
    AmbiguousCredentials,
    #[error("The bearer token is invalid.")]
    InvalidToken,
    #[error("The bearer token has expired.")]
    ExpiredToken,
    #[error("Incorrect email or password.")]
    BadCredentials,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found.")]
    NotFound(&'static str),
    #[error("No route for {method} {path}.")]
    NoRoute { method: String, path: String },
    #[error("Method {0} is not allowed on this route.")]
    MethodNotAllowed(String),
    #[error("The email {0} is already registered.")]
    EmailTaken(String),
    #[error("The request body is larger than the server's limit.")]
    PayloadTooLarge,
    #[error("The request body stalled: no byte arrived within the server's body timeout.")]
    BodyTimeout,
    #[error("The request target is longer than the server accepts.")]
    UriTooLong,
    #[error("The request head is larger than the server accepts.")]
    HeadersTooLarge,
    #[error("The store is full: {0}; reset it (`POST /__admin/reset`) or raise the cap.")]
    StoreFull(#[from] crate::store::StoreFull),
    #[error("Unsupported content type: {0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Injected(String),
    #[error("Internal server error.")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MalformedJson(_) | Self::BadRequest(_) | Self::AmbiguousCredentials => {
                StatusCode::BAD_REQUEST
            }
            Self::MissingToken | Self::InvalidToken | Self::ExpiredToken | Self::BadCredentials => {
                StatusCode::UNAUTHORIZED
            }
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) | Self::NoRoute { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::EmailTaken(_) | Self::StoreFull(_) => StatusCode::CONFLICT,
            Self::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UriTooLong => StatusCode::URI_TOO_LONG,
            Self::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Injected(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable snake_case code of the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedJson(_) => "malformed_json",
            Self::BadRequest(_) => "bad_request",
            Self::MissingToken => "missing_token",
            Self::AmbiguousCredentials => "ambiguous_credentials",
            Self::InvalidToken => "invalid_token",
            Self::ExpiredToken => "token_expired",
            Self::BadCredentials => "invalid_credentials",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) | Self::NoRoute { .. } => "not_found",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::EmailTaken(_) => "email_taken",
            Self::BodyTimeout => "body_timeout",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UriTooLong => "uri_too_long",
            Self::HeadersTooLarge => "headers_too_large",
            Self::StoreFull(_) => "store_full",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Validation(_) => "validation_failed",
            Self::Unavailable(_) => "service_unavailable",
            Self::Injected(_) => "injected_error",
            Self::Internal(_) => "internal_error",
        }
    }

    /// Maps a rejected body (JSON or form) by the status axum chose for it.
    fn from_body_rejection(status: StatusCode, detail: String) -> Self {
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType(detail),
            StatusCode::UNPROCESSABLE_ENTITY => Self::Validation(detail),
            StatusCode::BAD_REQUEST => Self::MalformedJson(detail),
            _ => Self::BadRequest(detail),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(source) = &self {
            tracing::error!(error = %format!("{source:#}"), "internal error");
        }
        let body = ErrorBody::new(self.code(), self.to_string());
        (self.status(), Json(body)).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let detail = match &rejection {
            JsonRejection::MissingJsonContentType(_) => {
                "expected `Content-Type: application/json`.".to_owned()
            }
            other => other.body_text(),
        };
        Self::from_body_rejection(rejection.status(), detail)
    }
}

impl From<FormRejection> for ApiError {
    fn from(rejection: FormRejection) -> Self {
        let status = rejection.status();
        let detail = rejection.body_text();
        match status {
            StatusCode::BAD_REQUEST => Self::Validation(detail),
            _ => Self::from_body_rejection(status, detail),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::Validation(rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        Self::NotFound("Resource")
    }
}
