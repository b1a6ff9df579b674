//! Gauges of the serving layer: connections open and requests in flight, counted by `serve` and
//! read by `GET /__admin/stats` (the tests' wait-on-server-state signal).

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

/// Gauges of the serving layer, read by `GET /__admin/stats`.
#[derive(Debug, Clone, Default)]
pub struct Gauges {
    shared: Arc<GaugeCounts>,
}

#[derive(Debug, Default)]
struct GaugeCounts {
    connections: AtomicUsize,
    requests: AtomicUsize,
}

impl Gauges {
    /// Connections open now.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// Requests between the handler's start and the end of their response body.
    pub fn requests_in_flight(&self) -> usize {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Counts a connection until the guard drops.
    pub(crate) fn connection_opened(&self) -> ConnectionGuard {
        self.shared.connections.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard(self.clone())
    }

    /// A request started; the connection's `serve::connection::Activity` calls it, and
    /// [`Gauges::request_finished`] once its body ends (no guard, so no `Arc` clone per request).
    pub(crate) fn request_started(&self) {
        self.shared.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn request_finished(&self) {
        self.shared.requests.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Uncounts its connection when dropped.
#[derive(Debug)]
pub(crate) struct ConnectionGuard(Gauges);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.shared.connections.fetch_sub(1, Ordering::Relaxed);
    }
}
