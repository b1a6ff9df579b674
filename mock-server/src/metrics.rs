//! Requests served per route and status with their latency, for `GET /__admin/stats` and the
//! Prometheus exposition at `GET /__admin/metrics` (`routes::admin::exposition`).
//!
//! [`TrackLayer`] wraps the whole router (not each route: `Router::layer` boxes a route's service
//! and clones the box per request) and counts by route template (`/api/v1/cities/{id}`), not the
//! concrete path, matching the path against the route table's templates the way the router does
//! ([`Templates`]). It is a plain tower service with an unboxed future: the `from_fn` middleware
//! it replaced boxed a future and a service per request and cost a fifth of `/json`'s
//! throughput. Counters live in groups per (method, route) ([`group`]), in a sharded map keyed by
//! an FxHash of the pair, with a lock-free slot per status: the request path allocates nothing once
//! a status has its slot and takes no global lock, and a connection keeps the group of its last
//! parameterless path so that a repeated `/json` does not look it up again. Each counter carries
//! its latency histogram ([`Latency`]): fixed buckets of plain atomics, so observing a request is
//! three relaxed `fetch_add`s.

pub mod gauges;
pub mod group;
pub mod templates;

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
    time::{Duration, Instant},
};

use axum::{
    extract::{DefaultBodyLimit, Request},
    http::header::AUTHORIZATION,
    response::Response,
};
use dashmap::DashMap;
use rustc_hash::FxHasher;
use std::hash::BuildHasher;

use crate::requests::{Entry, RequestJournal, UserSlot};
pub use gauges::Gauges;
use group::Group;
pub use templates::Templates;

type Fx = BuildHasherDefault<FxHasher>;

/// Counters per (method and route, status), grouped by (method, route) ([`Group`]).
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    groups: Arc<DashMap<u64, Arc<Group>, Fx>>,
}

/// Upper bounds of the latency buckets, in microseconds (0.5 ms to 10 s; `+Inf` on top).
pub const LATENCY_BOUNDS_US: [u64; 14] = [
    500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    2_500_000, 5_000_000, 10_000_000,
];

