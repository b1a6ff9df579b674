//! `pool-starvation` (the comment under the second article): a bounded connection pool (SQLAlchemy
//! `pool_size=5, max_overflow=5`). Each request takes one connection (a session middleware) and,
//! while holding it, acquires a second one (a repository opening its own session), with no
//! acquire timeout. Once `size + overflow` requests each hold one connection and wait for a
//! second, nobody can ever get one: every request hangs, and so does every later one.
//!
//! The fix ([`PoolTwin`]): one connection per request, and an acquire timeout that answers 503
//! instead of hanging. It is what the cities routes use when the fault is off (and another fault
//! adds awaits, so that a connection can be held long enough for the pool to matter).
//!
//! The buggy pool is rebuilt whenever the fault's settings change (and closed on shutdown):
//! requests hung on the old one get 503 and the server does not stay wedged.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use super::{Active, FaultId, Fire, Request};
use crate::error::ApiError;

/// The correct twin's pool: a lock-free count of connections in use.
#[derive(Debug)]
pub struct PoolTwin {
    in_use: AtomicUsize,
    capacity: AtomicUsize,
    timeout_ms: AtomicU64,
    waiting: AtomicUsize,
    freed: Notify,
}

impl Default for PoolTwin {
    fn default() -> Self {
        Self {
            in_use: AtomicUsize::new(0),
            capacity: AtomicUsize::new(10),
            timeout_ms: AtomicU64::new(5000),
            waiting: AtomicUsize::new(0),
            freed: Notify::new(),
        }
    }
}

impl PoolTwin {
    pub fn configure(&self, capacity: usize, timeout: Duration) {
        self.capacity.store(capacity.max(1), Ordering::Relaxed);
        self.timeout_ms.store(
            u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// Takes a connection if one is free. A compare-and-swap, not add-then-undo: undoing a failed
    /// take through `put_back` would wake a waiter for a connection that was never freed, and
    /// waiters waking each other that way spin forever without yielding (seen as a livelock under
    /// 20 concurrent users).
    /// Takes a connection if one is free; a failed attempt changes nothing (an increment undone by
    /// a release would wake a waiter for nothing, and a waiter woken by its own undo spins).
    fn try_take(&self) -> bool {
        let capacity = self.capacity.load(Ordering::Relaxed);
        self.in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |in_use| {
                (in_use < capacity).then_some(in_use + 1)
            })
            .is_ok()
    }

    fn put_back(&self) {
        self.in_use.fetch_sub(1, Ordering::AcqRel);
        if self.waiting.load(Ordering::Acquire) > 0 {
            self.freed.notify_one();
        }
    }

    /// One connection, or 503 after the acquire timeout.
    async fn acquire(&self) -> Result<TwinConnection<'_>, ApiError> {
        if self.try_take() {
            return Ok(TwinConnection(self));
        }
        let timeout = Duration::from_millis(self.timeout_ms.load(Ordering::Relaxed));
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let result = tokio::time::timeout(timeout, async {
            loop {
                let freed = self.freed.notified();
                tokio::pin!(freed);
                freed.as_mut().enable();
                if self.try_take() {
                    return;
                }
                freed.await;
            }
        })
        .await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        match result {
            Ok(()) => Ok(TwinConnection(self)),
            Err(_) => Err(ApiError::Unavailable(format!(
                "No database connection became free within {} ms.",
                timeout.as_millis()
            ))),
        }
    }
}

/// A connection of the correct twin's pool, given back on drop.
#[derive(Debug)]
pub struct TwinConnection<'a>(&'a PoolTwin);

impl Drop for TwinConnection<'_> {
    fn drop(&mut self) {
        self.0.put_back();
    }
}

/// What a request holds while it works: one connection, or (the bug) two.
#[derive(Debug)]
pub enum Connection<'a> {
    /// Every fault off: no handler awaits while it holds its connection, so the twin's pool could
    /// never run dry and is not counted (the request path stays free of shared atomics).
    Uncounted,
    One(TwinConnection<'a>),
    Two(OwnedSemaphorePermit, OwnedSemaphorePermit),
}

/// The `pool-starvation` entry points of a request.
#[derive(Debug)]
pub struct Pool<'a>(pub(super) &'a Request<'a>);

impl<'a> Pool<'a> {
    /// The connection(s) a cities request holds until it has answered.
    pub async fn connection(&self) -> Result<Connection<'a>, ApiError> {
        let request: &'a Request<'a> = self.0;
        if request.scope.is_none() {
            return Ok(Connection::Uncounted);
        }
        match request.firing(FaultId::PoolStarvation) {
            None => Ok(Connection::One(request.faults.shared.pool.acquire().await?)),
            Some(active) => self.two_connections(active).await,
        }
    }

    /// The bug: hold one, wait for a second, no timeout.
    async fn two_connections(&self, active: &Active) -> Result<Connection<'a>, ApiError> {
        let pool: Arc<Semaphore> = active.pool.clone().expect("pool-starvation has a pool");
        let rebuilt = |_| {
            ApiError::Unavailable(
                "The connection pool was rebuilt while this request waited for it.".to_owned(),
            )
        };
        let connections = active.params.size + active.params.overflow;
        let first = match pool.clone().try_acquire_owned() {
            Ok(first) => first,
            Err(_) => {
                self.starved(format!(
                    "waited for one of {connections} connections, all held by requests waiting for a second"
                ));
                pool.clone().acquire_owned().await.map_err(rebuilt)?
            }
        };
        active.pause().await;
        let second = match pool.clone().try_acquire_owned() {
            Ok(second) => second,
            Err(_) => {
                self.starved(format!(
                    "held one of {connections} connections and waited for a second"
                ));
                pool.acquire_owned().await.map_err(rebuilt)?
            }
        };
        Ok(Connection::Two(first, second))
    }

    /// Journals a request that had to wait on the starved pool.
    fn starved(&self, detail: String) {
        if let Some(scope) = &self.0.scope {
            self.0
                .fire(Fire::new(FaultId::PoolStarvation, scope.kind(), detail));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_twin_serves_more_requests_than_connections_in_turn() {
        let pool = Arc::new(PoolTwin::default());
        pool.configure(2, Duration::from_secs(5));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let pool = pool.clone();
                let peak = peak.clone();
                tokio::spawn(async move {
                    let connection = pool.acquire().await.expect("a connection in time");
                    peak.fetch_max(pool.in_use.load(Ordering::Acquire), Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    drop(connection);
                })
            })
            .collect();
        for task in tasks {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("no request is stuck")
                .unwrap();
        }
        assert_eq!(peak.load(Ordering::Relaxed), 2);
        assert_eq!(pool.in_use.load(Ordering::Acquire), 0);
    }

    #[tokio::test]
    async fn the_twin_answers_503_after_its_timeout() {
        let pool = PoolTwin::default();
        pool.configure(1, Duration::from_millis(50));
        let _held = pool.acquire().await.unwrap();
        let error = pool.acquire().await.unwrap_err();
        assert_eq!(error.status(), axum::http::StatusCode::SERVICE_UNAVAILABLE);
    }
}
