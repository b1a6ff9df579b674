//! The steps of the isolation test, written once over a [`Transport`]: during the load each
//! answer is recorded as an outcome ([`LoadTransport`]); in the preflight the first answer that
//! does not pass stops everything ([`super::preflight`]).

use std::time::Instant;

use bytes::Bytes;
use hyper::HeaderMap;
use serde_json::Value;

use super::{
    Cities, User,
    evidence::{Evidence, describe},
    ledger::Owner,
    verdict::{ANONYMOUS_MARKER, Asked, Expected, Verdict, is_denied},
};
use crate::{
    api::{ApiRequest, Credential, Provisioned, Redirect, Vars, forged::Forged},
    checks::Outcome,
    scenario::{Exchange, Session, SetupError},
    stats::{Step, Timing},
};

/// Most redirects followed for one request.
const MAX_REDIRECTS: usize = 5;

/// The `resurrect` race: the delete goes this long after the update, so that it lands while the
/// update is in flight.
const RACE_STAGGER: std::time::Duration = std::time::Duration::from_millis(2);

/// A logged-in identity: what it sends, and its account id once known.
#[derive(Debug, Clone)]
pub struct Identity {
    pub credential: Credential,
    pub account_id: Option<Value>,
}

/// An answer read to its end.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Sends one request and judges its answer.
pub trait Transport: Send {
    /// Sends `request` (following same-origin redirects) and judges the answer with `judge`.
    /// `None` when no answer came back, or (preflight) when the verdict is not a pass.
    fn exchange(
        &mut self,
        cities: &Cities,
        me: usize,
        step: Step,
        request: ApiRequest,
        judge: impl FnMut(&Answer) -> Verdict + Send,
    ) -> impl Future<Output = Option<(Answer, Verdict)>> + Send;

    /// A second connection of the same user, to race a request against this one's (`None`: this
    /// transport cannot, as the preflight's, which then skips the race).
    fn sibling(&self) -> Option<Sibling> {
        None
    }
}

/// A load transport over its own connection: the racing side of the `resurrect` check.
pub struct Sibling {
    session: Session,
}

impl Transport for Sibling {
    async fn exchange(
        &mut self,
        cities: &Cities,
        me: usize,
        step: Step,
        request: ApiRequest,
        judge: impl FnMut(&Answer) -> Verdict + Send,
    ) -> Option<(Answer, Verdict)> {
        LoadTransport {
            session: &mut self.session,
        }
        .exchange(cities, me, step, request, judge)
        .await
    }
}

/// The load: every answer is recorded under its step.
pub struct LoadTransport<'a> {
    pub session: &'a mut Session,
}

