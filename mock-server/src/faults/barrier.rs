//! `barrier=K`: the first K requests that reach a fault's racy pause wait there until all K have
//! arrived, then go on together. This turns "two requests might overlap" into "these K requests
//! overlap", so a test reproduces an interleaving by design instead of by luck.
//!
//! One barrier per enabled fault, created with its settings: changing the fault's settings drops
//! it and arms a fresh one. Changing settings or shutting down [`release`](Barrier::release)s the
//! old one, so requests held by a barrier that will never fill are not stuck forever.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::Notify;

#[derive(Debug)]
pub struct Barrier {
    /// How many requests to hold; 0 means no barrier.
    size: usize,
    arrived: AtomicUsize,
    released: AtomicBool,
    notify: Notify,
}

impl Barrier {
    pub fn new(size: usize) -> Self {
        Self {
            size,
            arrived: AtomicUsize::new(0),
            released: AtomicBool::new(size == 0),
            notify: Notify::new(),
        }
    }

    /// Holds the caller until `size` callers have arrived (or the barrier is released). Callers
    /// after the first `size` pass straight through.
    pub async fn wait(&self) {
        if self.released.load(Ordering::Acquire) {
            return;
        }
        let position = self.arrived.fetch_add(1, Ordering::AcqRel);
        if position >= self.size {
            return;
        }
        if position + 1 == self.size {
            self.release();
            return;
        }
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Register before checking the flag, so a release in between is not missed.
            notified.as_mut().enable();
            if self.released.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }

    /// Lets every held caller go, and every later one pass.
    pub fn release(&self) {
        self.released.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{sync::Arc, time::Duration};

    #[tokio::test]
    async fn holds_the_first_k_until_all_arrived() {
        let barrier = Arc::new(Barrier::new(3));
        let first = tokio::spawn({
            let barrier = barrier.clone();
            async move { barrier.wait().await }
        });
        let second = tokio::spawn({
            let barrier = barrier.clone();
            async move { barrier.wait().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !first.is_finished() && !second.is_finished(),
            "a barrier of 3 holds its first two waiters"
        );
        barrier.wait().await;
        first.await.unwrap();
        second.await.unwrap();
        // The fourth passes straight through.
        barrier.wait().await;
    }

    #[tokio::test]
    async fn release_frees_a_barrier_that_never_fills() {
        let barrier = Arc::new(Barrier::new(5));
        let held = tokio::spawn({
            let barrier = barrier.clone();
            async move { barrier.wait().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        barrier.release();
        tokio::time::timeout(Duration::from_secs(5), held)
            .await
            .expect("released")
            .unwrap();
    }

    #[tokio::test]
    async fn zero_means_no_barrier() {
        Barrier::new(0).wait().await;
    }
}
