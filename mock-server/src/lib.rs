//! mock-server: the two articles' APIs (`/json` with an injected delay; register, token and per-user
//! cities), a ground-truth admin API, and a catalogue of deliberate race faults.
//!
//! The library holds everything; `main.rs` only parses the CLI and calls [`run`]. Tests build the
//! router with [`app`] (for `oneshot`) or start a real server on port 0 with `testing::spawn`.
//!
//! Layout, bottom to top (a module imports only modules listed before it; `scripts/layers.py`
//! checks it, docs/ARCHITECTURE.md draws it):
//! - [`delay`]: the `/json` delay distribution, swappable at run time.
//! - [`requests`]: the request journal (every request, WireMock-style; not ground truth).
//! - [`limits`]: the store's caps and the serving layer's connection limits, with defaults.
//! - [`password`]: salted password hashes.
//! - [`store`]: users and cities in sharded maps, with the locking rule; knows no fault, HTTP or
//!   config (a fault's mark on a record is an opaque [`store::Tag`]).
//! - [`error`]: `ApiError`, mapping the store's errors among others to statuses.
//! - [`auth`]: JWT issue/verify, the `AuthUser` extractor over [`auth::AuthState`].
//! - [`metrics`]: requests per route and status, route templates, the serving layer's gauges.
//! - [`faults`]: the race-condition fault catalogue, one file per fault named as the user switches
//!   it (bug beside its fix), a registry they are listed in, and the ground-truth journal.
//! - [`extract`]: the extractors that reject with `ApiError`.
//! - [`config`]: CLI, TOML file, validated `Config`.
//! - [`state`]: `AppState` built from the `Config`, and the sub-states handlers take.
//! - [`openapi`]: the base of the OpenAPI 3.1 document (title, tags, security schemes).
//! - [`routes`]: handlers, one module per resource, the route table and the document built from it.
//! - [`app`]: the composition root: router, tracking layer, fault layer.
//! - [`serve`]: the accept loop and each connection: timeouts, connection limit, shutdown
//!   deadline, early refusals and JSON bodies for hyper's own errors.
//! - `testing` (feature `testing`): an in-process server for other crates' tests.

pub mod app;
pub mod auth;
pub mod config;
pub mod delay;
pub mod error;
pub mod extract;
pub mod faults;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod password;
pub mod requests;
pub mod routes;
pub mod serve;
pub mod state;
pub mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

use std::{future::Future, io, net::SocketAddr};

use tokio::net::TcpListener;

pub use app::{App, app, router, service};
pub use config::Config;
pub use faults::layer::FaultService;
pub use state::AppState;

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
