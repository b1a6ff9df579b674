//! `reset`: a proxy or peer resetting the connection. On `/json` and the cities routes the handler
//! runs (a write lands), then the body stream fails, which makes hyper abort the connection
//! without a complete response.
//!
//! What a client sees: a connection error; it cannot tell whether its write happened.
//!
//! The correct twin is to pass the handler's response through ([`after`] gives it back).

use std::io;

use axum::{
    body::{Body, Bytes},
    response::Response,
};

use super::{
    fault::{Fault, Registered},
    params::NoParams,
    scope::{Fire, Scope},
};

#[derive(Debug, Default)]
pub struct Reset;

impl Fault for Reset {
    const NAME: &'static str = "reset";
    const SUMMARY: &'static str =
        "/json and cities requests run, then the connection is dropped without a complete response";
    type Params = NoParams;
}

/// The handler's response, or (when the fault fires) one that drops the connection.
pub async fn after(scope: &Scope, response: Response) -> Result<Response, Response> {
    if scope.fires_now::<Reset>().await.is_none() {
        return Ok(response);
    }
    let status = response.status().as_u16();
    scope.fire(Fire::new(
        Reset::ID,
        scope.kind(),
        format!("the handler answered {status}; the connection was dropped instead"),
    ));
    Err(dropped())
}

/// A response whose body fails at once: hyper aborts the connection instead of finishing it.
fn dropped() -> Response {
    let failing = futures::stream::once(async {
        Err::<Bytes, io::Error>(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "reset fault: dropping the connection",
        ))
    });
    Response::new(Body::from_stream(failing))
}