impl Transport for LoadTransport<'_> {
    fn sibling(&self) -> Option<Sibling> {
        Some(Sibling {
            session: self.session.sibling(),
        })
    }

    /// A refusal is not recorded at once: a refused credential may simply have expired, or the
    /// server ended the session. A JWT says when it expires: unexpired, the refusal is a
    /// violation at once; expired, it is a plain fail, the identity logs in again and the request
    /// goes once more with the fresh credential. A session or CSRF token the server ended (a 401,
    /// a 419, a 403 naming either: `Api::session_ended`) is established again the same way, once
    /// for all the identity's tabs, and only the answer after it is judged. Any other `denied`
    /// verdict of an opaque credential says nothing, so the same request is sent again with it;
    /// if that passes, the credential is valid and the refusal is a violation. Refused again, the
    /// identity logs in again and the request goes once more with the fresh credential: refused
    /// still, every refusal stands; passed, the credential had expired, both refusals are plain
    /// fails (no violation). A fresh credential is sent from then on.
    async fn exchange(
        &mut self,
        cities: &Cities,
        me: usize,
        step: Step,
        request: ApiRequest,
        mut judge: impl FnMut(&Answer) -> Verdict + Send,
    ) -> Option<(Answer, Verdict)> {
        let api = &cities.options().api;
        let session = &mut *self.session;
        let original = request.credential.clone();
        let mut request = request;
        request.credential = original
            .clone()
            .map(|credential| cities.current_credential(me, credential));
        let generation = request.jar().map(|jar| jar.generation());
        let first = send(cities, session, me, step, request.clone()).await?;
        let verdict = judge(&first.answer);
        let expiry = request.credential.as_ref().and_then(Credential::expires_at);
        let refused = !matches!(verdict, Verdict::Pass)
            && api
                .description()
                .meanings
                .denied
                .contains(&first.answer.status);
        let jwt_expired = refused && expiry.is_some_and(|exp| exp <= unix_now());
        let ended = expiry.is_none()
            && api.session_ended(&request, first.answer.status, &first.answer.body);
        if jwt_expired || ended {
            // Expired (the JWT says so) or ended by the server (a session, a CSRF token): log in
            // again once and send once more; that answer is judged. An expired JWT's refusal is a
            // plain fail; a session's end is not counted (its hint says so).
            if jwt_expired {
                expired(cities, session, step, &first);
            } else {
                cities.note_relogin(&request.label(session.target()));
            }
            let fresh = log_in_again(cities, session, me, &request, generation).await;
            let Some(fresh) = fresh else {
                if jwt_expired {
                    return None;
                }
                settle(cities, session, me, step, &first, &verdict);
                return Some((first.answer, verdict));
            };
            if let Some(original) = &original {
                cities.replace_credential(me, original, fresh.clone());
            }
            request.credential = Some(fresh);
            let retry = send(cities, session, me, step, request).await?;
            let verdict = judge(&retry.answer);
            settle(cities, session, me, step, &retry, &verdict);
            return Some((retry.answer, verdict));
        }
        // An unexpired JWT was valid: its refusal stands at once. So does a refusal of a request
        // sent without a login (set-up requests, anonymous ones).
        if !is_denied(&verdict) || !request.logged_in() || expiry.is_some() {
            settle(cities, session, me, step, &first, &verdict);
            return Some((first.answer, verdict));
        }
        let Some(again) = send(cities, session, me, step, request.clone()).await else {
            settle(cities, session, me, step, &first, &verdict);
            return None;
        };
        let verdict_again = judge(&again.answer);
        if !is_denied(&verdict_again) {
            settle(cities, session, me, step, &first, &verdict);
            settle(cities, session, me, step, &again, &verdict_again);
            return Some((again.answer, verdict_again));
        }
        let fresh = log_in_again(cities, session, me, &request, generation).await;
        let third = match &fresh {
            Some(fresh) => {
                request.credential = Some(fresh.clone());
                send(cities, session, me, step, request).await
            }
            None => None,
        };
        let Some(third) = third else {
            settle(cities, session, me, step, &first, &verdict);
            settle(cities, session, me, step, &again, &verdict_again);
            return Some((again.answer, verdict_again));
        };
        let verdict_third = judge(&third.answer);
        if is_denied(&verdict_third) {
            settle(cities, session, me, step, &first, &verdict);
            settle(cities, session, me, step, &again, &verdict_again);
        } else {
            if let (Some(original), Some(fresh)) = (&original, fresh) {
                cities.replace_credential(me, original, fresh);
            }
            expired(cities, session, step, &first);
            expired(cities, session, step, &again);
        }
        settle(cities, session, me, step, &third, &verdict_third);
        Some((third.answer, verdict_third))
    }
}

/// One request sent (redirects followed) and answered, not yet judged or recorded.
struct Sent {
    answer: Answer,
    timing: Timing,
    times: Times,
    label: String,
}

