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
    api::{
        Api, ApiRequest, Redirect, SendToken,
        refusal::{self, About},
    },
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
        let api = &cities.options().api;
        let mut request = request;
        let generation = request.jar().map(|jar| jar.generation());
        let mut answer = self.fetch(cities, step, &mut request).await?;
        // A session the server ended is established again, once, before its refusal is judged.
        if api.session_ended(&request, answer.status, &answer.body)
            && let Some(jar) = request
                .jar()
                .filter(|jar| generation.is_some_and(|g| jar.clear_if(g)))
        {
            cities.note_relogin(&label);
            for mut again in jar.relogin() {
                self.fetch(cities, step, &mut again).await?;
            }
            answer = self.fetch(cities, step, &mut request).await?;
        }
        let mut stop = |problem: String, answer: String, setting: String| {
            self.error = Some(PreflightError {
                step: name.clone(),
                request: label.clone(),
                problem,
                answer,
                setting,
            });
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
                // A refusal that names CSRF or a session can only change with those settings.
                let setting = refusal_settings(api, answer.status, &answer.body)
                    .unwrap_or_else(|| failure.setting.to_owned());
                stop(
                    failure.reason.clone(),
                    describe(answer.status, &answer.body),
                    setting,
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
                let setting =
                    refusal_settings(api, answer.status, &answer.body).unwrap_or_else(|| {
                        "the API description's paths and pointers for this step".to_owned()
                    });
                stop(
                    format!(
                        "did not answer as described ({message}; a wrong path or pointer looks like this, so it is not counted as a violation)"
                    ),
                    describe(answer.status, &answer.body),
                    setting,
                );
                None
            }
        }
    }
}

impl PreflightTransport {
    /// Sends `request`, retrying a 5xx (and one's own new record refused), following same-origin
    /// redirects, reading every answer into the identity's jar. `None` when the walk stops.
    async fn fetch(
        &mut self,
        cities: &Cities,
        step: Step,
        request: &mut ApiRequest,
    ) -> Option<Answer> {
        let label = request.label(&self.target);
        let mut redirects = 0;
        let mut attempts = 0;
        let api = &cities.options().api;
        let refused = &api.description().meanings.refused;
        let reading = step == cities.steps_of().read;
        loop {
            cities.note_preflight_request(step);
            let sent =
                tokio::time::timeout(self.timeout, self.client.send(request.build(&self.target)))
                    .await;
            let response = match sent {
                Ok(Ok(response)) => response,
                Ok(Err(error @ ClientError::Connect(_))) => {
                    self.error = Some(PreflightError {
                        step: cities.step_name(step).to_owned(),
                        request: label,
                        problem: NO_ANSWER.into(),
                        answer: error.to_string(),
                        setting: "the base URL (is the server up?)".into(),
                    });
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
            request.absorb(&response.headers, &response.body);
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
                    self.error = Some(PreflightError {
                        step: cities.step_name(step).to_owned(),
                        request: label,
                        problem: why,
                        answer: describe(status, &response.body),
                        setting: request.path_setting.to_owned(),
                    });
                    return None;
                }
                _ => {
                    return Some(Answer {
                        status,
                        headers: response.headers.into_map(),
                        body: response.body,
                    });
                }
            }
        }
    }
}

/// The settings that can change a refusal (4xx) whose body names CSRF or a session, `None` for
/// any other answer: the step's own settings (a path, a body field) cannot.
pub(crate) fn refusal_settings(api: &Api, status: u16, body: &[u8]) -> Option<String> {
    if !(400..500).contains(&status) {
        return None;
    }
    let d = api.description();
    let about = refusal::about(body)?;
    // "CSRF cookie not set": the cookie never came, which only a pre-login step changes.
    let no_cookie = String::from_utf8_lossy(body)
        .to_ascii_lowercase()
        .contains("cookie");
    let pre_login = match (no_cookie, d.login.cookie_path.is_empty()) {
        (false, _) => String::new(),
        (true, true) => " and login.cookie-path (a GET whose answer sets the CSRF cookie, sent before register and login)".to_owned(),
        (true, false) => " and login.cookie-path (does its answer set the CSRF cookie?)".to_owned(),
    };
    Some(match about {
        About::Csrf if d.csrf.is_set() => format!(
            "the CSRF names the server uses: csrf.cookie (or csrf.response-header, csrf.json) and csrf.header (or csrf.field){pre_login}"
        ),
        About::Csrf => format!(
            "csrf (a preset: csrf = \"django\", \"laravel\", \"spring\" or \"rails\"; or csrf.cookie and csrf.header){pre_login}"
        ),
        About::Session if d.login.send == SendToken::Header => {
            "login.send = \"cookie\" (a session login keeps the cookies the login answer sets), or login.token and login.header for a token".to_owned()
        }
        About::Session => {
            "the session login: login.path and login.ok (does its answer set the session cookie?), and csrf when the login is CSRF-protected".to_owned()
        }
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Description, description::parse_set};

    fn api(sets: &[&str]) -> Api {
        let sets: Vec<_> = sets.iter().map(|s| parse_set(s).unwrap()).collect();
        Api::new(Description::load_with(None, &sets).unwrap()).unwrap()
    }

    #[test]
    fn a_refusal_naming_csrf_or_a_session_names_only_the_settings_that_change_it() {
        let tokens = api(&[]);
        let hint = |api: &Api, status, body: &str| refusal_settings(api, status, body.as_bytes());
        let no_cookie = hint(
            &tokens,
            403,
            r#"{"detail": "CSRF Failed: CSRF cookie not set."}"#,
        )
        .unwrap();
        assert!(
            no_cookie.contains("csrf = \"django\"") && no_cookie.contains("login.cookie-path"),
            "a missing CSRF cookie names the presets and the pre-login step: {no_cookie}"
        );
        assert!(
            !no_cookie.contains("accounts.") && !no_cookie.contains("records."),
            "nor the register settings, which cannot change it: {no_cookie}"
        );
        let missing = hint(
            &tokens,
            403,
            r#"{"detail": "CSRF Failed: CSRF token missing."}"#,
        )
        .unwrap();
        assert!(
            missing.contains("csrf") && !missing.contains("cookie-path"),
            "a missing token (the cookie came) names the CSRF keys only: {missing}"
        );
        let configured = api(&["csrf=django"]);
        let wrong = hint(&configured, 403, r#"{"message": "CSRF token mismatch."}"#).unwrap();
        assert!(
            wrong.contains("csrf.header") && !wrong.contains("preset"),
            "with CSRF set, a mismatch names its names: {wrong}"
        );
        let session = hint(
            &tokens,
            403,
            r#"{"detail":"Authentication credentials were not provided."}"#,
        )
        .unwrap();
        assert!(
            session.contains("login.send = \"cookie\""),
            "a token login refused for want of a session names the session login: {session}"
        );
        assert_eq!(
            hint(
                &tokens,
                404,
                r#"{"detail":"No Note matches the given query."}"#
            ),
            None,
            "any other refusal keeps the step's own settings"
        );
        assert_eq!(
            hint(&tokens, 500, "CSRF"),
            None,
            "a server error is no refusal"
        );
    }
}
