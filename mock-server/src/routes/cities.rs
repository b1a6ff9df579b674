//! `/api/v1/cities`: each user's own cities (create, show, index, update, delete).
//!
//! Every handler takes [`AuthUser`], so it is scoped to the caller by its signature. A city that
//! belongs to someone else answers 404 exactly like one that does not exist: the API never reveals
//! that an id is taken.
//!
//! Each step that a fault of the catalogue can break goes through that fault's hook
//! (`faults.fault::<SharedIdentity>().resolve(..)`, `faults.fault::<RacyId>().create(..)`, ...),
//! written in the fault's own file under `crate::faults`. With the fault off the hook runs the
//! correct twin.
//!
//! ```text
//! curl -s -XPOST localhost:8020/api/v1/cities -H "authorization: Bearer $T" \
//!      -H 'content-type: application/json' -d '{"name":"Lisbon"}'
//! ```

use axum::{extract::State, http::StatusCode};
use shared::{
    api::{City, CityIn, Envelope, Page},
    error::ErrorBody,
};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::{
    auth::AuthUser,
    error::ApiError,
    extract::{Json, Path, Query},
    faults::{
        bola::Bola, delete_resurrect::DeleteResurrect, lost_update::LostUpdate,
        pool_starvation::PoolStarvation, racy_id::RacyId, shared_identity::SharedIdentity,
        stale_read::StaleRead, unscoped_cache::UnscopedCache,
    },
    state::AppState,
};

/// Longest city name accepted, in characters.
pub const MAX_NAME_LEN: usize = 200;

/// Creates a city owned by the caller.
#[utoipa::path(
    post,
    path = "/cities",
    tag = "cities",
    request_body = CityIn,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The new city", body = Envelope<City>),
        (status = 400, description = "Ambiguous credentials (two `Authorization` headers)", body = ErrorBody),
        (status = 401, description = "Missing, invalid or expired bearer token", body = ErrorBody),
        (status = 500, description = "Only with the `error-rate` fault on", body = ErrorBody),
        (status = 503, description = "Only with the `pool-starvation` fault on (its correct twin times out)", body = ErrorBody),
        (status = 413, description = "The body is larger than the limit", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
        (status = 422, description = "The name is missing, empty or too long", body = ErrorBody),
    )
)]
pub async fn cities_create(
    State(state): State<AppState>,
    user: AuthUser,
    Json(input): Json<CityIn>,
) -> Result<(StatusCode, Json<Envelope<City>>), ApiError> {
    let name = validate_name(&input.name)?;
    state.store.room_for_city()?;
    let faults = state.faults.request();
    let _connection = faults.fault::<PoolStarvation>().connection().await?;
    let acting = faults.fault::<SharedIdentity>().resolve(user).await;
    let record = faults
        .fault::<RacyId>()
        .create(acting, name, now_rfc3339())
        .await;
    let id = &record.city.id;
    faults.fault::<SharedIdentity>().wrote_as(acting, id);
    faults.fault::<LostUpdate>().append(acting.id, id).await;
    faults.fault::<StaleRead>().wrote_city(id, None);
    faults.fault::<UnscopedCache>().wrote_to(record.owner);
    Ok((StatusCode::CREATED, Json(Envelope::new(record.city))))
}

/// One of the caller's cities.
#[utoipa::path(
    get,
    path = "/cities/{id}",
    tag = "cities",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The city's id")),
    responses(
        (status = 200, description = "The city", body = Envelope<City>),
        (status = 400, description = "Ambiguous credentials (two `Authorization` headers)", body = ErrorBody),
        (status = 401, description = "Missing, invalid or expired bearer token", body = ErrorBody),
        (status = 500, description = "Only with the `error-rate` fault on", body = ErrorBody),
        (status = 503, description = "Only with the `pool-starvation` fault on (its correct twin times out)", body = ErrorBody),
        (status = 404, description = "No such city of the caller's (another user's city is 404 too)", body = ErrorBody),
    )
)]
pub async fn cities_show(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Envelope<City>>, ApiError> {
    let faults = state.faults.request();
    let _connection = faults.fault::<PoolStarvation>().connection().await?;
    let acting = faults.fault::<SharedIdentity>().resolve(user).await;
    let record = faults
        .fault::<UnscopedCache>()
        .show(acting, async {
            let primary = faults.fault::<Bola>().city(acting, &id).await;
            faults.fault::<StaleRead>().read(acting, &id, primary).await
        })
        .await
        .ok_or(ApiError::NotFound("City"))?;
    faults.served(user.id, [&record]);
    Ok(Json(Envelope::new(record.city)))
}

/// A page of the caller's cities, oldest first.
#[utoipa::path(
    get,
    path = "/cities",
    tag = "cities",
    security(("bearer" = [])),
    params(Page),
    responses(
        (status = 200, description = "The page", body = Envelope<Vec<City>>),
        (status = 400, description = "Ambiguous credentials (two `Authorization` headers)", body = ErrorBody),
        (status = 401, description = "Missing, invalid or expired bearer token", body = ErrorBody),
        (status = 500, description = "Only with the `error-rate` fault on", body = ErrorBody),
        (status = 503, description = "Only with the `pool-starvation` fault on (its correct twin times out)", body = ErrorBody),
        (status = 422, description = "`limit` or `offset` out of range", body = ErrorBody),
    )
)]
pub async fn cities_index(
    State(state): State<AppState>,
    user: AuthUser,
    Query(page): Query<Page>,
) -> Result<Json<Envelope<Vec<City>>>, ApiError> {
    if page.limit == 0 || page.limit > Page::MAX_LIMIT {
        return Err(ApiError::Validation(format!(
            "`limit` must be between 1 and {}.",
            Page::MAX_LIMIT
        )));
    }
    // Query numbers are OpenAPI `int64`: the document states this maximum.
    if page.offset as u64 > i64::MAX as u64 {
        return Err(ApiError::Validation(format!(
            "`offset` must be at most {}.",
            i64::MAX
        )));
    }
    let faults = state.faults.request();
    let _connection = faults.fault::<PoolStarvation>().connection().await?;
    let acting = faults.fault::<SharedIdentity>().resolve(user).await;
    let records = faults
        .fault::<UnscopedCache>()
        .index(acting, async {
            let records = state.store.city_records_of(acting.id, page);
            faults.fault::<StaleRead>().list(records)
        })
        .await;
    faults.served(user.id, &records);
    let cities = records.into_iter().map(|record| record.city).collect();
    Ok(Json(Envelope::new(cities)))
}