/// Sends `request`, following same-origin redirects (which rewrite it), and reads every answer
/// into the identity's jar. `None` when no answer came back (recorded as an exception or
/// timeout) or a redirect was refused (recorded as a fail).
async fn send(
    cities: &Cities,
    session: &mut Session,
    me: usize,
    step: Step,
    mut request: ApiRequest,
) -> Option<Sent> {
    let mut redirects = 0;
    let local = cities.ledger().local(me);
    loop {
        let base = if request.absolute {
            ""
        } else {
            session.target().base_path.as_str()
        };
        let started = session.started();
        let ticket = local.and_then(|local| {
            cities.recent().start(
                local,
                step,
                &[request.method.as_str(), " ", base, &request.path],
                started,
                Instant::now(),
            )
        });
        let Exchange {
            result,
            timing,
            sent,
            ended,
        } = session.send(step, request.build(session.target())).await;
        let times = Times {
            started,
            sent,
            first_byte: result.as_ref().ok().map(|r| r.first_byte),
            ended,
        };
        if let Some(ticket) = ticket {
            cities
                .recent()
                .end(ticket, started, sent, times.first_byte, ended);
        }
        let response = match result {
            Ok(response) => response,
            Err(error) => {
                let outcome = error.outcome();
                let label = request.label(session.target());
                let reason = format!("{}: {error}", cities.step_name(step));
                if outcome == Outcome::Timeout {
                    cities.keep(evidence(
                        cities,
                        session,
                        &times,
                        me,
                        step,
                        &label,
                        "a response",
                        &error.to_string(),
                        Outcome::Timeout,
                        None,
                        None,
                        &format!("user {me}: {label} timed out"),
                    ));
                }
                // No answer to show: the error is the example.
                cities.note_failure(step, &reason, &error.to_string());
                session.record(step, outcome, timing, Some(&reason));
                return None;
            }
        };
        request.absorb(&response.headers, &response.body);
        let status = response.status.as_u16();
        match cities
            .options()
            .api
            .redirect(session.target(), status, &response.headers)
        {
            Some(Redirect::Follow(to)) if redirects < MAX_REDIRECTS => {
                redirects += 1;
                cities.note_redirect(&request.label(session.target()), &to);
                request.path = to;
                request.absolute = true;
            }
            Some(Redirect::Refuse(why)) => {
                let reason = format!(
                    "{}: {why} (check {})",
                    cities.step_name(step),
                    request.path_setting
                );
                cities.note_failure(step, &reason, &describe(status, &response.body));
                session.record(step, Outcome::Fail, timing, Some(&reason));
                return None;
            }
            _ => {
                let label = request.label(session.target());
                return Some(Sent {
                    answer: Answer {
                        status,
                        headers: response.headers.into_map(),
                        body: response.body,
                    },
                    timing,
                    times,
                    label,
                });
            }
        }
    }
}

/// Records `verdict` on `sent`: its outcome, its reason (with an example answer, violations
/// included) and, for a violation, its evidence.
fn settle(
    cities: &Cities,
    session: &mut Session,
    me: usize,
    step: Step,
    sent: &Sent,
    verdict: &Verdict,
) {
    let answer = &sent.answer;
    match verdict {
        Verdict::Pass => {
            cities.note_pass();
            session.record(step, Outcome::Pass, sent.timing, None);
        }
        Verdict::Fail(failure) => {
            let reason = failure.shown(answer.status, cities.judge().verified);
            cities.note_failure(step, &reason, &describe(answer.status, &answer.body));
            session.record(step, Outcome::Fail, sent.timing, Some(&reason));
        }
        Verdict::Violation {
            outcome,
            kind,
            victim,
            record,
            expected,
            message,
        } => {
            let actual = describe(answer.status, &answer.body);
            cities.keep(evidence(
                cities,
                session,
                &sent.times,
                me,
                step,
                &sent.label,
                expected,
                &actual,
                *outcome,
                *victim,
                record.clone(),
                message,
            ));
            // Grouped by kind: the message names users and ids, the reason does not.
            cities.note_failure(step, kind, &actual);
            session.record(step, *outcome, sent.timing, Some(kind));
        }
    }
}

/// Seconds since the Unix epoch, now.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Records a refusal that a fresh login cured: the credential had expired, no violation.
fn expired(cities: &Cities, session: &mut Session, step: Step, sent: &Sent) {
    let reason = format!(
        "{}: refused with {}: the credential had expired (logged in again)",
        cities.step_name(step),
        sent.answer.status
    );
    let example = describe(sent.answer.status, &sent.answer.body);
    cities.note_failure(step, &reason, &example);
    session.record(step, Outcome::Fail, sent.timing, Some(&reason));
}

