//! The limits the configuration sets and the layers below it enforce: the store's caps
//! ([`Caps`]) and the serving layer's connection limits ([`Limits`]), with their defaults.
//!
//! A leaf: `config` fills these in, `store` and `serve` obey them, and none of the three imports
//! another for them.

use std::time::Duration;

/// Accounts kept at most unless configured.
pub const DEFAULT_MAX_USERS: usize = 100_000;
/// Cities kept at most unless configured: about 450 MB at 450 bytes a city.
pub const DEFAULT_MAX_RECORDS: usize = 1_000_000;

/// How many users and cities the store keeps at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub max_users: usize,
    pub max_records: usize,
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            max_users: DEFAULT_MAX_USERS,
            max_records: DEFAULT_MAX_RECORDS,
        }
    }
}

/// How long a client may take to send a request head, from its first byte. nginx's
/// `client_header_timeout` is 60 s; 30 s is hyper's own default and what a load test needs (a real
/// client sends a head in microseconds), and it halves what a slowloris flood can hold.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a kept-alive connection may sit idle between requests: nginx's `keepalive_timeout`
/// (75 s), longer than the usual client pool idle timeouts (reqwest and hyper's 90 s excepted,
/// which retry a closed pooled connection), so clients rarely race the server's close.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(75);
/// How long a request body may go without a byte arriving: nginx's `client_body_timeout` (60 s).
/// Then the request is answered 408 and the connection closed.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(60);
/// Open connections accepted at once: well above the 1,000 users of a big load test, and below
/// the usual file-descriptor limit of a service (`LimitNOFILE` 65536).
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// How long a shutdown waits for in-flight requests before closing their connections.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Connection-level limits, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    /// Longest wait between two reads of a request body.
    pub body_timeout: Duration,
    /// Lowered at start to what the file-descriptor limit allows (`serve::fds`).
    pub max_connections: usize,
    pub shutdown_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }
}