/// A latency histogram of atomics: per-bucket counts (not cumulative; the last is `+Inf`), the
/// number of observations and their sum.
#[derive(Debug, Default)]
pub struct Latency {
    buckets: [AtomicU64; LATENCY_BOUNDS_US.len() + 1],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Latency {
    pub fn observe(&self, elapsed: Duration) {
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let bucket = LATENCY_BOUNDS_US.partition_point(|bound| *bound < us);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    /// `(sum in seconds, count, [(upper bound in seconds, count in that bucket)])`, the last bound
    /// being `f64::MAX` (`+Inf`).
    pub fn snapshot(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let buckets = self
            .buckets
            .iter()
            .enumerate()
            .map(|(i, count)| {
                let bound = LATENCY_BOUNDS_US
                    .get(i)
                    .map_or(f64::MAX, |us| *us as f64 / 1e6);
                (bound, count.load(Ordering::Relaxed))
            })
            .collect();
        (
            self.sum_us.load(Ordering::Relaxed) as f64 / 1e6,
            self.count.load(Ordering::Relaxed),
            buckets,
        )
    }
}

/// One counter as the exposition reads it.
#[derive(Debug)]
pub struct Series {
    pub method: String,
    pub route: String,
    pub status: u16,
    pub count: u64,
    /// See [`Latency::snapshot`].
    pub latency: (f64, u64, Vec<(f64, u64)>),
}

/// What requests that matched no route count under.
const UNMATCHED: &str = "(unmatched)";

impl Metrics {
    /// Counts one request whose latency is unknown (an answer made outside the router).
    pub fn record(&self, method: &str, route: &str, status: u16) {
        self.with_group(method, route, |group| group.observe(status, None));
    }

    /// Counts one request and its latency.
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.with_group(method, route, |group| group.observe(status, Some(elapsed)));
    }

    /// The counters of (`method`, `route`), made empty if there are none yet (an empty group
    /// shows in no series).
    pub fn group(&self, method: &str, route: &str) -> Arc<Group> {
        self.with_group(method, route, Arc::clone)
    }

    fn with_group<R>(&self, method: &str, route: &str, f: impl FnOnce(&Arc<Group>) -> R) -> R {
        let key = Fx::default().hash_one((method, route));
        if let Some(group) = self.groups.get(&key) {
            return f(&group);
        }
        let group = self
            .groups
            .entry(key)
            .or_insert_with(|| Arc::new(Group::new(method, route)));
        f(&group)
    }

    /// Every counter with its histogram, for the exposition.
    pub fn series(&self) -> Vec<Series> {
        let mut series = Vec::new();
        for group in self.groups.iter() {
            group.each(|one| series.push(one));
        }
        series
            .sort_by(|a, b| (&a.route, &a.method, a.status).cmp(&(&b.route, &b.method, b.status)));
        series
    }

    /// Counts per route, then per status, and the total.
    pub fn snapshot(&self) -> (u64, BTreeMap<String, BTreeMap<u16, u64>>) {
        let mut total = 0;
        let mut routes: BTreeMap<String, BTreeMap<u16, u64>> = BTreeMap::new();
        for group in self.groups.iter() {
            group.counts(|status, count| {
                total += count;
                *routes
                    .entry(group.label())
                    .or_default()
                    .entry(status)
                    .or_default() += count;
            });
        }
        (total, routes)
    }

    pub fn clear(&self) {
        // Each group is retired under its shard's write lock: a connection that kept it and
        // still sees it live counts before the clear, as it would have in the map.
        self.groups.retain(|_, group| {
            group.retire();
            false
        });
    }
}

/// Layer that counts every response by route template and status, keeps it in the request
/// journal (when that is on), and sets the body limit the extractors read.
///
/// The body limit (`DefaultBodyLimit`) is set by this layer too, around the router, rather than
/// with `Router::layer`: axum boxes every route layer and clones that box on each request.
#[derive(Debug, Clone)]
pub struct TrackLayer {
    pub metrics: Metrics,
    pub requests: RequestJournal,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// The route template of each path, as the router matches it.
    pub templates: Templates,
    /// Names the faults that fired on the request being answered, for its journal entry. The
    /// composition root passes the fault catalogue's (`faults::scope::fired_now`), so this layer
    /// sits below the catalogue and imports nothing of it.
    pub fired: FiredFaults,
}

/// What [`TrackLayer::fired`] is: called once per journaled request, after the handler answered,
/// inside the request's task (where the catalogue keeps its per-request scope).
pub type FiredFaults = fn() -> Vec<&'static str>;

impl<S: Clone> tower::Layer<S> for TrackLayer {
    type Service = Track<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Track {
            limited: tower::Layer::layer(&DefaultBodyLimit::max(self.body_limit), inner.clone()),
            inner,
            metrics: self.metrics.clone(),
            requests: self.requests.clone(),
            templates: self.templates.clone(),
            fired: self.fired,
            hint: None,
        }
    }
}

/// The route and counters of a connection's last request to a path without parameters (its
/// own template, `/json`): the next request with the same method and path has them too.
#[derive(Debug, Clone)]
struct Hint {
    method: axum::http::Method,
    route: Arc<str>,
    group: Arc<Group>,
}

/// The service [`TrackLayer`] makes.
#[derive(Debug, Clone)]
pub struct Track<S> {
    /// The router as is, for a request without a body: the body limit is an extension, one more
    /// map insert on every request, and there is nothing for it to limit.
    inner: S,
    /// The router behind the body limit, for a request with a body.
    limited: <DefaultBodyLimit as tower::Layer<S>>::Service,
    metrics: Metrics,
    requests: RequestJournal,
    templates: Templates,
    fired: FiredFaults,
    /// Each connection has its own clone of the service, and so its own hint.
    hint: Option<Hint>,
}

impl<S> tower::Service<Request> for Track<S>
where
    S: tower::Service<Request, Response = Response>,
    <DefaultBodyLimit as tower::Layer<S>>::Service:
        tower::Service<Request, Response = Response, Error = S::Error, Future = S::Future>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = TrackFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        std::task::ready!(self.inner.poll_ready(cx))?;
        self.limited.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let method = request.method().clone();
        let (route, group) = self.route(&method, request.uri().path());
        // The admin page's own calls stay out of the journal (checked on admin paths only).
        let journal = (self.requests.enabled()
            && !(request.uri().path().starts_with("/__admin")
                && request
                    .headers()
                    .contains_key(shared::admin::ADMIN_PAGE_HEADER)))
        .then(|| {
            let user = request.headers().contains_key(AUTHORIZATION).then(|| {
                let slot = UserSlot::default();
                request.extensions_mut().insert(slot.clone());
                slot
            });
            let path = request.uri().path();
            Pending {
                requests: self.requests.clone(),
                // The route template is kept anyway: only a path that differs is copied.
                path: (route.as_deref() != Some(path)).then(|| path.to_owned()),
                user,
                fired: self.fired,
            }
        });
        // A body that has already ended (no `content-length`, no chunks: a plain `GET`) cannot
        // exceed any limit.
        let inner = if hyper::body::Body::is_end_stream(request.body()) {
            self.inner.call(request)
        } else {
            self.limited.call(request)
        };
        TrackFuture {
            inner,
            counter: match group {
                Some(group) => CountInto::Group(group),
                None => CountInto::Lookup(self.metrics.clone()),
            },
            method,
            route,
            started: Instant::now(),
            journal,
        }
    }
}

