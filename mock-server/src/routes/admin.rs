//! `/__admin`: health, reset, stats, run-time config, the fault switches, the fault journal, the
//! Prometheus metrics and the request journal, behind [`guard`].
//!
//! ```text
//! curl -s localhost:8020/__admin/stats
//! curl -s -XPUT localhost:8020/__admin/config -H 'content-type: application/json' -d '{"delay":"1s"}'
//! curl -s localhost:8020/__admin/faults
//! curl -s -XPUT localhost:8020/__admin/faults -H 'content-type: application/json' \
//!      -d '{"enable": ["shared-identity:window=2ms"], "disable": ["bola"]}'
//! curl -s localhost:8020/__admin/faults/switches
//! curl -s 'localhost:8020/__admin/journal?since=0'
//! curl -s localhost:8020/__admin/metrics
//! curl -s 'localhost:8020/__admin/requests?path=/api/v1/cities&status=201&limit=10'
//! curl -s -XDELETE localhost:8020/__admin/requests
//! ```

pub mod exposition;

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, FromRequestParts, Request, State},
    http::{StatusCode, header::CONTENT_TYPE, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use shared::{
    admin::{
        FaultSwitches, FaultsUpdate, FaultsView, Health, JournalEntry, RequestsView, RuntimeConfig,
        Stats,
    },
    delay::DelaySpec,
    error::ErrorBody,
};
use subtle::ConstantTimeEq;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::{
    auth::bearer_token,
    error::ApiError,
    extract::{Json, Query},
    requests::Filter,
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

/// Liveness and uptime.
#[utoipa::path(
    get,
    path = "/health",
    tag = "admin",
    security((), ("admin_token" = [])),
    responses(
        (status = 200, description = "Up", body = Health),
        (status = 400, description = "Ambiguous credentials (two `Authorization` headers)", body = ErrorBody),
        (status = 401, description = "With `--admin-token`: the token is missing or wrong", body = ErrorBody),
        (status = 403, description = "Without `--admin-token`: the client is not on loopback", body = ErrorBody),
    )
)]
pub async fn admin_health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
        uptime_s: state.started.elapsed().as_secs(),
    })
}

/// Forgets users, cities, counters and journals (the fault switches stay). The store swaps in an
/// empty generation (see `crate::store`): atomic with respect to concurrent requests, and the old
/// maps are freed once the last request using them ends.
#[utoipa::path(
    post,
    path = "/reset",
    tag = "admin",
    security((), ("admin_token" = [])),
    responses(
        (status = 204, description = "Reset"),
        (status = 400, description = "Ambiguous credentials (two `Authorization` headers)", body = ErrorBody),
        (status = 401, description = "With `--admin-token`: the token is missing or wrong", body = ErrorBody),
        (status = 403, description = "Without `--admin-token`: the client is not on loopback", body = ErrorBody),
    )
)]
pub async fn admin_reset(State(state): State<AppState>) -> StatusCode {
    state.store.clear();
    state.metrics.clear();
    state.requests.clear();
    state.faults.reset();
    StatusCode::NO_CONTENT
}

/// Users, cities, requests per route and status, fault counters.
#[utoipa::path(
    get,
    path = "/stats",
    tag = "admin",
    security((), ("admin_token" = [])),
    responses(
        (status = 200, description = "Counters", body = Stats),
        (status = 400, description = "Ambiguous credentials (two `Authorization` headers)", body = ErrorBody),
        (status = 401, description = "With `--admin-token`: the token is missing or wrong", body = ErrorBody),
        (status = 403, description = "Without `--admin-token`: the client is not on loopback", body = ErrorBody),
    )
)]
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

/// The settings that can change at run time.
#[utoipa::path(
    get,
    path = "/config",
    tag = "admin",
    security((), ("admin_token" = [])),
    responses(
        (status = 200, description = "Current settings", body = RuntimeConfig),
        (status = 400, description = "Ambiguous credentials (two `Authorization` headers)", body = ErrorBody),
        (status = 401, description = "With `--admin-token`: the token is missing or wrong", body = ErrorBody),
        (status = 403, description = "Without `--admin-token`: the client is not on loopback", body = ErrorBody),
    )
)]
pub async fn admin_config_show(State(state): State<AppState>) -> Json<RuntimeConfig> {
    Json(runtime_config(&state))
}

