//! The preflight: before any user starts, connect to the target (TCP, then TLS when the URL is
//! `https`, whose certificate problems show here) and send the scenario's probe request, uncounted.
//! A target that cannot be reached at start is a set-up error (exit 2, one line naming the URL
//! and the OS error), not a run of a million refused connects that ends in "0 pass".
//!
//! One failure is not enough to call a target broken: a refused or reset connection, a
//! connection closed before the answer, or a 5xx answer is tried again, [`ATTEMPTS`] times in
//! all with a doubling pause from [`BACKOFF`] (0.1 s, 0.2 s, 0.4 s). A certificate problem is not
//! retried (it will not fix itself), nor is any other answer: a 4xx is an answer, and judging it
//! is the checks' job. A target that still answers 5xx is run anyway (the run counts what it
//! gets); one that still cannot be reached is the set-up error.
//!
//! A probe that gets no answer within `--timeout` (or [`PATIENCE`], whichever is shorter) is not a
//! set-up error either and is not retried: the target accepted the connection, so the run goes
//! on and counts what it gets (a silent target ends with exit 3). The time the preflight took is
//! in the report (`preflight_s`) and the summary.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;

use crate::{
    client::{Client, ClientError, Target},
    plan::PlanError,
};

/// The longest the preflight waits for the connection and for the probe's answer: a slow target
/// is the run's to measure, not the preflight's.
pub const PATIENCE: Duration = Duration::from_secs(5);
/// Tries in all before a failing target is called broken.
pub const ATTEMPTS: u32 = 4;
/// The pause before the second try; doubled before each further one.
pub const BACKOFF: Duration = Duration::from_millis(100);

/// What one try came to.
enum Try {
    /// An answer with this status (or one too large to read).
    Answered(Option<u16>),
    /// Connected, and no answer within the patience.
    Silent,
    /// A failure another try may not meet (a reset, a refused connect).
    Transient(String),
    /// A failure that will not pass (a certificate problem, a connect timeout).
    Fatal(String),
}

/// Connects to `target` and sends the request `probe` makes (when it makes one), trying again on
/// a transient failure; `url` names the target in the error.
pub async fn check(
    url: &str,
    target: &Target,
    probe: impl Fn() -> Option<Request<Full<Bytes>>>,
    timeout: Duration,
) -> Result<(), PlanError> {
    let timeout = timeout.min(PATIENCE);
    let unreachable = |reason: String| PlanError(format!("cannot reach {url}: {reason}"));
    let mut pause = BACKOFF;
    for attempt in 1..=ATTEMPTS {
        let last = attempt == ATTEMPTS;
        match once(target, probe(), timeout).await {
            Try::Answered(Some(status)) if status >= 500 && !last => {}
            Try::Answered(Some(status)) if status >= 500 => {
                eprintln!(
                    "warning: preflight: {url} answered {status} {ATTEMPTS} times; running anyway"
                );
                return Ok(());
            }
            Try::Answered(_) => return Ok(()),
            Try::Silent => {
                eprintln!(
                    "warning: preflight: {url} accepted the connection but sent no answer within {timeout:?}; running anyway"
                );
                return Ok(());
            }
            Try::Transient(_) if !last => {}
            Try::Transient(reason) | Try::Fatal(reason) => return Err(unreachable(reason)),
        }
        tokio::time::sleep(pause).await;
        pause *= 2;
    }
    unreachable!("the last attempt returns")
}

/// One connect and one probe, on a fresh connection.
async fn once(target: &Target, probe: Option<Request<Full<Bytes>>>, timeout: Duration) -> Try {
    let mut client = Client::to(target);
    match tokio::time::timeout(timeout, client.connect()).await {
        Ok(Ok(())) => {}
        Ok(Err(error @ ClientError::Tls(_))) => {
            return Try::Fatal(format!(
                "{error} (trust the server's certificate with --cacert FILE, or skip checking with --insecure)"
            ));
        }
        Ok(Err(error)) => return Try::Transient(error.to_string()),
        Err(_) => return Try::Fatal(format!("connect timed out after {timeout:?}")),
    }
    let Some(probe) = probe else {
        return Try::Answered(None);
    };
    match tokio::time::timeout(timeout, client.send(probe)).await {
        Ok(Ok(response)) => Try::Answered(Some(response.status.as_u16())),
        // A body over --max-body is an answer: the run counts it as `body_too_large`.
        Ok(Err(ClientError::BodyTooLarge(_))) => Try::Answered(None),
        Ok(Err(error)) => Try::Transient(error.to_string()),
        Err(_) => Try::Silent,
    }
}
