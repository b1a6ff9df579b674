//! `/api/v1/cities`: each user's own cities (create, show, index, update, delete).
//!
//! Every handler takes [`AuthUser`], so it is scoped to the caller by its signature. A city that
//! belongs to someone else answers 404 exactly like one that does not exist: the API never reveals
//! that an id is taken.
//!
//! ```text
//! curl -s -XPOST localhost:8020/api/v1/cities -H "authorization: Bearer $T" \
//!      -H 'content-type: application/json' -d '{"name":"Lisbon"}'
//! ```

use axum::{extract::State, http::StatusCode};
use shared::api::{City, CityIn, Envelope, Page};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use uuid::Uuid;

use crate::{
    auth::AuthUser,
    error::ApiError,
    extract::{Json, Path, Query},
    state::AppState,
};

/// Longest city name accepted, in characters.
pub const MAX_NAME_LEN: usize = 200;

pub async fn cities_create(
    State(state): State<AppState>,
    user: AuthUser,
    Json(input): Json<CityIn>,
) -> Result<(StatusCode, Json<Envelope<City>>), ApiError> {
    let name = validate_name(&input.name)?;
    let city = City {
        id: Uuid::new_v4().to_string(),
        name: name.to_owned(),
        created_at: now_rfc3339(),
    };
    state.store.insert_city(user.id, city.clone());
    Ok((StatusCode::CREATED, Json(Envelope::new(city))))
}

pub async fn cities_show(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Envelope<City>>, ApiError> {
    let city = state
        .store
        .city_of(user.id, &id)
        .ok_or(ApiError::NotFound("City"))?;
    Ok(Json(Envelope::new(city)))
}

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
    Ok(Json(Envelope::new(state.store.cities_of(user.id, page))))
}

pub async fn cities_update(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(input): Json<CityIn>,
) -> Result<Json<Envelope<City>>, ApiError> {
    let name = validate_name(&input.name)?;
    let city = state
        .store
        .rename_city(user.id, &id, name)
        .ok_or(ApiError::NotFound("City"))?;
    Ok(Json(Envelope::new(city)))
}

pub async fn cities_delete(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state.store.delete_city(user.id, &id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("City"))
    }
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