/// Logs identity `me` (the sender of `request`) in again, its pre-login and login recorded
/// under their steps, and answers the credential to send from now on; `None` when it cannot (a
/// provisioned token has no password) or the login fails. An identity with a jar logs in with
/// the recipe its jar keeps, once for all its tabs: when another tab did since `generation`,
/// the jar already holds the new session.
async fn log_in_again(
    cities: &Cities,
    session: &mut Session,
    me: usize,
    request: &ApiRequest,
    generation: Option<u64>,
) -> Option<Credential> {
    let options = cities.options();
    let api = &options.api;
    let steps = cities.steps_of();
    let judge = cities.judge();
    if let (Some(jar), Some(generation)) = (request.jar().filter(|j| j.can_relogin()), generation) {
        if !jar.clear_if(generation) {
            return request.credential.clone();
        }
        let mut fresh = request.credential.clone();
        for again in jar.relogin() {
            let pre_login = again.path_setting == "login.cookie-path";
            let step = if pre_login {
                steps.pre_login
            } else {
                steps.login
            }?;
            let base = again.credential.clone().unwrap_or_default();
            let sent = send(cities, session, me, step, again).await?;
            let (verdict, parsed) = if pre_login {
                (judge.pre_login(sent.answer.status), None)
            } else {
                let parsed = api.logged_in(&base, &sent.answer.headers, &sent.answer.body);
                let verdict = judge.logged_in(sent.answer.status, parsed.as_ref().err());
                (verdict, parsed.ok())
            };
            settle(cities, session, me, step, &sent, &verdict);
            if verdict != Verdict::Pass {
                return None;
            }
            if let Some((credential, _)) = parsed {
                fresh = Some(credential);
            }
        }
        return fresh;
    }
    let step = steps.login?;
    let run = options.run.as_str();
    let (email, password) = match api.provisioned(me) {
        Some(Provisioned::Credentials { email, password }) => (email.clone(), password.clone()),
        Some(Provisioned::Token { .. }) => return None,
        None => api.credentials(run, me),
    };
    let vars = Vars {
        run: Some(run),
        user: Some(me),
        email: Some(&email),
        password: Some(&password),
        ..Vars::default()
    };
    let base = api.base_credential(&vars).ok()?;
    let sent = send(cities, session, me, step, api.login(&base, &vars)).await?;
    let parsed = api.logged_in(&base, &sent.answer.headers, &sent.answer.body);
    let verdict = judge.logged_in(sent.answer.status, parsed.as_ref().err());
    settle(cities, session, me, step, &sent, &verdict);
    match (verdict, parsed) {
        (Verdict::Pass, Ok((credential, _))) => Some(credential),
        _ => None,
    }
}

/// One exchange's moments, for evidence and the ring of recent requests.
struct Times {
    started: Instant,
    sent: Instant,
    first_byte: Option<Instant>,
    ended: Instant,
}

impl Times {
    fn seconds(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.started).as_secs_f64()
    }
}

