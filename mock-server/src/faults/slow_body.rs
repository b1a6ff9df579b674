//! `slow-body`: a slow upstream or a congested link. On `/json` and the cities routes the body is
//! dribbled out in pieces over `duration`.
//!
//! What a client sees: the status and headers at once, the whole body only after the duration (a
//! timeout when the duration exceeds the client's).
//!
//! The correct twin is to pass the response through as it is ([`after`] gives it back).

use std::{io, time::Duration};

use axum::{
    body::{Body, Bytes},
    response::{IntoResponse, Response},
};
use shared::duration::format_duration;

use super::{
    fault::{Fault, Registered},
    params::params,
    scope::{Fire, Scope},
};
use crate::error::ApiError;

params! {
    pub struct Params {
        /// time over which the body is sent
        duration: Duration = "2s",
    }
}

/// Number of pieces a body is cut into.
const PIECES: usize = 10;

#[derive(Debug, Default)]
pub struct SlowBody;

impl Fault for SlowBody {
    const NAME: &'static str = "slow-body";
    const SUMMARY: &'static str = "/json and cities responses dribble their body out over a duration";
    type Params = Params;
}

/// The handler's response, its body dribbled out when the fault fires.
pub async fn after(scope: &Scope, response: Response) -> Response {
    let Some(firing) = scope.fires_now::<SlowBody>().await else {
        return response;
    };
    let duration = firing.params.duration;
    scope.fire(Fire::new(
        SlowBody::ID,
        scope.kind(),
        format!("the body was dribbled out over {}", format_duration(duration)),
    ));
    slow(response, duration).await
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
    let pieces = PIECES.min(bytes.len()).max(1);
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
