//! Requests served per route and status, for `GET /__admin/stats`.
//!
//! The middleware runs after routing, so it sees the route template (`/api/v1/cities/{id}`), not the
//! concrete path. Counters live in a sharded map keyed by a hash of (method, route, status): the
//! request path allocates nothing once a key exists and takes no global lock.

use std::{
    collections::BTreeMap,
    hash::{BuildHasher, BuildHasherDefault, DefaultHasher},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};
use dashmap::DashMap;

/// Counters per (method and route, status).
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    counters: Arc<DashMap<u64, Counter>>,
}

#[derive(Debug)]
struct Counter {
    route: String,
    status: u16,
    count: AtomicU64,
}

/// What the fallback routes count under.
const UNMATCHED: &str = "(unmatched)";

impl Metrics {
    /// Counts one request.
    pub fn record(&self, method: &str, route: &str, status: u16) {
        let key = BuildHasherDefault::<DefaultHasher>::default().hash_one((method, route, status));
        if let Some(counter) = self.counters.get(&key) {
            counter.count.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.counters
            .entry(key)
            .or_insert_with(|| Counter {
                route: format!("{method} {route}"),
                status,
                count: AtomicU64::new(0),
            })
            .count
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Counts per route, then per status, and the total.
    pub fn snapshot(&self) -> (u64, BTreeMap<String, BTreeMap<u16, u64>>) {
        let mut total = 0;
        let mut routes: BTreeMap<String, BTreeMap<u16, u64>> = BTreeMap::new();
        for entry in self.counters.iter() {
            let count = entry.count.load(Ordering::Relaxed);
            total += count;
            *routes
                .entry(entry.route.clone())
                .or_default()
                .entry(entry.status)
                .or_default() += count;
        }
        (total, routes)
    }

    pub fn clear(&self) {
        self.counters.clear();
    }
}

/// Middleware that counts every response by route template and status.
pub async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    let route = route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    metrics.record(method.as_str(), route, response.status().as_u16());
    response
}
