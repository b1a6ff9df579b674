//! mock-server: the two articles' APIs (`/json` with an injected delay; register, token and per-user
//! cities), a ground-truth admin API, and a catalogue of deliberate race faults.
//!
//! The library holds everything; `main.rs` only parses the CLI and calls [`run`]. Tests build the
//! router with [`app`] (for `oneshot`) or start a real server on port 0 with `testing::spawn`.
//!
//! Layout:
//! - [`config`]: CLI, TOML file, validated `Config`.
//! - [`state`]: `AppState`, the handle every handler gets.
//! - [`store`]: users and cities in sharded maps, with the locking rule.
//! - [`auth`]: password hashing, JWT issue/verify, the `AuthUser` extractor.
//! - [`delay`]: the `/json` delay distribution, swappable at run time.
//! - [`metrics`]: requests per route and status.
//! - [`serve`]: the accept loop and each connection: timeouts, connection limit, shutdown
//!   deadline, early refusals and JSON bodies for hyper's own errors.
//! - [`openapi`]: the OpenAPI 3.1 document, generated from the route table.
//! - [`requests`]: the request journal (every request, WireMock-style; not ground truth).
//! - [`faults`]: the race-condition fault catalogue, one file per fault named as the user switches
//!   it (bug beside its fix), a registry they are listed in, and the ground-truth journal.
//! - [`error`], [`extract`]: `ApiError` and the extractors that reject with it.
//! - [`routes`]: handlers, one module per resource, and the route table.
//! - `testing` (feature `testing`): an in-process server for other crates' tests.

pub mod auth;
pub mod config;
pub mod delay;
pub mod error;
pub mod extract;
pub mod faults;
pub mod metrics;
pub mod openapi;
pub mod requests;
pub mod routes;
pub mod serve;
pub mod state;
pub mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

use std::{future::Future, io, net::SocketAddr};

use axum::Router;
use tokio::net::TcpListener;
use tower::Layer;

pub use config::Config;
pub use faults::layer::FaultService;
pub use state::AppState;

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
/// and clones the box per request; it reads the route template from [`routes::Templates`].
pub fn app(state: AppState) -> App {
    let (_, api) = routes::table(&state).split_for_parts();
    metrics::TrackLayer {
        metrics: state.metrics.clone(),
        requests: state.requests.clone(),
        body_limit: state.body_limit,
        templates: routes::Templates::new(api.paths.paths.keys()),
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

/// Binds the listening socket (port 0 picks a free port).
pub async fn bind(address: SocketAddr) -> io::Result<TcpListener> {
    TcpListener::bind(address).await
}

/// Serves `state` on `listener` under `limits` until `shutdown` resolves, then lets in-flight
/// requests finish for at most `limits.shutdown_timeout`.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    limits: serve::Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve::serve(listener, state, limits, shutdown).await
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