#[allow(clippy::too_many_arguments)]
fn evidence(
    cities: &Cities,
    session: &Session,
    times: &Times,
    me: usize,
    step: Step,
    request: &str,
    expected: &str,
    actual: &str,
    outcome: Outcome,
    victim: Option<usize>,
    record: Option<String>,
    message: &str,
) -> Evidence {
    let ledger = cities.ledger();
    let (sent_s, last_byte_s) = (times.seconds(times.sent), times.seconds(times.ended));
    let name = |step| cities.step_name(step);
    let overlapping = cities
        .recent()
        .overlapping(&ledger, me, victim, sent_s, last_byte_s, name);
    let mut recent = cities.recent().spans(&ledger, me, name);
    let others = victim
        .into_iter()
        .chain(overlapping.iter().map(|span| span.user))
        .filter(|&user| user != me);
    let mut seen = Vec::new();
    for user in others {
        if !seen.contains(&user) && seen.len() < 2 {
            seen.push(user);
            recent.extend(cities.recent().spans(&ledger, user, name));
        }
    }
    recent.sort_by(|a, b| a.sent_s.total_cmp(&b.sent_s));
    Evidence {
        class: outcome.as_str().into(),
        observer: me,
        observer_account: ledger.account(me).map(str::to_owned),
        victim,
        victim_account: victim.and_then(|v| ledger.account(v)).map(str::to_owned),
        record,
        step: cities.step_name(step).to_owned(),
        request: request.to_owned(),
        expected: expected.to_owned(),
        actual: actual.to_owned(),
        message: message.to_owned(),
        since_start_s: session.since_start().as_secs_f64(),
        in_flight: session.in_flight(),
        sent_s: Some(sent_s),
        first_byte_s: times.first_byte.map(|at| times.seconds(at)),
        last_byte_s: Some(last_byte_s),
        overlapping,
        recent,
    }
}

fn account_text(value: &Value) -> Option<String> {
    crate::api::template::scalar(value)
}

/// Registers identity `me` (or takes its provisioned account) and logs it in.
pub async fn log_in<T: Transport>(
    cities: &Cities,
    transport: &mut T,
    me: usize,
) -> Result<Identity, SetupError> {
    let options = cities.options();
    let api = &options.api;
    let steps = cities.steps_of();
    let judge = cities.judge();
    let run = options.run.as_str();
    let (email, password, ready) = match api.provisioned(me) {
        Some(Provisioned::Credentials { email, password }) => {
            (email.clone(), password.clone(), None)
        }
        Some(Provisioned::Token { token, account_id }) => (
            String::new(),
            String::new(),
            Some((token.clone(), account_id.clone())),
        ),
        None if api.registers() => {
            let (email, password) = api.credentials(run, me);
            (email, password, None)
        }
        None => {
            return Err(SetupError(format!(
                "identity {me} has no line in accounts.file ({} accounts for more identities: lower --users or add accounts)",
                api.provisioned_count()
            )));
        }
    };
    let vars = Vars {
        run: Some(run),
        user: Some(me),
        email: Some(&email),
        password: Some(&password),
        ..Vars::default()
    };
    let base = api
        .base_credential(&vars)
        .map_err(|m| SetupError(format!("user {me}: {m}")))?;
    // What logs this identity in again when the server ends its session.
    let mut relogin = Vec::new();
    if let (Some(step), Some(request)) = (steps.pre_login, api.pre_login(&base, &vars)) {
        relogin.push(request.clone());
        let answer = transport
            .exchange(cities, me, step, request, |a| judge.pre_login(a.status))
            .await;
        let Some((_, Verdict::Pass)) = answer else {
            return Err(SetupError(format!("user {me}: pre-login failed")));
        };
    }
    let mut account_id: Option<Value> = None;
    let mut credential = None;
    if let Some((token, id)) = ready {
        credential = Some(
            api.with_token(&base, &token)
                .map_err(|m| SetupError(m.to_string()))?,
        );
        account_id = id.map(Value::String);
    } else if let Some(step) = steps.register {
        let registered = transport
            .exchange(cities, me, step, api.register(&base, &vars), |a| {
                judge.registered(me, a.status, &a.body)
            })
            .await;
        let Some((answer, Verdict::Pass)) = registered else {
            return Err(SetupError(format!("user {me}: registration failed")));
        };
        let account = api.registered(&answer.body);
        account_id = account.id;
        if let Some(token) = account.token {
            credential = Some(
                api.with_token(&base, &token)
                    .map_err(|m| SetupError(m.to_string()))?,
            );
        }
    }
    let credential = match credential {
        Some(credential) => credential,
        None => {
            let step = steps.login.expect("always");
            let request = api.login(&base, &vars);
            relogin.push(request.clone());
            let mut parsed = None;
            let answer = transport
                .exchange(cities, me, step, request, |a| {
                    let result = api.logged_in(&base, &a.headers, &a.body);
                    let verdict = judge.logged_in(a.status, result.as_ref().err());
                    parsed = result.ok();
                    verdict
                })
                .await;
            let (Some((_, Verdict::Pass)), Some((credential, account))) = (answer, parsed) else {
                return Err(SetupError(format!("user {me}: login failed")));
            };
            if account_id.is_none() {
                account_id = account.id;
            }
            api.keep_relogin(&credential, relogin);
            credential
        }
    };
    if let Some(id) = account_id.as_ref().and_then(account_text) {
        cities.ledger().set_account(me, id);
    }
    // A retried set-up (its account already exists) still knows the id from the first try.
    let account_id = account_id.or_else(|| {
        cities
            .ledger()
            .account(me)
            .map(|id| Value::String(id.to_owned()))
    });
    let mut identity = Identity {
        credential,
        account_id,
    };
    // `me` says who the server takes the caller for; its id is the account id when not known
    // yet. When it is known, a wrong `me` is a finding (recorded), not a failed set-up.
    if let Some(step) = steps.me {
        let account = me_step(cities, transport, me, step, &identity).await;
        if identity.account_id.is_none() {
            let Some(account) = account else {
                return Err(SetupError(format!("user {me}: `me` failed")));
            };
            if let Some(id) = account_text(&account) {
                cities.ledger().set_account(me, id);
            }
            identity.account_id = Some(account);
        }
    }
    Ok(identity)
}

