//! The HTTP surface: one module per resource, and [`table`], the one route table that both the
//! router ([`crate::app`]) and the OpenAPI document ([`crate::openapi`]) are built from.
//!
//! Every route is registered with `utoipa_axum::routes!`, which mounts a handler at the path and
//! methods of its `#[utoipa::path]` annotation and adds that operation to the document, so a route
//! cannot exist without its description (the `openapi` integration test also walks the built
//! router to make sure).

pub mod admin;
pub mod auth;
pub mod cities;
pub mod docs;
pub mod json;
pub mod page;

use axum::{
    http::{Method, Uri},
    middleware::from_fn_with_state,
};
use shared::paths;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{error::ApiError, state::AppState};

/// Every route with its description. `state` is only for the admin guard layer.
pub fn table(state: &AppState) -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::new()
        .routes(routes!(auth::auth_register))
        .routes(routes!(auth::auth_token))
        .routes(routes!(cities::cities_create, cities::cities_index))
        .routes(routes!(
            cities::cities_show,
            cities::cities_update,
            cities::cities_delete
        ));
    let admin = OpenApiRouter::new()
        .routes(routes!(admin::admin_health))
        .routes(routes!(admin::admin_reset))
        .routes(routes!(admin::admin_stats))
        .routes(routes!(
            admin::admin_config_show,
            admin::admin_config_update
        ))
        .routes(routes!(
            admin::admin_faults_show,
            admin::admin_faults_update
        ))
        .routes(routes!(admin::admin_faults_switches))
        .routes(routes!(admin::admin_journal))
        .routes(routes!(admin::admin_metrics))
        .routes(routes!(admin::admin_requests, admin::admin_requests_clear))
        .route_layer(from_fn_with_state(state.clone(), admin::guard));
    OpenApiRouter::with_openapi(crate::openapi::ApiDoc::openapi())
        .routes(routes!(json::json_show, json::json_post))
        .routes(routes!(docs::openapi_show))
        .routes(routes!(page::admin_page))
        .nest(paths::API_V1, api)
        .nest(paths::ADMIN, admin)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_gets_the_template_the_router_matches_it_with() {
        let state = AppState::new(&crate::config::Config::default());
        let (_, api) = table(&state).split_for_parts();
        let templates = crate::metrics::Templates::new(api.paths.paths.keys());
        let of = |path| templates.of(path).map(|template| template.to_string());
        assert_eq!(
            of("/json").as_deref(),
            Some("/json"),
            "/json is its own template"
        );
        assert_eq!(
            of("/api/v1/cities").as_deref(),
            Some("/api/v1/cities"),
            "the cities list is its own template"
        );
        assert_eq!(
            of("/api/v1/cities/42").as_deref(),
            Some("/api/v1/cities/{id}"),
            "a city path maps to the {{id}} template"
        );
        assert_eq!(
            of("/__admin/stats").as_deref(),
            Some("/__admin/stats"),
            "an admin path is its own template"
        );
        for unmatched in ["/", "/nope", "/api/v1/cities/1/2", "/json/"] {
            assert_eq!(of(unmatched), None, "{unmatched}");
        }
    }
}
