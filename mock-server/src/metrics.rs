//! Requests served per route and status, for `GET /__admin/stats`.
//!
//! [`TrackLayer`] wraps every route (it is added with `Router::layer`, which runs after routing), so
//! it sees the route template (`/api/v1/cities/{id}`), not the concrete path. It is a plain tower
//! service with an unboxed future: the `from_fn` middleware it replaced boxed a future and a service
//! per request and cost a fifth of `/json`'s throughput. Counters live in a sharded map keyed by an
//! FxHash of (method, route, status): the request path allocates nothing once a key exists and takes
//! no global lock.

use std::{
    collections::BTreeMap,
    future::Future,
    hash::BuildHasherDefault,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
};

use axum::{
    extract::{MatchedPath, Request},
    response::Response,
};
use dashmap::DashMap;
use rustc_hash::FxHasher;
use std::hash::BuildHasher;

type Fx = BuildHasherDefault<FxHasher>;

/// Counters per (method and route, status).
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    counters: Arc<DashMap<u64, Counter, Fx>>,
}

#[derive(Debug)]
struct Counter {
    route: String,
    status: u16,
    count: AtomicU64,
}

/// What requests that matched no route count under.
const UNMATCHED: &str = "(unmatched)";

impl Metrics {
    /// Counts one request.
    pub fn record(&self, method: &str, route: &str, status: u16) {
        let key = Fx::default().hash_one((method, route, status));
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

/// Layer that counts every response by route template and status.
#[derive(Debug, Clone)]
pub struct TrackLayer {
    pub metrics: Metrics,
}

impl<S> tower::Layer<S> for TrackLayer {
    type Service = Track<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Track {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// The service [`TrackLayer`] makes.
#[derive(Debug, Clone)]
pub struct Track<S> {
    inner: S,
    metrics: Metrics,
}

impl<S> tower::Service<Request> for Track<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = TrackFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let method = request.method().clone();
        let route = request.extensions().get::<MatchedPath>().cloned();
        TrackFuture {
            inner: self.inner.call(request),
            metrics: self.metrics.clone(),
            method,
            route,
        }
    }
}

pin_project_lite::pin_project! {
    /// Future of [`Track`]: the inner response, counted when it is ready.
    pub struct TrackFuture<F> {
        #[pin]
        inner: F,
        metrics: Metrics,
        method: axum::http::Method,
        route: Option<MatchedPath>,
    }
}

impl<F, E> Future for TrackFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        if let Ok(response) = &result {
            let route = this.route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
            this.metrics
                .record(this.method.as_str(), route, response.status().as_u16());
        }
        Poll::Ready(result)
    }
}
