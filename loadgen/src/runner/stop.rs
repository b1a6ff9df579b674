//! The stop switch: the test timer, Ctrl-C / SIGTERM, or all users done. The first reason wins.
//!
//! Users read an atomic flag between iterations (no lock, no waker per iteration); the few tasks
//! that must wake up at once (the spawner, the collector) await the watch channel.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// Why the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Every user finished its `--loops`.
    Loops,
    /// `--duration` elapsed.
    Duration,
    /// Ctrl-C or SIGTERM (or the caller's shutdown future).
    Signal,
}

impl StopReason {
    /// The name used in reports: `loops`, `duration`, `signal`.
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Loops => "loops",
            StopReason::Duration => "duration",
            StopReason::Signal => "signal",
        }
    }
}

/// A cheap-to-clone stop switch.
#[derive(Debug, Clone)]
pub struct Stop {
    flag: Arc<AtomicBool>,
    reason: watch::Sender<Option<StopReason>>,
}

impl Default for Stop {
    fn default() -> Self {
        Self::new()
    }
}

impl Stop {
    pub fn new() -> Self {
        Self {
            flag: Arc::new(AtomicBool::new(false)),
            reason: watch::Sender::new(None),
        }
    }

    /// Stops the run for `reason`, unless it was already stopped.
    pub fn stop(&self, reason: StopReason) {
        self.reason.send_if_modified(|current| {
            if current.is_none() {
                *current = Some(reason);
                self.flag.store(true, Ordering::Release);
                true
            } else {
                false
            }
        });
    }

    pub fn is_stopped(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    pub fn reason(&self) -> Option<StopReason> {
        *self.reason.borrow()
    }

    /// Resolves once stopped.
    pub async fn stopped(&self) -> StopReason {
        let mut receiver = self.reason.subscribe();
        let reason = receiver
            .wait_for(Option::is_some)
            .await
            .expect("the sender lives in self");
        reason.expect("waited for Some")
    }

    /// Sleeps for `duration`, or less if the run stops first; true if it slept the whole time.
    pub async fn sleep(&self, duration: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(duration) => !self.is_stopped(),
            _ = self.stopped() => false,
        }
    }

    /// Sleeps until `deadline`, or less if the run stops first; true if it slept the whole time.
    pub async fn sleep_until(&self, deadline: std::time::Instant) -> bool {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline.into()) => !self.is_stopped(),
            _ = self.stopped() => false,
        }
    }
}

/// Which signal stopped a run: its exit code is `128 + signo`, as a shell reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Signal {
    /// Ctrl-C.
    #[serde(rename = "SIGINT")]
    Interrupt,
    /// `kill`, a CI runner cancelling the job, a container stopping.
    #[serde(rename = "SIGTERM")]
    Terminate,
}

impl Signal {
    /// `SIGINT` or `SIGTERM`.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn signal() {
    caught().await;
}

/// Resolves on Ctrl-C or SIGTERM, saying which.
pub async fn caught() -> Signal {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => Signal::Interrupt,
        _ = terminate => Signal::Terminate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_reason_wins() {
        let stop = Stop::new();
        assert!(
            !stop.is_stopped(),
            "the run is not stopped before its deadline"
        );
        stop.stop(StopReason::Duration);
        stop.stop(StopReason::Signal);
        assert!(stop.is_stopped(), "the run is stopped after its deadline");
        assert_eq!(
            stop.stopped().await,
            StopReason::Duration,
            "the stop is by duration"
        );
        assert!(
            !stop.sleep(Duration::from_secs(60)).await,
            "a sleep past the stop returns early with false"
        );
    }
}