/// Asks `me`; returns the account id it answered when the check passed.
async fn me_step<T: Transport>(
    cities: &Cities,
    transport: &mut T,
    me: usize,
    step: Step,
    identity: &Identity,
) -> Option<Value> {
    let api = &cities.options().api;
    let judge = cities.judge();
    let vars = Vars {
        account_id: identity.account_id.as_ref(),
        ..Vars::default()
    };
    let request = api.me(&identity.credential, &vars)?;
    let mut id = None;
    let answer = transport
        .exchange(cities, me, step, request, |a| {
            let parsed = api.me_answer(&a.body);
            let text = parsed.as_ref().ok().and_then(account_text);
            let verdict = judge.me(
                me,
                a.status,
                &a.body,
                match (&parsed, &text) {
                    (Ok(_), Some(text)) => Ok(text.as_str()),
                    (Err(mismatch), _) => Err(mismatch),
                    (Ok(_), None) => unreachable!("me_answer returns scalars only"),
                },
            );
            id = parsed.ok();
            verdict
        })
        .await;
    match answer {
        Some((_, Verdict::Pass)) => id,
        _ => None,
    }
}

/// One iteration of `user`. `preflight_probe` forces the probe (the preflight walks every step
/// once); `create_only` stops after the read-back (the preflight's second identity).
pub async fn iteration<T: Transport>(
    cities: &Cities,
    transport: &mut T,
    user: &mut User,
    preflight_probe: bool,
) {
    iterate(cities, transport, user, preflight_probe, false).await;
}

