//! The preflight: before the load, one identity walks every enabled step serially (a second one
//! creates the record its probe asks for). The first answer that does not pass — an unexpected
//! status, a missing field, a wrong shape, a rejected email, a redirect to another origin, no
//! answer at all — stops the run with a set-up error (exit 2) naming the request, what came back
//! (status and the first 300 bytes of the body) and the setting to change. Nothing here is ever
//! counted as a violation: with one user at a time there is no race to find, only a description
//! that does not match the server.

use std::{sync::Arc, time::Duration};

use super::{
    Cities,
    evidence::describe,
    verdict::Verdict,
    walk::{self, Answer, Transport},
};
use crate::{
    api::{ApiRequest, Redirect},
    checks::Outcome,
    client::{Client, ClientError, Target},
    stats::Step,
};

/// Why the preflight stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("preflight: {request} ({step}) {problem}; it answered: {answer}; check {setting}")]
pub struct PreflightError {
    pub step: String,
    pub request: String,
    pub problem: String,
    /// Status and the first 300 bytes of the body (or the transport error).
    pub answer: String,
    pub setting: String,
}

pub(crate) struct PreflightTransport {
    client: Client,
    target: Arc<Target>,
    timeout: Duration,
    error: Option<PreflightError>,
    /// Why the walk stopped early without a description error.
    incomplete: Option<String>,
}

impl Transport for PreflightTransport {
    async fn exchange(
        &mut self,
        cities: &Cities,
        _me: usize,
        step: Step,
        request: ApiRequest,
        mut judge: impl FnMut(&Answer) -> Verdict + Send,
    ) -> Option<(Answer, Verdict)> {
        if self.error.is_some() || self.incomplete.is_some() {
            return None;
        }
        let name = cities.step_name(step).to_owned();
        let label = request.label(&self.target);
        let mut stop = |problem: String, answer: String, setting: &str| {
            self.error = Some(PreflightError {
                step: name.clone(),
                request: label.clone(),
                problem,
                answer,
                setting: setting.to_owned(),
            });
        };
        let mut request = request;
        let mut redirects = 0;
        let mut attempts = 0;
        let api = &cities.options().api;
        let refused = &api.description().meanings.refused;
        let reading = step == cities.steps_of().read;
        let response = loop {
            cities.note_preflight_request(step);
            let sent =
                tokio::time::timeout(self.timeout, self.client.send(request.build(&self.target)))
                    .await;
            let response = match sent {
                Ok(Ok(response)) => response,
                Ok(Err(error @ ClientError::Connect(_))) => {
                    stop(
                        NO_ANSWER.into(),
                        error.to_string(),
                        "the base URL (is the server up?)",
                    );
                    return None;
                }
                Ok(Err(error)) => {
                    // Connected, then the exchange broke: the load judges a server that drops
                    // connections.
                    if attempts < RETRIES {
                        attempts += 1;
                        tokio::time::sleep(RETRY_PAUSE).await;
                        continue;
                    }
                    self.incomplete = Some(format!(
                        "preflight: {label} got no answer ({error}); the steps after it were not checked before the load"
                    ));
                    return None;
                }
                Err(_) => {
                    // A server that holds a lone request (a barrier waiting for company, a
                    // starving pool) is for the load to judge, not a description error.
                    self.client.reset();
                    self.incomplete = Some(format!(
                        "preflight: {label} got no answer within {:?}; the steps after it were not checked before the load",
                        self.timeout
                    ));
                    return None;
                }
            };
            let status = response.status.as_u16();
            // A server error, or one's own new record not readable yet, may pass on a retry:
            // only what stays wrong is a description error.
            if attempts < RETRIES && (status >= 500 || (reading && refused.contains(&status))) {
                attempts += 1;
                tokio::time::sleep(RETRY_PAUSE).await;
                continue;
            }
            match api.redirect(&self.target, status, &response.headers) {
                Some(Redirect::Follow(to)) if redirects < 5 => {
                    redirects += 1;
                    cities.note_redirect(&request.label(&self.target), &to);
                    request.path = to;
                    request.absolute = true;
                }
                Some(Redirect::Refuse(why)) => {
                    stop(why, describe(status, &response.body), request.path_setting);
                    return None;
                }
                _ => break response,
            }
        };
        let answer = Answer {
            status: response.status.as_u16(),
            headers: response.headers.into_map(),
            body: response.body,
        };
        let verdict = judge(&answer);
        match &verdict {
            Verdict::Pass => Some((answer, verdict)),
            Verdict::Fail(failure) if answer.status >= 500 => {
                self.incomplete = Some(format!(
                    "preflight: {label} answered {} {} times; the steps after it were not checked before the load",
                    answer.status,
                    RETRIES + 1
                ));
                let _ = failure;
                None
            }
            Verdict::Fail(failure) => {
                stop(
                    failure.reason.clone(),
                    describe(answer.status, &answer.body),
                    failure.setting,
                );
                None
            }
            // Another of this run's users' data: a proof whatever the description says. The
            // load counts it; the walk goes on.
            Verdict::Violation {
                outcome: Outcome::Leak,
                victim: Some(_),
                message,
                ..
            } => {
                cities.hint(format!("preflight: {message}"));
                Some((answer, verdict))
            }
            Verdict::Violation { message, .. } => {
                stop(
                    format!(
                        "did not answer as described ({message}; a wrong path or pointer looks like this, so it is not counted as a violation)"
                    ),
                    describe(answer.status, &answer.body),
                    "the API description's paths and pointers for this step",
                );
                None
            }
        }
    }
}

