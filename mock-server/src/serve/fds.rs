//! The file-descriptor budget: at start the server raises its soft `RLIMIT_NOFILE` to the hard
//! limit (as nginx's `worker_rlimit_nofile` and Go's runtime since 1.19 do) and keeps the
//! connection limit below what it got, so the limit's 503 fires before `accept` runs out of
//! descriptors.
//!
//! Why: each connection holds one descriptor. With the default `--max-connections 10000` under a
//! 256-descriptor limit, 300 idle connections used every descriptor, `accept` failed with
//! `EMFILE`, and a fresh client waited in the backlog with no answer until an idle one left. With
//! the limit at the descriptors minus [`RESERVE`], the server can always accept one more
//! connection, answer it the 503 and close it.

/// Descriptors kept out of the connection budget: the listener, stdio, the runtime's epoll and
/// wake-up descriptors, the signal pipe, a config file being read, and the connection being
/// refused. About ten are in use at start; the rest is margin.
pub const RESERVE: u64 = 32;

/// The descriptor limit the process runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdLimit {
    /// The soft limit now, after the raise.
    pub soft: u64,
    /// The soft limit found at start, when the raise changed it.
    pub raised_from: Option<u64>,
}

impl FdLimit {
    /// Connections that fit: the soft limit minus [`RESERVE`], at least 1.
    pub fn connections(&self) -> usize {
        usize::try_from(self.soft.saturating_sub(RESERVE).max(1)).unwrap_or(usize::MAX)
    }
}

/// `max_connections` lowered to what `fds` allows, when it is above it.
pub fn fit(max_connections: usize, fds: FdLimit) -> usize {
    max_connections.min(fds.connections())
}

/// Raises the soft descriptor limit to the hard one and returns the limit the process then has;
/// `None` where it cannot be read (an unlimited soft limit is reported as `None` too: nothing to
/// fit).
#[cfg(target_os = "linux")]
pub fn raise() -> Option<FdLimit> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
    let current = current?;
    // An unlimited hard limit cannot be the soft one on Linux: the kernel caps it at `nr_open`.
    let target = maximum.or_else(nr_open).unwrap_or(current);
    if target <= current {
        return Some(FdLimit {
            soft: current,
            raised_from: None,
        });
    }
    let raised = Rlimit {
        current: Some(target),
        maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => Some(FdLimit {
            soft: target,
            raised_from: Some(current),
        }),
        Err(error) => {
            tracing::warn!(%error, current, target, "could not raise the file-descriptor limit");
            Some(FdLimit {
                soft: current,
                raised_from: None,
            })
        }
    }
}

/// Elsewhere the limit is left as it is and nothing is fitted.
#[cfg(not(target_os = "linux"))]
pub fn raise() -> Option<FdLimit> {
    None
}

/// The kernel's ceiling for any process's descriptor limit.
#[cfg(target_os = "linux")]
fn nr_open() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Raises the limit, fits `max_connections` to it and logs both; returns the limit to serve with.
pub fn apply(max_connections: usize) -> usize {
    let Some(fds) = raise() else {
        return max_connections;
    };
    let fitted = fit(max_connections, fds);
    match fds.raised_from {
        Some(from) => tracing::info!(
            fds = fds.soft,
            from,
            connections = fitted,
            "file-descriptor limit raised from {from} to {}; connection limit {fitted}",
            fds.soft
        ),
        None => tracing::info!(
            fds = fds.soft,
            connections = fitted,
            "file-descriptor limit {}; connection limit {fitted}",
            fds.soft
        ),
    }
    if fitted < max_connections {
        tracing::warn!(
            requested = max_connections,
            connections = fitted,
            "--max-connections {max_connections} is above what {} file descriptors allow \
             ({RESERVE} kept for the listener, logs and files): lowered to {fitted}; raise \
             `ulimit -n` (or LimitNOFILE) for more",
            fds.soft
        );
    }
    fitted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_limit_leaves_the_reserve_free() {
        let fds = |soft| FdLimit {
            soft,
            raised_from: None,
        };
        assert_eq!(
            fit(10_000, fds(256)),
            224,
            "256 descriptors allow 256 - 32 connections"
        );
        assert_eq!(fit(100, fds(256)), 100, "a limit below the budget is kept");
        assert_eq!(
            fit(10_000, fds(1_048_576)),
            10_000,
            "a large descriptor limit changes nothing"
        );
        assert_eq!(
            fit(10_000, fds(8)),
            1,
            "a limit below the reserve still allows one connection"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let fds = raise().expect("Linux reports a descriptor limit");
        let now = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        assert_eq!(
            now.current,
            Some(fds.soft),
            "the reported soft limit is the process's: {fds:?}"
        );
        if let Some(hard) = now.maximum {
            assert_eq!(
                fds.soft, hard,
                "the soft limit is raised to the hard one: {fds:?}"
            );
        }
    }
}
