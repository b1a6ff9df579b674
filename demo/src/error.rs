//! Set-up failures: what keeps the demo from running or judging an act at all (exit code 2). A
//! missed expectation is not one of them: it is a `FAIL` row of the summary.

use std::{io, path::PathBuf};

/// Why the demo could not do what it meant to.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot run {program}: {source} (build it first: `make release`)")]
    Spawn {
        program: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("mock-server did not start: {0}")]
    ServerStart(String),
    #[error("mock-server exited during the run ({status}; its log: {}), so: {cause}", log.display())]
    ServerExited {
        status: String,
        log: PathBuf,
        cause: Box<Error>,
    },
    #[error("admin API, {what}: {message}")]
    Admin { what: String, message: String },
    #[error("loadgen {0}")]
    Loadgen(String),
    #[error("cannot read the report {path}: {message}")]
    Report { path: PathBuf, message: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// An I/O error with what was being done.
    pub fn io(what: impl Into<String>) -> impl FnOnce(io::Error) -> Self {
        let what = what.into();
        move |source| Self::Io { what, source }
    }
}