/// Renames one of the caller's cities.
#[utoipa::path(
    put,
    path = "/cities/{id}",
    tag = "cities",
    request_body = CityIn,
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The city's id")),
    responses(
        (status = 200, description = "The renamed city", body = Envelope<City>),
        (status = 400, description = "Ambiguous credentials (two `Authorization` headers)", body = ErrorBody),
        (status = 401, description = "Missing, invalid or expired bearer token", body = ErrorBody),
        (status = 500, description = "Only with the `error-rate` fault on", body = ErrorBody),
        (status = 503, description = "Only with the `pool-starvation` fault on (its correct twin times out)", body = ErrorBody),
        (status = 404, description = "No such city of the caller's (another user's city is 404 too)", body = ErrorBody),
        (status = 413, description = "The body is larger than the limit", body = ErrorBody),
        (status = 415, description = "Not `application/json`", body = ErrorBody),
        (status = 422, description = "The name is missing, empty or too long", body = ErrorBody),
    )
)]
pub async fn cities_update(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(input): Json<CityIn>,
) -> Result<Json<Envelope<City>>, ApiError> {
    let name = validate_name(&input.name)?;
    let faults = state.faults.request();
    let _connection = faults.fault::<PoolStarvation>().connection().await?;
    let acting = faults.fault::<SharedIdentity>().resolve(user).await;
    let renamed = match faults
        .fault::<DeleteResurrect>()
        .rename(acting, &id, name)
        .await
    {
        Some(renamed) => renamed,
        None => faults.fault::<Bola>().rename(acting, &id, name).await,
    };
    let (before, after) = renamed.ok_or(ApiError::NotFound("City"))?;
    faults.fault::<SharedIdentity>().wrote_as(acting, &id);
    faults.fault::<UnscopedCache>().wrote_to(before.owner);
    faults.fault::<StaleRead>().wrote_city(&id, Some(before));
    Ok(Json(Envelope::new(after.city)))
}

/// Deletes one of the caller's cities.
#[utoipa::path(
    delete,
    path = "/cities/{id}",
    tag = "cities",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The city's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Ambiguous credentials (two `Authorization` headers)", body = ErrorBody),
        (status = 401, description = "Missing, invalid or expired bearer token", body = ErrorBody),
        (status = 500, description = "Only with the `error-rate` fault on", body = ErrorBody),
        (status = 503, description = "Only with the `pool-starvation` fault on (its correct twin times out)", body = ErrorBody),
        (status = 404, description = "No such city of the caller's (another user's city is 404 too)", body = ErrorBody),
    )
)]
pub async fn cities_delete(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let faults = state.faults.request();
    let _connection = faults.fault::<PoolStarvation>().connection().await?;
    let acting = faults.fault::<SharedIdentity>().resolve(user).await;
    let removed = faults
        .fault::<Bola>()
        .delete(acting, &id)
        .await
        .ok_or(ApiError::NotFound("City"))?;
    faults.fault::<SharedIdentity>().wrote_as(acting, &id);
    faults
        .fault::<LostUpdate>()
        .remove(removed.owner, &id)
        .await;
    faults.fault::<UnscopedCache>().wrote_to(removed.owner);
    faults.fault::<StaleRead>().wrote_city(&id, Some(removed));
    Ok(StatusCode::NO_CONTENT)
}

fn validate_name(name: &str) -> Result<&str, ApiError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::Validation(
            "The city name must not be empty.".to_owned(),
        ));
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(ApiError::Validation(format!(
            "The city name must have at most {MAX_NAME_LEN} characters."
        )));
    }
    Ok(name)
}

fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}
