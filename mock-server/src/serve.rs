//! Serving the app on a listener: the accept loop with its connection limit, each connection
//! driven by hyper's HTTP/1 server under the header and idle timeouts ([`connection`]), and a
//! graceful shutdown with a deadline.
//!
//! This replaces `axum::serve`, which has no timeouts and no limit: 3,000 connections sending a
//! request head one byte at a time were all still held after 40 s, and SIGTERM waited for ever for a
//! client that had sent half a request.
//!
//! Why not hyper's own `header_read_timeout`: in hyper 1.x its clock starts when hyper begins to
//! wait for a head, at accept and again after every response, so it bounds the idle wait of a
//! kept-alive connection with the same value and cannot give the two nginx settings
//! (`client_header_timeout` from the first byte of a head, `keepalive_timeout` while idle). The
//! per-connection watchdog in [`connection`] keeps both, with one timer per connection and no
//! shared state.
//!
//! - At start the soft file-descriptor limit is raised to the hard one and `--max-connections` is
//!   lowered to what the descriptors allow ([`fds`]), so the limit fires before `accept` fails.
//! - At the limit (`--max-connections`) a new connection is answered a canned 503 JSON error and
//!   closed, and one warning says so (at most one every [`LIMIT_LOG_EVERY`], with the count refused
//!   meanwhile), not one line per refused connection.
//! - On shutdown the listener closes, every connection is told to finish its request and close;
//!   after `--shutdown-timeout` the ones still open are closed, and the log says how many.

pub mod body;
pub mod clock;
pub mod connection;
pub mod fds;
pub mod io;
pub mod on_wake;
pub mod request;

use std::{
    future::Future,
    io::ErrorKind,
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::{
    net::{TcpListener, TcpStream},
    sync::{Semaphore, watch},
};

pub use crate::limits::{
    DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_SHUTDOWN_TIMEOUT, Limits,
};
use crate::state::AppState;

/// The connection-limit warning repeats at most this often.
pub const LIMIT_LOG_EVERY: Duration = Duration::from_secs(10);

/// Serves `state` on `listener` until `shutdown` resolves, then drains connections for at most
/// `limits.shutdown_timeout`.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let limits = Limits {
        max_connections: fds::apply(limits.max_connections),
        ..limits
    };
    let service = crate::app::service(state.clone());
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // `stop`: finish the request in progress, then close. `kill`: close now.
    let (stop_tx, stop_rx) = watch::channel(());
    let (kill_tx, kill_rx) = watch::channel(());
    let mut refusals = Refusals::default();
    let mut accept_errors = AcceptErrors::default();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_errors.handle(error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refusals.refuse(tcp, limits.max_connections);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let connection = connection::Connection {
            peer,
            service: service.clone(),
            state: state.clone(),
            limits,
            stop: stop_rx.clone(),
            kill: kill_rx.clone(),
        };
        tokio::spawn(async move {
            let _slot = slot;
            connection.drive(tcp).await;
        });
    }
    drop(listener);
    // Requests a fault holds (a barrier, the starved pool) would keep shutdown waiting: release
    // them first.
    state.faults.shut_down();
    drop((stop_rx, kill_rx));
    let open = stop_tx.receiver_count();
    tracing::info!(
        open,
        deadline = ?limits.shutdown_timeout,
        "shutting down: finishing in-flight requests"
    );
    let _ = stop_tx.send(());
    if tokio::time::timeout(limits.shutdown_timeout, stop_tx.closed())
        .await
        .is_err()
    {
        let open = stop_tx.receiver_count();
        tracing::warn!(
            open,
            "shutdown deadline of {:?} passed; closing {open} connection(s) still open",
            limits.shutdown_timeout
        );
        let _ = kill_tx.send(());
        stop_tx.closed().await;
    }
    Ok(())
}

/// What a refused connection reads before it is closed.
const TOO_MANY_CONNECTIONS: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\ncontent-length: 111\r\nconnection: close\r\n\r\n\
{\"error\":{\"code\":\"too_many_connections\",\"message\":\"The server has reached its connection limit; retry later.\"}}";

/// Connections refused at the limit, and when the warning last said so.
#[derive(Debug, Default)]
struct Refusals {
    since_warning: u64,
    warned: Option<Instant>,
}

impl Refusals {
    fn refuse(&mut self, tcp: TcpStream, limit: usize) {
        answer_and_close(tcp);
        self.since_warning += 1;
        if self.warned.is_none_or(|at| at.elapsed() >= LIMIT_LOG_EVERY) {
            tracing::warn!(
                limit,
                refused = self.since_warning,
                "connection limit reached (--max-connections {limit}): new connections get 503 \
                 and are closed until one ends; this warning repeats at most every {:?}",
                LIMIT_LOG_EVERY
            );
            self.warned = Some(Instant::now());
            self.since_warning = 0;
        }
    }
}

/// Writes the canned 503 and closes, never waiting: a fresh socket's send buffer takes the bytes
/// at once. Plain non-blocking calls on the socket (out of the reactor, which has not polled it
/// yet). What the client already sent is read and dropped first: closing a socket with unread
/// bytes sends a reset, which can destroy the 503 before the client reads it (a client that sent
/// its request while waiting in the backlog, as under a flood).
fn answer_and_close(tcp: TcpStream) {
    let Ok(mut tcp) = tcp.into_std() else {
        return;
    };
    let mut unread = [0u8; 4096];
    for _ in 0..16 {
        match std::io::Read::read(&mut tcp, &mut unread) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    let _ = std::io::Write::write(&mut tcp, TOO_MANY_CONNECTIONS);
    let _ = tcp.shutdown(std::net::Shutdown::Write);
}

/// Accept failures: a failed handshake is the client's business; running out of file
/// descriptors is logged (at most every [`LIMIT_LOG_EVERY`]) and the loop pauses briefly so it
/// does not spin.
#[derive(Debug, Default)]
struct AcceptErrors {
    warned: Option<Instant>,
}

impl AcceptErrors {
    async fn handle(&mut self, error: std::io::Error) {
        if matches!(
            error.kind(),
            ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::Interrupted
        ) {
            return;
        }
        if self.warned.is_none_or(|at| at.elapsed() >= LIMIT_LOG_EVERY) {
            tracing::warn!(%error, "accept failed (file-descriptor limit? see `ulimit -n`); retrying");
            self.warned = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canned_503_declares_its_exact_length() {
        let text = std::str::from_utf8(TOO_MANY_CONNECTIONS).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{text}"
        );
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            body["error"]["code"], "too_many_connections",
            "the canned 503 carries the too_many_connections error: {body}"
        );
    }
}