/// Changes the `/json` delay.
#[utoipa::path(
    put,
    path = "/config",
    tag = "admin",
    security((), ("admin_token" = [])),
    request_body = RuntimeConfig,
    responses(
        (status = 200, description = "The settings now", body = RuntimeConfig),
        (status = 400, description = "The body is not JSON, or ambiguous credentials (two `Authorization` headers)", body = ErrorBody),
        (status = 401, description = "With `--admin-token`: the token is missing or wrong", body = ErrorBody),
        (status = 403, description = "Without `--admin-token`: the client is not on loopback", body = ErrorBody),
        (status = 413, description = "The body is larger than the limit", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
        (status = 422, description = "A bad delay", body = ErrorBody),
    )
)]
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

/// The fault catalogue: every fault, whether it is on, its parameters.
#[utoipa::path(
    get,
    path = "/faults",
    tag = "admin",
    security((), ("admin_token" = [])),
    responses(
        (status = 200, description = "The catalogue", body = FaultsView),
        (status = 400, description = "Ambiguous credentials (two `Authorization` headers)", body = ErrorBody),
        (status = 401, description = "With `--admin-token`: the token is missing or wrong", body = ErrorBody),
        (status = 403, description = "Without `--admin-token`: the client is not on loopback", body = ErrorBody),
    )
)]
pub async fn admin_faults_show(State(state): State<AppState>) -> Json<FaultsView> {
    Json(state.faults.view())
}

/// Applies a [`FaultsUpdate`]; takes effect for the next request. 422 on an unknown fault or a bad
/// parameter, and then nothing changes.
/// Switches faults on and off, all or nothing.
#[utoipa::path(
    put,
    path = "/faults",
    tag = "admin",
    security((), ("admin_token" = [])),
    request_body = FaultsUpdate,
    responses(
        (status = 200, description = "The catalogue after the change", body = FaultsView),
        (status = 400, description = "The body is not JSON, or ambiguous credentials (two `Authorization` headers)", body = ErrorBody),
        (status = 401, description = "With `--admin-token`: the token is missing or wrong", body = ErrorBody),
        (status = 403, description = "Without `--admin-token`: the client is not on loopback", body = ErrorBody),
        (status = 413, description = "The body is larger than the limit", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
        (status = 422, description = "An unknown fault or a bad parameter (nothing changed)", body = ErrorBody),
    )
)]
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

/// When each fault was switched on or off (`--fault` at start, `PUT /__admin/faults`), the last
/// 256, oldest first; a load generator marks them on its time charts.
#[utoipa::path(
    get,
    path = "/faults/switches",
    tag = "admin",
    security((), ("admin_token" = [])),
    responses(
        (status = 200, description = "The switches, oldest first", body = FaultSwitches),
        (status = 400, description = "Ambiguous credentials (two `Authorization` headers)", body = ErrorBody),
        (status = 401, description = "With `--admin-token`: the token is missing or wrong", body = ErrorBody),
        (status = 403, description = "Without `--admin-token`: the client is not on loopback", body = ErrorBody),
    )
)]
pub async fn admin_faults_switches(State(state): State<AppState>) -> Json<FaultSwitches> {
    Json(state.faults.switches())
}

/// `?since=SEQ`: only entries after that sequence number.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JournalQuery {
    /// Only entries with a larger `seq` [default: 0].
    #[serde(default)]
    #[param(minimum = 0)]
    since: u64,
}

/// The fault journal as JSON lines, oldest first.
/// The fault journal (ground truth), as JSON lines, oldest first.
#[utoipa::path(
    get,
    path = "/journal",
    tag = "admin",
    security((), ("admin_token" = [])),
    params(JournalQuery),
    responses(
        (status = 200, description = "One `JournalEntry` per line", body = JournalEntry, content_type = "application/x-ndjson"),
        (status = 400, description = "Ambiguous credentials (two `Authorization` headers)", body = ErrorBody),
        (status = 401, description = "With `--admin-token`: the token is missing or wrong", body = ErrorBody),
        (status = 403, description = "Without `--admin-token`: the client is not on loopback", body = ErrorBody),
        (status = 422, description = "`since` is not a number", body = ErrorBody),
    )
)]
pub async fn admin_journal(
    State(state): State<AppState>,
    Query(query): Query<JournalQuery>,
) -> Result<Response, ApiError> {
    within_int64("since", Some(query.since))?;
    let mut body = Vec::new();
    for entry in state.faults.journal(query.since) {
        serde_json::to_writer(&mut body, &entry).map_err(|e| ApiError::Internal(e.into()))?;
        body.push(b'\n');
    }
    Ok(([(CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}

/// Prometheus metrics in the OpenMetrics text format (see [`exposition`]).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "admin",
    security((), ("admin_token" = [])),
    responses(
        (status = 200, description = "Requests and latency per route and status, fault fires, cross-user reads and writes, store sizes, journal drops",
         content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8", body = String),
        (status = 400, description = "Ambiguous credentials (two `Authorization` headers)", body = ErrorBody),
        (status = 401, description = "With `--admin-token`: the token is missing or wrong", body = ErrorBody),
        (status = 403, description = "Without `--admin-token`: the client is not on loopback", body = ErrorBody),
    )
)]
pub async fn admin_metrics(State(state): State<AppState>) -> Response {
    let text = exposition::render(&state);
    ([(CONTENT_TYPE, exposition::CONTENT_TYPE)], text).into_response()
}

/// `GET /__admin/requests` filters; all optional.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestsQuery {
    /// Only requests whose bearer token named this user id (a hyphenated UUID; empty: any).
    #[param(
        pattern = "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$"
    )]
    user: Option<String>,
    /// Only requests to this concrete path (`/api/v1/cities/3`) or route template
    /// (`/api/v1/cities/{id}`).
    path: Option<String>,
    /// Only requests answered with this status.
    #[param(minimum = 100, maximum = 599)]
    status: Option<u16>,
    /// Only requests routed at or after this Unix time, in ms.
    #[param(minimum = 0)]
    since: Option<u64>,
    /// Only requests with a larger `seq` (for a poller).
    #[param(minimum = 0)]
    after: Option<u64>,
    /// The newest this many matches [default: 100].
    #[param(minimum = 1)]
    limit: Option<usize>,
}

