//! The HTTP surface: one module per resource, assembled into the router by [`crate::app`].

pub mod admin;
pub mod auth;
pub mod cities;
pub mod json;

use axum::http::{Method, Uri};

use crate::error::ApiError;

/// Fallback for paths no route matches: a JSON 404.
pub async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::NoRoute {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
}

/// Fallback for a known path with a method it does not serve: a JSON 405.
pub async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}
