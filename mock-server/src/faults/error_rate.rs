//! `error-rate`: a failing dependency. `/json` and the cities routes answer 500 with the JSON
//! error body `{"error": {"code": "injected_error"}}`, before the handler runs (nothing is
//! written); auth is spared so a load test can still log in.
//!
//! The correct twin is to run the handler ([`before`] answers `None`).

use axum::response::{IntoResponse, Response};

use super::{
    fault::{Fault, Registered},
    params::NoParams,
    scope::{Fire, Scope},
};
use crate::error::ApiError;

#[derive(Debug, Default)]
pub struct ErrorRate;

impl Fault for ErrorRate {
    const NAME: &'static str = "error-rate";
    const SUMMARY: &'static str =
        "/json and cities requests answer 500 with a JSON error (before the handler runs)";
    type Params = NoParams;
}

/// An injected 500 instead of running the handler, when the fault fires.
pub async fn before(scope: &Scope) -> Option<Response> {
    scope.fires_now::<ErrorRate>().await?;
    scope.fire(Fire::new(
        ErrorRate::ID,
        scope.kind(),
        "answered 500 before the handler ran",
    ));
    Some(ApiError::Injected("Injected fault: error-rate.".to_owned()).into_response())
}
