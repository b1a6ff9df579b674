//! `AppState`: the cheap-to-clone handle every handler gets, and the sub-states it is made of.

use std::time::Instant;

use axum::extract::FromRef;

use crate::{
    auth::Tokens, config::Config, delay::Delay, faults::Faults, metrics::Metrics,
    requests::RequestJournal, store::Store,
};

/// Everything a request may need; each field is itself a handle (`Arc` inside).
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub tokens: Tokens,
    pub delay: Delay,
    pub metrics: Metrics,
    /// The last requests answered (`GET /__admin/requests`), off with `--request-journal 0`.
    pub requests: RequestJournal,
    /// The race-condition fault catalogue: switches, per-request decisions, the journal.
    pub faults: Faults,
    pub admin_token: Option<std::sync::Arc<str>>,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    pub started: Instant,
}

impl AppState {
    pub fn new(config: &Config) -> Self {
        let store = Store::default();
        let started = Instant::now();
        Self {
            faults: Faults::new(&config.faults, store.clone(), started),
            store,
            tokens: Tokens::new(config.jwt_secret.as_deref(), config.token_ttl),
            delay: Delay::new(config.delay),
            metrics: Metrics::default(),
            requests: RequestJournal::new(config.request_journal, started),
            admin_token: config.admin_token.as_deref().map(Into::into),
            body_limit: config.body_limit,
            started,
        }
    }
}

impl FromRef<AppState> for Metrics {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}
