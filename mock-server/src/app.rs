//! The composition root: the router from the route table, inside the tracking layer, inside the
//! fault layer, each layer handed the sub-states it uses from the [`AppState`] (which
//! `AppState::new` builds from the `Config`). Serving it is `serve`'s job; this module only builds.

use axum::Router;
use tower::Layer;

use crate::{
    faults::{self, layer::FaultService},
    metrics, routes,
    state::AppState,
};

/// The routes and their fallbacks, built apart from serving it, from the route table
/// ([`routes::table`]) that the OpenAPI document is built from too; without the tracking layer
/// ([`app`] adds it).
pub fn router(state: AppState) -> Router {
    let (router, _) = routes::table(&state).split_for_parts();
    router
        .fallback(routes::no_route)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .with_state(state)
}

/// The app: the router inside the tracking layer (metrics, request journal, body limit).
pub type App = metrics::Track<Router>;

/// The whole app, built apart from serving it (tests drive it with `oneshot`). The tracking layer
/// goes around the router rather than through `Router::layer`, which boxes each route's service
/// and clones the box per request; it reads the route template from [`metrics::Templates`].
pub fn app(state: AppState) -> App {
    let (_, api) = routes::table(&state).split_for_parts();
    metrics::TrackLayer {
        metrics: state.metrics.clone(),
        requests: state.requests.clone(),
        body_limit: state.body_limit,
        templates: metrics::Templates::new(api.paths.paths.keys()),
        fired: faults::scope::fired_now,
    }
    .layer(router(state))
}

/// The app wrapped in the fault layer: what [`run`] serves. The layer goes around the whole
/// app rather than through `Router::layer`, which would box and clone per request (see
/// `faults::layer`). Without it the faults find no request scope and run their correct
/// twins, so tests that need faults use a real server (`testing::spawn`), not [`app`] alone.
pub fn service(state: AppState) -> FaultService<App> {
    let layer = faults::FaultLayer::new(
        state.faults.clone(),
        state.tokens.clone(),
        state.metrics.clone(),
    );
    layer.layer(app(state))
}