pin_project_lite::pin_project! {
    /// Future of [`Track`]: the inner response, counted when it is ready.
    pub struct TrackFuture<F> {
        #[pin]
        inner: F,
        counter: CountInto,
        method: axum::http::Method,
        route: Option<Arc<str>>,
        started: Instant,
        journal: Option<Pending>,
    }
}

/// Where a request is counted: its route's counters when `call` found them, else the metrics,
/// which look them up by method, route and status (one `Arc` either way).
#[derive(Debug)]
enum CountInto {
    Group(Arc<Group>),
    Lookup(Metrics),
}

impl<S> Track<S> {
    /// The route template of `path` and, for a path without parameters, its counters; from the
    /// hint when the last request had the same method and path.
    fn route(
        &mut self,
        method: &axum::http::Method,
        path: &str,
    ) -> (Option<Arc<str>>, Option<Arc<Group>>) {
        if let Some(hint) = &self.hint
            && hint.method == *method
            && *hint.route == *path
            && hint.group.is_live()
        {
            return (Some(hint.route.clone()), Some(hint.group.clone()));
        }
        let route = self.templates.of(path).cloned();
        let Some(fixed) = route.as_ref().filter(|route| ***route == *path) else {
            return (route, None);
        };
        let group = self.metrics.group(method.as_str(), fixed);
        self.hint = Some(Hint {
            method: method.clone(),
            route: fixed.clone(),
            group: group.clone(),
        });
        (route, Some(group))
    }
}

/// What the request journal needs from [`Track::call`] to keep a request once it is answered.
#[derive(Debug)]
pub struct Pending {
    requests: RequestJournal,
    path: Option<String>,
    user: Option<UserSlot>,
    fired: FiredFaults,
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
            let status = response.status().as_u16();
            let route = this.route.as_deref().unwrap_or(UNMATCHED);
            let elapsed = this.started.elapsed();
            match &*this.counter {
                CountInto::Group(group) => group.observe(status, Some(elapsed)),
                CountInto::Lookup(metrics) => {
                    metrics.observe(this.method.as_str(), route, status, elapsed);
                }
            }
            if let Some(pending) = this.journal.take() {
                let mut entry = Entry::new(
                    this.method.clone(),
                    pending.path,
                    this.route.take(),
                    status,
                    *this.started,
                    elapsed,
                );
                entry.user = pending.user.and_then(|slot| slot.0.get().copied());
                // Polled inside the fault layer's task-local, so the request's scope is visible.
                entry.faults = (pending.fired)();
                pending.requests.record(entry);
            }
        }
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_land_in_the_first_bucket_whose_bound_they_do_not_exceed() {
        let latency = Latency::default();
        for us in [0, 500, 501, 10_000_000, 10_000_001] {
            latency.observe(Duration::from_micros(us));
        }
        let (sum, count, buckets) = latency.snapshot();
        assert_eq!(count, 5, "every observation is counted");
        assert!((sum - 20.001002).abs() < 1e-9, "{sum}");
        assert_eq!(buckets[0], (0.0005, 2), "0 and 500 us are <= 0.5 ms");
        assert_eq!(buckets[1], (0.001, 1), "501 us is <= 1 ms");
        assert_eq!(buckets[13], (10.0, 1), "10 s exactly is <= 10 s");
        assert_eq!(buckets[14], (f64::MAX, 1), "above 10 s is +Inf");
        assert_eq!(
            buckets.iter().map(|(_, n)| n).sum::<u64>(),
            count,
            "the buckets hold every observation once: {buckets:?}"
        );
    }
}
