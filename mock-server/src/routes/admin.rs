//! `/__admin`: health, reset, stats, run-time config, the fault switches and the fault journal,
//! behind [`guard`].
//!
//! ```text
//! curl -s localhost:8020/__admin/stats
//! curl -s -XPUT localhost:8020/__admin/config -H 'content-type: application/json' -d '{"delay":"1s"}'
//! curl -s localhost:8020/__admin/faults
//! curl -s -XPUT localhost:8020/__admin/faults -H 'content-type: application/json' \
//!      -d '{"enable": ["shared-identity:window=2ms"], "disable": ["bola"]}'
//! curl -s 'localhost:8020/__admin/journal?since=0'
//! ```

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, FromRequestParts, Request, State},
    http::{StatusCode, header::CONTENT_TYPE, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use shared::{
    admin::{FaultsUpdate, FaultsView, Health, RuntimeConfig, Stats},
    delay::DelaySpec,
};
use subtle::ConstantTimeEq;

use crate::{
    auth::bearer_token,
    error::ApiError,
    extract::{Json, Query},
    state::AppState,
};

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
            let given = bearer_token(parts)?.ok_or(ApiError::MissingToken)?;
            if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
                Ok(())
            } else {
                Err(ApiError::InvalidToken)
            }
        }
        None => match peer {
            // `to_canonical`: bound to `[::]`, an IPv4 client on 127.0.0.1 is `::ffff:127.0.0.1`.
            Some(peer) if peer.ip().to_canonical().is_loopback() => Ok(()),
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

/// Swaps in an empty store generation (see `crate::store`): atomic with respect to concurrent
/// requests, and the old maps are freed once the last request using them ends.
pub async fn admin_reset(State(state): State<AppState>) -> StatusCode {
    state.store.clear();
    state.metrics.clear();
    state.faults.reset();
    StatusCode::NO_CONTENT
}

pub async fn admin_stats(State(state): State<AppState>) -> Json<Stats> {
    let (requests_total, requests) = state.metrics.snapshot();
    Json(Stats {
        users: state.store.user_count(),
        cities: state.store.city_count(),
        max_users: state.store.caps().max_users,
        max_records: state.store.caps().max_records,
        connections: state.gauges.connections(),
        requests_in_flight: state.gauges.requests_in_flight(),
        requests_total,
        requests,
        faults: state.faults.counters(),
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

pub async fn admin_faults_show(State(state): State<AppState>) -> Json<FaultsView> {
    Json(state.faults.view())
}

/// Applies a [`FaultsUpdate`]; takes effect for the next request. 422 on an unknown fault or a bad
/// parameter, and then nothing changes.
pub async fn admin_faults_update(
    State(state): State<AppState>,
    Json(update): Json<FaultsUpdate>,
) -> Result<Json<FaultsView>, ApiError> {
    let view = state
        .faults
        .update(&update)
        .map_err(|e| ApiError::Validation(e.to_string()))?;
    Ok(Json(view))
}

/// `?since=SEQ`: only entries after that sequence number.
#[derive(Debug, Deserialize)]
pub struct JournalQuery {
    #[serde(default)]
    since: u64,
}

/// The fault journal as JSON lines, oldest first.
pub async fn admin_journal(
    State(state): State<AppState>,
    Query(query): Query<JournalQuery>,
) -> Result<Response, ApiError> {
    let mut body = Vec::new();
    for entry in state.faults.journal(query.since) {
        serde_json::to_writer(&mut body, &entry).map_err(|e| ApiError::Internal(e.into()))?;
        body.push(b'\n');
    }
    Ok(([(CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}