/// Default number of requests `GET /__admin/requests` answers with.
pub const DEFAULT_REQUESTS_LIMIT: usize = 100;

/// The request journal: the last requests answered, filtered, oldest first.
#[utoipa::path(
    get,
    path = "/requests",
    tag = "admin",
    security((), ("admin_token" = [])),
    params(RequestsQuery),
    responses(
        (status = 200, description = "The matching requests", body = RequestsView),
        (status = 400, description = "Ambiguous credentials (two `Authorization` headers)", body = ErrorBody),
        (status = 401, description = "With `--admin-token`: the token is missing or wrong", body = ErrorBody),
        (status = 403, description = "Without `--admin-token`: the client is not on loopback", body = ErrorBody),
        (status = 422, description = "A bad filter", body = ErrorBody),
    )
)]
pub async fn admin_requests(
    State(state): State<AppState>,
    Query(query): Query<RequestsQuery>,
) -> Result<Json<RequestsView>, ApiError> {
    let user = query
        .user
        .as_deref()
        .filter(|user| !user.is_empty())
        .map(|user| {
            // 36 characters: the hyphenated form only, as the documented pattern says.
            (user.len() == 36)
                .then(|| Uuid::parse_str(user).ok())
                .flatten()
                .ok_or(())
                .map_err(|_| ApiError::Validation(format!("`user` must be a UUID, got `{user}`.")))
        })
        .transpose()?;
    if let Some(status) = query.status
        && !(100..=599).contains(&status)
    {
        return Err(ApiError::Validation(format!(
            "`status` must be between 100 and 599, got {status}."
        )));
    }
    for (name, value) in [("since", query.since), ("after", query.after)] {
        within_int64(name, value)?;
    }
    within_int64("limit", query.limit.map(|limit| limit as u64))?;
    let limit = query.limit.unwrap_or(DEFAULT_REQUESTS_LIMIT);
    if limit == 0 {
        return Err(ApiError::Validation(
            "`limit` must be at least 1.".to_owned(),
        ));
    }
    let filter = Filter {
        user,
        path: query.path.filter(|path| !path.is_empty()),
        status: query.status,
        since_unix_ms: query.since,
        after: query.after,
        limit,
    };
    Ok(Json(state.requests.query(&filter)))
}

/// Forgets the request journal (the fault journal stays).
#[utoipa::path(
    delete,
    path = "/requests",
    tag = "admin",
    security((), ("admin_token" = [])),
    responses(
        (status = 204, description = "Cleared"),
        (status = 400, description = "Ambiguous credentials (two `Authorization` headers)", body = ErrorBody),
        (status = 401, description = "With `--admin-token`: the token is missing or wrong", body = ErrorBody),
        (status = 403, description = "Without `--admin-token`: the client is not on loopback", body = ErrorBody),
    )
)]
pub async fn admin_requests_clear(State(state): State<AppState>) -> StatusCode {
    state.requests.clear();
    StatusCode::NO_CONTENT
}

/// Query numbers are documented as OpenAPI `int64`; a larger one is refused as the schema says.
fn within_int64(name: &str, value: Option<u64>) -> Result<(), ApiError> {
    match value {
        Some(value) if value > i64::MAX as u64 => Err(ApiError::Validation(format!(
            "`{name}` must be at most {}.",
            i64::MAX
        ))),
        _ => Ok(()),
    }
}