/// Tries of a request answered 5xx (or, for one's own new record, refused) before judging it.
const RETRIES: usize = 3;
const RETRY_PAUSE: Duration = Duration::from_millis(300);
/// Longest wait for one preflight answer.
const MAX_WAIT: Duration = Duration::from_secs(5);

impl PreflightTransport {
    /// A transport that stops at the first answer that does not pass (`loadgen replay`'s set-up).
    pub(crate) fn new(target: &Arc<Target>, timeout: Duration) -> Self {
        Self {
            client: Client::to(target),
            target: target.clone(),
            timeout,
            error: None,
            incomplete: None,
        }
    }

    /// Why the walk stopped, if it did: a description error, or no answer.
    pub(crate) fn problem(&mut self) -> Option<String> {
        self.error
            .take()
            .map(|e| e.to_string())
            .or_else(|| self.incomplete.take())
    }
}

/// Walks of the steps before a description error is reported: a wrong path or pointer fails
/// every walk the same way, while a race (another worker's load already running, a fault that
/// moves records between accounts) rarely hits the same lone walk three times.
const WALKS: usize = 3;

/// Walks every enabled step, up to [`WALKS`] times until one walk passes; the first identity's
/// login is kept for the load. Only a description error that every walk met stops the run.
pub async fn run(cities: &Cities, target: &Arc<Target>) -> Result<(), PreflightError> {
    let mut first_error = None;
    for walk in 1..=WALKS {
        let mut transport = PreflightTransport {
            client: Client::to(target),
            target: target.clone(),
            timeout: cities.options().timeout.min(MAX_WAIT),
            error: None,
            incomplete: None,
        };
        let result = walk_all(cities, &mut transport).await;
        if let Some(hint) = transport.incomplete.take() {
            cities.hint(hint);
            return Ok(());
        }
        let error = match (transport.error.take(), result) {
            (Some(error), _) | (None, Err(error)) => error,
            (None, Ok(())) => {
                if let Some(error) = first_error {
                    cities.hint(format!(
                        "preflight: walk {walk} of {WALKS} passed after an earlier one stopped at: {error}; the description matches, so the load judges the server"
                    ));
                }
                return Ok(());
            }
        };
        // A server that is not there answers no better on a second walk.
        if error.problem == NO_ANSWER {
            return Err(error);
        }
        first_error.get_or_insert(error);
    }
    Err(first_error.expect("every walk stopped with an error"))
}

/// The problem of a request that could not connect.
const NO_ANSWER: &str = "got no answer";

async fn walk_all(
    cities: &Cities,
    transport: &mut PreflightTransport,
) -> Result<(), PreflightError> {
    let failed = |what: &str| PreflightError {
        step: what.to_owned(),
        request: what.to_owned(),
        problem: "did not complete".into(),
        answer: "nothing".into(),
        setting: "the API description".into(),
    };
    let identities = cities.identities();
    let probes = cities.steps_of().probe.is_some() && identities > 1;
    let second = identities - 1;
    if probes {
        // The other identity's record, which the probe below asks for.
        let identity = cities
            .identity(transport, second)
            .await
            .map_err(|e| failed(&e.0))?;
        let mut user = cities
            .take_seeded(second)
            .unwrap_or_else(|| cities.new_user(second, 0, identity));
        walk::iterate(cities, transport, &mut user, false, true).await;
        cities.seed_user(second, user);
    }
    let identity = cities
        .identity(transport, 0)
        .await
        .map_err(|e| failed(&e.0))?;
    let mut user = cities
        .take_seeded(0)
        .unwrap_or_else(|| cities.new_user(0, 0, identity));
    walk::iterate(cities, transport, &mut user, probes, false).await;
    cities.seed_user(0, user);
    Ok(())
}
