//! One connection: hyper's HTTP/1 server over the socket, a watchdog for the header and idle
//! timeouts, and the stop (finish, then close) and kill (close now) signals of a shutdown.
//!
//! [`Activity`] is what the watchdog reads. The socket wrapper ([`super::io::WatchedIo`]) marks
//! the first byte of a head, the request wrapper ([`super::request`]) marks a request's start and
//! the end of its response body. Everything runs in the connection's own task (hyper polls the
//! service and the body there), so the atomics are only loaded and stored (`Relaxed`, never a
//! read-modify-write): plain moves, nothing shared with other connections. They are atomics only
//! because the task must be `Send`.
//!
//! | phase | from | deadline |
//! |---|---|---|
//! | idle | accept, or the end of the last response | `idle_timeout` |
//! | head | the first byte of a request head | `header_timeout` |
//! | busy | the handler's start until its response body ends | none (shutdown's deadline); a request body's reads: `body_timeout` ([`super::body`]) |

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed},
    },
    time::Duration,
};

use hyper_util::rt::TokioIo;
use tokio::{net::TcpStream, sync::watch};

use super::{Limits, clock, io::WatchedIo, on_wake::OnWake, request::RequestService};
use crate::{faults::layer::FaultService, metrics::Gauges, state::AppState};

/// What the watchdog knows about a connection.
#[derive(Debug)]
pub struct Activity {
    /// Requests between their start and the end of their response body.
    in_flight: AtomicU32,
    /// Bytes of a request head arrived while no request was in flight.
    in_head: AtomicBool,
    /// When the current idle or head phase began, in [`clock::now_ms`].
    since_ms: AtomicU64,
    /// A request body passed its deadline ([`super::body`]): its answer becomes the 408.
    body_stalled: AtomicBool,
    /// The server-wide gauges, told of each request's start and end.
    gauges: Gauges,
}

/// Why the watchdog closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// No complete request head within `header_timeout` of its first byte.
    Header,
    /// Idle for `idle_timeout`.
    Idle,
}

impl Activity {
    pub fn new(gauges: Gauges) -> Self {
        Self {
            gauges,
            in_flight: AtomicU32::new(0),
            in_head: AtomicBool::new(false),
            since_ms: AtomicU64::new(clock::now_ms()),
            body_stalled: AtomicBool::new(false),
        }
    }

    /// The socket delivered bytes: while idle, that starts a head.
    pub fn bytes_read(&self) {
        if self.in_flight.load(Relaxed) == 0 && !self.in_head.load(Relaxed) {
            self.since_ms.store(clock::now_ms(), Relaxed);
            self.in_head.store(true, Relaxed);
        }
    }

    /// hyper parsed a head and called the service.
    pub fn request_started(&self) {
        self.in_flight
            .store(self.in_flight.load(Relaxed) + 1, Relaxed);
        self.in_head.store(false, Relaxed);
        self.gauges.request_started();
    }

    /// A response body ended (or the request was dropped).
    pub fn request_finished(&self) {
        let left = self.in_flight.load(Relaxed).saturating_sub(1);
        if left == 0 {
            self.since_ms.store(clock::now_ms(), Relaxed);
        }
        self.in_flight.store(left, Relaxed);
        self.gauges.request_finished();
    }

    /// A request body went `--body-timeout` without a byte.
    pub fn body_stalled(&self) {
        self.body_stalled.store(true, Relaxed);
    }

    /// Whether a request body stalled since the last call; read only for requests with a body.
    pub fn take_body_stalled(&self) -> bool {
        self.body_stalled.swap(false, Relaxed)
    }

    /// When the current phase expires, in [`clock::now_ms`], and why; `None` while busy.
    fn deadline(&self, limits: &Limits) -> Option<(u64, Expired)> {
        if self.in_flight.load(Relaxed) > 0 {
            return None;
        }
        let (timeout, why) = if self.in_head.load(Relaxed) {
            (limits.header_timeout, Expired::Header)
        } else {
            (limits.idle_timeout, Expired::Idle)
        };
        let timeout = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        Some((self.since_ms.load(Relaxed).saturating_add(timeout), why))
    }

    /// Resolves when the connection has been idle, or in a head, for too long. Nothing wakes it
    /// when a phase changes (that would cost every request); it looks again at least every quarter
    /// of the header timeout instead, so a head that starts while it sleeps towards the idle
    /// deadline is closed between 1 and 1.25 header timeouts after its first byte.
    pub async fn expired(&self, limits: Limits) -> Expired {
        let recheck = (limits.header_timeout / 4)
            .min(limits.idle_timeout)
            .max(Duration::from_millis(1));
        loop {
            let wait = match self.deadline(&limits) {
                None => recheck,
                Some((at, why)) => {
                    let now = clock::now_ms();
                    if now >= at {
                        return why;
                    }
                    Duration::from_millis(at - now).min(recheck)
                }
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// A connection about to be driven, with what it shares with the accept loop.
#[derive(Debug)]
pub struct Connection {
    pub peer: SocketAddr,
    pub service: FaultService<crate::app::App>,
    pub state: AppState,
    pub limits: Limits,
    pub stop: watch::Receiver<()>,
    pub kill: watch::Receiver<()>,
}

/// Largest request head accepted (hyper's default buffer is about 400 KB): bigger heads get 431.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

impl Connection {
    /// Serves requests on `tcp` until the client closes, a timeout expires, or a shutdown ends it.
    pub async fn drive(mut self, tcp: TcpStream) {
        let _open = self.state.gauges.connection_opened();
        let activity = Arc::new(Activity::new(self.state.gauges.clone()));
        let io = TokioIo::new(WatchedIo::new(tcp, activity.clone()));
        let service = RequestService::new(
            self.service.clone(),
            self.peer,
            activity.clone(),
            &self.state,
            self.limits.body_timeout,
        );
        let mut builder = hyper::server::conn::http1::Builder::new();
        // The watchdog times heads (see `serve`); hyper's own header timer stays off.
        // `max_buf_size` alone is a soft bound (a read may overshoot it); `max_header_size` is exact.
        builder
            .header_read_timeout(None)
            .max_buf_size(MAX_HEAD_BYTES)
            .max_header_size(MAX_HEAD_BYTES);
        let connection = builder.serve_connection(io, service);
        tokio::pin!(connection);
        // The watchdog and the shutdown signals are polled only when they woke the task (see
        // `on_wake`), not on each of the socket's wake-ups.
        let expired = OnWake::new(activity.expired(self.limits));
        tokio::pin!(expired);
        let stop = OnWake::new(self.stop.changed());
        tokio::pin!(stop);
        let peer = self.peer;
        tokio::select! {
            // In this order, no random start on each of the connection's wake-ups: the
            // connection first (it is what woke the task nearly every time), then the watchdog,
            // then the shutdown signal.
            biased;
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                return;
            }
            why = &mut expired => {
                tracing::debug!(%peer, ?why, "closing a connection past its timeout");
                return;
            }
            _ = &mut stop => connection.as_mut().graceful_shutdown(),
        }
        tokio::select! {
            _ = connection.as_mut() => {}
            _ = &mut expired => {}
            _ = self.kill.changed() => {
                tracing::debug!(%peer, "closing a connection at the shutdown deadline");
            }
        }
    }
}
