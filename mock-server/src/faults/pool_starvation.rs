//! `pool-starvation` (the comment under the second article): a bounded connection pool (SQLAlchemy
//! `pool_size=5, max_overflow=5`). Each request takes one connection (a session middleware) and,
//! while holding it, acquires a second one (a repository opening its own session), with no
//! acquire timeout.
//!
//! What a client sees: once `size + overflow` requests each hold one connection and wait for a
//! second, nobody can ever get one: every cities request hangs, and so does every later one.
//!
//! The fix is the same pool used right ([`acquire_one`]): one connection per request, and an
//! acquire timeout that answers 503 instead of hanging. It serves the cities routes whenever some
//! fault is on (another fault's awaits can hold a connection long enough for the pool to matter);
//! with every fault off no handler awaits while holding one, so nothing is counted.
//!
//! The pool is rebuilt whenever the fault's settings change (and on reset): requests waiting on
//! the old one get 503, and the server does not stay wedged. Shutdown closes it for good.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use arc_swap::ArcSwap;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{
    fault::Fault,
    params::params,
    request::{Firing, Hook},
};
use crate::error::ApiError;

params! {
    pub struct Params {
        /// connections in the pool
        size: usize = "5",
        /// extra connections beyond size
        overflow: usize = "5",
        /// await between the first and the second acquire
        window: Duration = "1ms",
        /// acquire timeout of the correct twin (one connection, 503 on timeout)
        timeout: Duration = "5s",
    }
}

/// The pool: `size + overflow` permits of one semaphore.
#[derive(Debug)]
pub struct PoolStarvation {
    pool: ArcSwap<Semaphore>,
    capacity: AtomicUsize,
}

impl Default for PoolStarvation {
    fn default() -> Self {
        let capacity = capacity(&Params::default());
        Self {
            pool: ArcSwap::from_pointee(Semaphore::new(capacity)),
            capacity: AtomicUsize::new(capacity),
        }
    }
}

impl Fault for PoolStarvation {
    const NAME: &'static str = "pool-starvation";
    const SUMMARY: &'static str = "each cities request holds one pooled connection while it acquires a second, without a timeout: at size + overflow concurrent requests all hang";
    type Params = Params;

    fn on_change(&self, params: &Params, _on: bool) {
        self.rebuild(capacity(params));
    }

    fn reset(&self) {
        self.rebuild(self.capacity.load(Ordering::Relaxed));
    }

    /// Closes the pool for good: every request waiting on it, or coming later, gets 503.
    fn shut_down(&self) {
        self.pool.load().close();
    }
}

fn capacity(params: &Params) -> usize {
    (params.size + params.overflow).max(1)
}

impl PoolStarvation {
    /// A fresh pool of `capacity` connections; requests waiting on the old one get 503.
    fn rebuild(&self, capacity: usize) {
        self.capacity.store(capacity, Ordering::Relaxed);
        let old = self.pool.swap(Arc::new(Semaphore::new(capacity)));
        old.close();
    }
}

/// What a request holds while it works: no connection counted, one, or (the bug) two.
#[derive(Debug)]
pub enum Connection {
    /// Every fault off: the pool could never run dry, so it is not counted (the request path
    /// stays free of shared atomics).
    Uncounted,
    One(OwnedSemaphorePermit),
    Two(OwnedSemaphorePermit, OwnedSemaphorePermit),
}

fn rebuilt(_: tokio::sync::AcquireError) -> ApiError {
    ApiError::Unavailable(
        "The connection pool was rebuilt while this request waited for it.".to_owned(),
    )
}

impl Hook<'_, PoolStarvation> {
    /// The connection(s) a cities request holds until it has answered.
    pub async fn connection(&self) -> Result<Connection, ApiError> {
        let Some(params) = self.params() else {
            return Ok(Connection::Uncounted);
        };
        let pool = self.state().pool.load_full();
        match self.firing() {
            None => acquire_one(pool, params.timeout).await.map(Connection::One),
            Some(firing) => self.acquire_two(pool, firing).await,
        }
    }

    /// The bug: hold one, wait for a second, no timeout.
    async fn acquire_two(
        &self,
        pool: Arc<Semaphore>,
        firing: Firing<'_, PoolStarvation>,
    ) -> Result<Connection, ApiError> {
        let connections = capacity(firing.params);
        let first = match pool.clone().try_acquire_owned() {
            Ok(first) => first,
            Err(_) => {
                self.starved(format!(
                    "waited for one of {connections} connections, all held by requests waiting for a second"
                ));
                pool.clone().acquire_owned().await.map_err(rebuilt)?
            }
        };
        firing.pause(firing.params.window).await;
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
        if let Some(fire) = self.fire(detail) {
            self.record(fire);
        }
    }
}

/// Correct twin: one connection, or 503 after the acquire timeout.
async fn acquire_one(
    pool: Arc<Semaphore>,
    timeout: Duration,
) -> Result<OwnedSemaphorePermit, ApiError> {
    match tokio::time::timeout(timeout, pool.acquire_owned()).await {
        Ok(permit) => permit.map_err(rebuilt),
        Err(_) => Err(ApiError::Unavailable(format!(
            "No database connection became free within {} ms.",
            timeout.as_millis()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_twin_serves_more_requests_than_connections_in_turn() {
        let pool = Arc::new(Semaphore::new(2));
        let (release, released) = tokio::sync::watch::channel(false);
        let held: Vec<_> = (0..2)
            .map(|_| {
                let pool = pool.clone();
                let mut released = released.clone();
                tokio::spawn(async move {
                    let _permit = acquire_one(pool, Duration::from_secs(3600)).await.unwrap();
                    let _ = released.wait_for(|done| *done).await;
                })
            })
            .collect();
        // A third request waits for a connection instead of taking a third one...
        let third = tokio::spawn(acquire_one(pool.clone(), Duration::from_secs(3600)));
        while pool.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        assert!(!third.is_finished(), "a third connection was handed out of a pool of two");
        // ...and gets one as soon as one is given back.
        release.send(true).unwrap();
        for task in held {
            task.await.unwrap();
        }
        assert!(third.await.unwrap().is_ok(), "the waiting request got the freed connection");
    }

    #[tokio::test]
    async fn the_twin_answers_503_after_its_timeout() {
        let pool = Arc::new(Semaphore::new(1));
        let _held = acquire_one(pool.clone(), Duration::from_millis(50)).await.unwrap();
        let error = acquire_one(pool, Duration::from_millis(50)).await.unwrap_err();
        assert_eq!(
            error.status(),
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "a request that got no connection in time is 503, not a hang"
        );
    }

    #[test]
    fn a_rebuilt_pool_sends_its_waiters_away() {
        let fault = PoolStarvation::default();
        let old = fault.pool.load_full();
        fault.on_change(&Params::default(), true);
        assert!(old.is_closed(), "the old pool is closed, so its waiters get 503");
        assert_eq!(fault.pool.load().available_permits(), 10, "size 5 + overflow 5");
    }
}
