//! Generic faults on `/json` and the cities routes (not on auth, so a load test can still log in):
//! - `error-rate`: answer 500 with the JSON error body, before the handler runs (nothing written).
//! - `reset`: the handler runs (a write lands), then the connection is dropped: the body stream
//!   fails, which makes hyper abort the connection without a complete response. The client cannot
//!   tell whether its write happened, as behind a proxy that resets.
//! - `slow-body`: the body is dribbled out over `duration` (a slow upstream or a congested link).
//!
//! Each is decided per request with its `p`; the correct twin is to pass the response through.

use std::{io, time::Duration};

use axum::{
    body::{Body, Bytes},
    response::{IntoResponse, Response},
};
use shared::paths;

use super::{FaultId, Fire, scope::Scope};
use crate::error::ApiError;

/// Number of pieces a `slow-body` body is cut into.
const SLOW_PIECES: usize = 10;

/// Whether a route gets the generic faults.
pub fn applies(route: &str) -> bool {
    route == paths::JSON
        || route
            .strip_prefix(paths::API_V1)
            .is_some_and(|rest| rest.starts_with(paths::CITIES))
}

/// `error-rate`: an injected 500 instead of running the handler.
pub async fn before(scope: &Scope) -> Option<Response> {
    let active = scope.settings.on[FaultId::ErrorRate.index()].as_ref()?;
    if !active.decide() {
        return None;
    }
    active.pause().await;
    scope.fire(Fire::new(
        FaultId::ErrorRate,
        scope.kind(),
        "answered 500 before the handler ran",
    ));
    Some(ApiError::Injected("Injected fault: error-rate.".to_owned()).into_response())
}

/// `reset` and `slow-body`, on the handler's response. Returns the status the client gets, or
/// `None` when the connection is dropped.
pub async fn after(scope: &Scope, response: Response) -> (Response, Option<u16>) {
    let status = response.status().as_u16();
    if let Some(active) = scope.settings.on[FaultId::Reset.index()].as_ref()
        && active.decide()
    {
        active.pause().await;
        scope.fire(Fire::new(
            FaultId::Reset,
            scope.kind(),
            format!("the handler answered {status}; the connection was dropped instead"),
        ));
        return (reset(), None);
    }
    if let Some(active) = scope.settings.on[FaultId::SlowBody.index()].as_ref()
        && active.decide()
    {
        active.pause().await;
        let duration = active.params.duration;
        scope.fire(Fire::new(
            FaultId::SlowBody,
            scope.kind(),
            format!(
                "the body was dribbled out over {}",
                shared::duration::format_duration(duration)
            ),
        ));
        return (slow(response, duration).await, Some(status));
    }
    (response, Some(status))
}

/// A response whose body fails at once: hyper aborts the connection instead of finishing it.
fn reset() -> Response {
    let failing = futures::stream::once(async {
        Err::<Bytes, io::Error>(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "reset fault: dropping the connection",
        ))
    });
    Response::new(Body::from_stream(failing))
}

/// The same response, its body sent in pieces spread over `duration`.
async fn slow(response: Response, duration: Duration) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(error) => {
            return ApiError::Internal(anyhow::anyhow!("slow-body: {error}")).into_response();
        }
    };
    let pieces = SLOW_PIECES.min(bytes.len()).max(1);
    let step = duration / pieces as u32;
    let size = bytes.len().div_ceil(pieces).max(1);
    let chunks: Vec<Bytes> = (0..bytes.len())
        .step_by(size)
        .map(|start| bytes.slice(start..(start + size).min(bytes.len())))
        .collect();
    let stream = futures::stream::unfold(chunks.into_iter(), move |mut chunks| async move {
        let chunk = chunks.next()?;
        tokio::time::sleep(step).await;
        Some((Ok::<Bytes, io::Error>(chunk), chunks))
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_faults_spare_auth_and_admin() {
        assert!(applies("/json"));
        assert!(applies("/api/v1/cities"));
        assert!(applies("/api/v1/cities/{id}"));
        assert!(!applies("/api/v1/auth/token"));
        assert!(!applies("/__admin/stats"));
    }
}
