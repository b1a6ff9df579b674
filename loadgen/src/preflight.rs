//! The preflight: before any user starts, connect to the target (TCP, then TLS when the URL is
//! `https`, whose certificate problems show here) and send the scenario's probe request once, uncounted. A target that cannot be reached
//! at start is a set-up error (exit 2, one line naming the URL and the OS error), not a run of a
//! million refused connects that ends in "0 pass".
//!
//! A probe that gets no answer within `--timeout` (or [`PATIENCE`], whichever is shorter) is not a
//! set-up error: the target accepted the connection, so the run goes on and counts what it gets (a
//! silent target ends with exit 3).

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

/// Connects to `target` and sends `probe` (when given); `url` names the target in the error.
pub async fn check(
    url: &str,
    target: &Target,
    probe: Option<Request<Full<Bytes>>>,
    timeout: Duration,
) -> Result<(), PlanError> {
    let timeout = timeout.min(PATIENCE);
    let unreachable = |reason: String| PlanError(format!("cannot reach {url}: {reason}"));
    let mut client = Client::to(target);
    match tokio::time::timeout(timeout, client.connect()).await {
        Ok(Ok(())) => {}
        Ok(Err(error @ ClientError::Tls(_))) => {
            return Err(unreachable(format!(
                "{error} (trust the server's certificate with --cacert FILE, or skip checking with --insecure)"
            )));
        }
        Ok(Err(error)) => return Err(unreachable(error.to_string())),
        Err(_) => {
            return Err(unreachable(format!("connect timed out after {timeout:?}")));
        }
    }
    let Some(probe) = probe else {
        return Ok(());
    };
    match tokio::time::timeout(timeout, client.send(probe)).await {
        // A body over --max-body is an answer: the run counts it as `body_too_large`.
        Ok(Ok(_)) | Ok(Err(ClientError::BodyTooLarge(_))) => Ok(()),
        Ok(Err(error)) => Err(unreachable(error.to_string())),
        Err(_) => {
            eprintln!(
                "warning: preflight: {url} accepted the connection but sent no answer within {timeout:?}; running anyway"
            );
            Ok(())
        }
    }
}