pub(crate) async fn iterate<T: Transport>(
    cities: &Cities,
    transport: &mut T,
    user: &mut User,
    force_probe: bool,
    create_only: bool,
) {
    let options = cities.options();
    let api = &options.api;
    let steps = cities.steps_of();
    let ledger = cities.ledger();
    user.iterations += 1;
    user.seq += 1;
    // The tabs of one identity number their records apart: tab t makes t + 1, t + 1 + tabs, ...
    let seq = (user.seq - 1) * options.tabs.max(1) as u64 + user.tab + 1;
    let me = user.me;
    let marker = options.run.city(me, seq);
    let judge = cities.judge();
    let credential = user.identity.credential.clone();
    let account_id = user.identity.account_id.clone();
    let vars = Vars {
        run: Some(options.run.as_str()),
        user: Some(me),
        marker: Some(&marker),
        account_id: account_id.as_ref(),
        ..Vars::default()
    };

    let mut id = None;
    let created = transport
        .exchange(
            cities,
            me,
            steps.create,
            api.create(&credential, &vars),
            |a| {
                let record = api.record(&a.body);
                let verdict = judge.created(me, seq, &marker, a.status, &a.body, record.as_ref());
                id = record.ok().and_then(|r| r.id);
                verdict
            },
        )
        .await;
    let (Some((_, Verdict::Pass | Verdict::Violation { .. })), Some(id)) = (created, id) else {
        return;
    };
    if options.list_check {
        user.live.push_back((id.clone(), seq));
        user.live_count += 1;
        if user.live.len() > api.page_size() {
            user.live.pop_front();
        }
    }
    let vars = Vars {
        id: Some(&id),
        ..vars
    };
    let expected = Expected {
        id: &id,
        seq,
        marker: &marker,
        previous: None,
    };
    let readable = read_back(
        cities,
        transport,
        me,
        steps.read,
        "read",
        &credential,
        &vars,
        &expected,
    )
    .await;
    if create_only {
        return;
    }

    if let Some(step) = steps.anonymous
        && !force_probe
        && user.iterations.is_multiple_of(options.anonymous_every)
    {
        anonymous(cities, transport, me, step, &credential, &vars).await;
    }

    if let Some(step) = steps.me
        && options.me_check
    {
        me_step(cities, transport, me, step, &user.identity).await;
    }

    if let Some(step) = steps.list {
        // Complete only when every own record fits in one page and no other tab adds to it.
        let complete = options.tabs <= 1 && user.live_count <= api.page_size();
        user.live.make_contiguous();
        let live = user.live.as_slices().0;
        transport
            .exchange(cities, me, step, api.list(&credential, &vars), |a| {
                let page = api.page(&a.body);
                judge.listed(me, a.status, &a.body, page.as_ref(), live, complete)
            })
            .await;
    }

    if let Some(step) = steps.update
        && readable
    {
        let renamed = options.run.renamed_city(me, seq);
        let vars = Vars {
            marker: Some(&renamed),
            ..vars.clone()
        };
        let expected = Expected {
            id: &id,
            seq,
            marker: &renamed,
            previous: Some(&marker),
        };
        let updated = transport
            .exchange(cities, me, step, api.update(&credential, &vars), |a| {
                let record = api.record(&a.body);
                judge.own(me, "update", a.status, &a.body, record.as_ref(), &expected)
            })
            .await;
        if matches!(updated, Some((_, Verdict::Pass))) {
            read_back(
                cities,
                transport,
                me,
                steps.read,
                "read",
                &credential,
                &vars,
                &expected,
            )
            .await;
        }
    }

    let raced = match steps.resurrect {
        Some(step)
            if readable
                && !force_probe
                && user.iterations.is_multiple_of(options.resurrect_every) =>
        {
            match transport.sibling() {
                Some(sibling) => {
                    resurrect(cities, transport, sibling, user, step, &credential, &vars).await;
                    true
                }
                None => false,
            }
        }
        _ => false,
    };

    if let (Some(delete), Some(gone), false) = (steps.delete, steps.gone, raced) {
        let owner = Owner { user: me, seq };
        ledger.deleting(&id, owner);
        let deleted = transport
            .exchange(cities, me, delete, api.delete(&credential, &vars), |a| {
                judge.deleted(me, seq, &id, a.status, &a.body)
            })
            .await;
        // Forgotten whatever the answer: the id may now be given to another user's record.
        ledger.forget(&id, owner);
        if matches!(deleted, Some((_, Verdict::Pass))) {
            if let Some(at) = user.live.iter().rposition(|(live, _)| *live == id) {
                user.live.remove(at);
                user.live_count -= 1;
            }
            transport
                .exchange(cities, me, gone, api.read(&credential, &vars), |a| {
                    judge.gone(me, seq, &id, a.status, &a.body)
                })
                .await;
        }
    }

    if let Some(step) = steps.probe
        && (force_probe || user.iterations.is_multiple_of(options.probe_every))
        && let Some(foreign) = ledger.foreign_city(me, rand::random::<u32>() as usize)
    {
        let vars = Vars {
            id: Some(&foreign.id),
            ..vars.clone()
        };
        transport
            .exchange(cities, me, step, api.read(&credential, &vars), |a| {
                judge.probed(me, &foreign, a.status, &a.body)
            })
            .await;
    }
}

