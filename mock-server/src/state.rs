//! `AppState`: the cheap-to-clone handle every handler gets, and the sub-states it is made of.
//!
//! axum clones the state on every request (the handler service keeps a copy and hands the
//! `State` extractor another), so the handle is one `Arc` around [`Handles`]: a clone is one
//! reference-count increment, not one per sub-state (and the JWT keys, which are plain `Vec`s and
//! sets, are never copied per request).

use std::{ops::Deref, sync::Arc, time::Instant};

use axum::extract::FromRef;

use crate::{
    auth::{AuthState, Tokens},
    config::Config,
    delay::Delay,
    error::ApiError,
    faults::{Faults, anonymous_fallback::AnonymousFallback},
    metrics::{Gauges, Metrics},
    requests::RequestJournal,
    store::Store,
};

/// Everything a request may need, behind one `Arc`; fields are reached through `Deref`
/// (`state.store`).
#[derive(Debug, Clone)]
pub struct AppState(Arc<Handles>);

/// The sub-states of [`AppState`]; each field is itself a handle (`Arc` inside) that a component
/// may clone and keep.
#[derive(Debug)]
pub struct Handles {
    pub store: Store,
    pub tokens: Arc<Tokens>,
    pub delay: Delay,
    pub metrics: Metrics,
    /// The last requests answered (`GET /__admin/requests`), off with `--request-journal 0`.
    pub requests: RequestJournal,
    /// The race-condition fault catalogue: switches, per-request decisions, the journal.
    pub faults: Faults,
    pub admin_token: Option<Arc<str>>,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Open connections and requests in flight, kept by the serving layer.
    pub gauges: Gauges,
    pub started: Instant,
}

impl Deref for AppState {
    type Target = Handles;

    fn deref(&self) -> &Handles {
        &self.0
    }
}

impl AppState {
    pub fn new(config: &Config) -> Self {
        let store = Store::new(config.caps);
        let started = Instant::now();
        Self(Arc::new(Handles {
            faults: Faults::new(&config.faults, store.clone(), started),
            store,
            tokens: Arc::new(Tokens::new(config.jwt_secret.as_deref(), config.token_ttl)),
            delay: Delay::new(config.delay),
            metrics: Metrics::default(),
            requests: RequestJournal::new(config.request_journal, started),
            admin_token: config.admin_token.as_deref().map(Into::into),
            body_limit: config.body_limit,
            gauges: Gauges::default(),
            started,
        }))
    }
}

impl AuthState for AppState {
    fn tokens(&self) -> &Tokens {
        &self.0.tokens
    }

    fn store(&self) -> &Store {
        &self.0.store
    }

    fn authenticated(&self, user: uuid::Uuid) {
        self.faults
            .request()
            .fault::<AnonymousFallback>()
            .authenticated(user);
    }

    fn unauthenticated(&self, error: ApiError) -> Result<uuid::Uuid, ApiError> {
        self.faults
            .request()
            .fault::<AnonymousFallback>()
            .fallback(error)
    }
}

impl FromRef<AppState> for Metrics {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}
