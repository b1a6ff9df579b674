//! The stop switch: the test timer, Ctrl-C / SIGTERM, or all users done. The first reason wins.
//!
//! Users read an atomic flag between iterations (no lock, no waker per iteration); the few tasks
//! that must wake up at once (the spawner, the collector) await the watch channel.
//!
//! The binary catches SIGINT and SIGTERM before anything else ([`install`], the first line of
//! `main`): a signal that comes while the CLI is parsed, the runtime built or the preflight runs
//! is kept and stops the run at its start, so the reports are still written (empty) and the exit
//! is still 130 / 143. Left to tokio, the handlers were installed only when the users started,
//! and a SIGINT within ~5 ms of the start killed the process with no report. A command that writes
//! no report gives the signals back ([`release`]): then a signal ends it at once, as before.

use std::{
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tokio::sync::watch;

pub use crate::summary::{Signal, StopReason};

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

/// The caller's shutdown future (the binary's signals) as a switch the set-up and the runner can
/// both wait on; dropping it stops the relay.
#[derive(Debug)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
    relay: tokio::task::JoinHandle<()>,
}

impl Shutdown {
    /// Starts relaying `shutdown` (on the current runtime).
    pub fn relay(shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> Self {
        let (sender, receiver) = watch::channel(false);
        let relay = tokio::spawn(async move {
            shutdown.await;
            let _ = sender.send(true);
        });
        Self { receiver, relay }
    }

    /// Resolves once the shutdown has come (at once if it already has).
    pub fn requested(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut receiver = self.receiver.clone();
        async move {
            if receiver.wait_for(|requested| *requested).await.is_err() {
                // The relay is gone without a shutdown: none will come.
                std::future::pending::<()>().await;
            }
        }
    }
}

impl Drop for Shutdown {
    fn drop(&mut self) {
        self.relay.abort();
    }
}

impl Signal {
    /// The exit code a shell reports for a process this signal ended.
    fn exit_code(self) -> i32 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }
}

/// The first signal the process caught since [`install`]; `None` before [`install`].
static CAUGHT: OnceLock<watch::Sender<Option<Signal>>> = OnceLock::new();
/// Set by [`release`]: a signal ends the process at once.
static RELEASED: AtomicBool = AtomicBool::new(false);
/// Set by the one thread that calls `exit` on a released signal.
static EXITING: AtomicBool = AtomicBool::new(false);

/// Catches SIGINT and SIGTERM from now on, for the whole process: the first one is kept for
/// [`caught`], later ones are ignored while a run finishes its reports. Call it first in `main`.
pub fn install() -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    let caught = CAUGHT.get_or_init(|| watch::Sender::new(None)).clone();
    std::thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            for signo in signals.forever() {
                let signal = if signo == SIGTERM {
                    Signal::Terminate
                } else {
                    Signal::Interrupt
                };
                caught.send_if_modified(|first| {
                    if first.is_some() {
                        return false;
                    }
                    *first = Some(signal);
                    true
                });
                if RELEASED.load(Ordering::SeqCst) {
                    exit_once(signal);
                }
            }
        })?;
    Ok(())
}

/// For a command that writes no report: a signal caught so far, or from now on, ends the process
/// at once with its code (130 / 143).
pub fn release() {
    RELEASED.store(true, Ordering::SeqCst);
    if let Some(signal) = CAUGHT.get().and_then(|caught| *caught.borrow()) {
        exit_once(signal);
    }
}

/// Exits with `signal`'s code; a second caller (the signal thread and [`release`] at once) waits
/// for the first one's exit.
fn exit_once(signal: Signal) {
    if EXITING.swap(true, Ordering::SeqCst) {
        loop {
            std::thread::park();
        }
    }
    std::process::exit(signal.exit_code());
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn signal() {
    caught().await;
}

/// Resolves on Ctrl-C or SIGTERM, saying which: at once for a signal caught since [`install`].
/// Without [`install`] (a library caller) it listens from its first poll on.
pub async fn caught() -> Signal {
    if let Some(caught) = CAUGHT.get() {
        let mut receiver = caught.subscribe();
        if let Ok(signal) = receiver.wait_for(Option::is_some).await
            && let Some(signal) = *signal
        {
            return signal;
        }
    }
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
