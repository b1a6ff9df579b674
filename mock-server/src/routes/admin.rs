//! `/__admin`: health, reset, stats and run-time config, behind [`guard`].
//!
//! ```text
//! curl -s localhost:8020/__admin/stats
//! curl -s -XPUT localhost:8020/__admin/config -H 'content-type: application/json' -d '{"delay":"1s"}'
//! ```

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, FromRequestParts, Request, State},
    http::{StatusCode, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use shared::{
    admin::{Health, RuntimeConfig, Stats},
    delay::DelaySpec,
};
use subtle::ConstantTimeEq;

use crate::{auth::bearer_token, error::ApiError, extract::Json, state::AppState};

/// Lets a request through when it carries the admin token (if one is configured) or, without a
/// configured token, when it comes from a loopback address.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    // The extractor (not the raw extension) so that tests' `MockConnectInfo` works too.
    let peer = ConnectInfo::<SocketAddr>::from_request_parts(&mut parts, &state)
        .await
        .ok()
        .map(|info| info.0);
    if let Err(error) = check_admin(&state, &parts, peer) {
        return error.into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}

fn check_admin(state: &AppState, parts: &Parts, peer: Option<SocketAddr>) -> Result<(), ApiError> {
    match &state.admin_token {
        Some(expected) => {
            let given = bearer_token(parts).ok_or(ApiError::MissingToken)?;
            if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
                Ok(())
            } else {
                Err(ApiError::InvalidToken)
            }
        }
        None => match peer {
            Some(peer) if peer.ip().is_loopback() => Ok(()),
            _ => Err(ApiError::Forbidden(
                "The admin API answers loopback clients only; start the server with --admin-token to allow others.",
            )),
        },
    }
}

pub async fn admin_health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
        uptime_s: state.started.elapsed().as_secs(),
    })
}

pub async fn admin_reset(State(state): State<AppState>) -> StatusCode {
    state.store.clear();
    state.metrics.clear();
    StatusCode::NO_CONTENT
}

pub async fn admin_stats(State(state): State<AppState>) -> Json<Stats> {
    let (requests_total, requests) = state.metrics.snapshot();
    Json(Stats {
        users: state.store.user_count(),
        cities: state.store.city_count(),
        requests_total,
        requests,
        faults: Default::default(),
    })
}

pub async fn admin_config_show(State(state): State<AppState>) -> Json<RuntimeConfig> {
    Json(runtime_config(&state))
}

pub async fn admin_config_update(
    State(state): State<AppState>,
    Json(update): Json<RuntimeConfig>,
) -> Result<Json<RuntimeConfig>, ApiError> {
    if let Some(text) = update.delay {
        let spec: DelaySpec = text
            .parse()
            .map_err(|e: shared::delay::DelayError| ApiError::Validation(e.to_string()))?;
        state.delay.set(spec);
        tracing::info!(delay = %spec, "delay changed");
    }
    Ok(Json(runtime_config(&state)))
}

fn runtime_config(state: &AppState) -> RuntimeConfig {
    RuntimeConfig {
        delay: Some(state.delay.spec().to_string()),
    }
}