/// The `anonymous` check: user `me`'s own read (`vars.id`), list and create, each sent with every
/// forged credential that applies to its own; each must be refused.
async fn anonymous<T: Transport>(
    cities: &Cities,
    transport: &mut T,
    me: usize,
    step: Step,
    credential: &Credential,
    vars: &Vars<'_>,
) {
    let api = &cities.options().api;
    let judge = cities.judge();
    let vars = Vars {
        marker: Some(ANONYMOUS_MARKER),
        ..vars.clone()
    };
    for forged in Forged::ALL {
        let Some(anonymous) = forged.apply(credential) else {
            continue;
        };
        for asked in Asked::ALL {
            let request = match asked {
                Asked::Read => api.read(&anonymous, &vars),
                Asked::List => api.list(&anonymous, &vars),
                Asked::Create => api.create(&anonymous, &vars),
            };
            transport
                .exchange(cities, me, step, request, |a| {
                    judge.anonymous(me, asked, forged, a.status)
                })
                .await;
        }
    }
}

/// The `resurrect` check: the user renames its record (`vars.id`) and deletes it over a second
/// connection while the rename is in flight. Once the delete is acknowledged, a read and a list
/// must say it is gone: a racing update must not write it back.
async fn resurrect<T: Transport>(
    cities: &Cities,
    transport: &mut T,
    mut sibling: Sibling,
    user: &mut User,
    step: Step,
    credential: &Credential,
    vars: &Vars<'_>,
) {
    let options = cities.options();
    let api = &options.api;
    let judge = cities.judge();
    let ledger = cities.ledger();
    let me = user.me;
    let Some(id) = vars.id else { return };
    let seq = user.seq;
    let seq = (seq - 1) * options.tabs.max(1) as u64 + user.tab + 1;
    let renamed = options.run.renamed_city(me, seq);
    let renaming = Vars {
        marker: Some(&renamed),
        ..vars.clone()
    };
    let owner = Owner { user: me, seq };
    ledger.deleting(id, owner);
    // The update on the warm connection, the delete a moment later on the new one.
    let update = transport.exchange(cities, me, step, api.update(credential, &renaming), |a| {
        judge.raced_update(a.status)
    });
    let delete = async {
        tokio::time::sleep(RACE_STAGGER).await;
        sibling
            .exchange(cities, me, step, api.delete(credential, vars), |a| {
                judge.deleted(me, seq, id, a.status, &a.body)
            })
            .await
    };
    let (_, deleted) = tokio::join!(update, delete);
    ledger.forget(id, owner);
    if !matches!(deleted, Some((_, Verdict::Pass))) {
        return;
    }
    if let Some(at) = user.live.iter().rposition(|(live, _)| live == id) {
        user.live.remove(at);
        user.live_count -= 1;
    }
    transport
        .exchange(cities, me, step, api.read(credential, vars), |a| {
            judge.resurrected(me, seq, id, a.status, &a.body)
        })
        .await;
    transport
        .exchange(cities, me, step, api.list(credential, vars), |a| {
            let page = api.page(&a.body);
            judge.resurrected_in_list(me, seq, id, a.status, &a.body, page.as_ref())
        })
        .await;
}

#[allow(clippy::too_many_arguments)]
async fn read_back<T: Transport>(
    cities: &Cities,
    transport: &mut T,
    me: usize,
    step: Step,
    name: &str,
    credential: &Credential,
    vars: &Vars<'_>,
    expected: &Expected<'_>,
) -> bool {
    let api = &cities.options().api;
    let judge = cities.judge();
    let answer = transport
        .exchange(cities, me, step, api.read(credential, vars), |a| {
            let record = api.record(&a.body);
            judge.own(me, name, a.status, &a.body, record.as_ref(), expected)
        })
        .await;
    matches!(answer, Some((_, Verdict::Pass)))
}
