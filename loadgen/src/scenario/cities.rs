//! `loadgen cities`: the second article's test done right. Each virtual user registers a unique
//! identity, logs in with the OAuth2 form, then loops: create a city whose name carries its tag,
//! read it back, check — and, optionally, list, rename, delete and probe another user's city.
//!
//! Every response is judged against the oracle ([`ledger`] of who created what, [`markers`] in
//! every name) and ends in one outcome: `pass`, `fail`, `exception`, `timeout`, or a violation —
//! `leak` (another virtual user's data), `lost_write` (an acknowledged write missing) or `corrupt`
//! (own record with the wrong content). Violations leave [`evidence`] naming observer and victim.
//!
//! Layout: [`markers`] (run id, tags, scanner), [`ledger`] (who created which city), [`verdict`]
//! (pure judgement of a response), [`evidence`], [`shape`] (paths and fields of the API),
//! [`score`] (recall and precision against mock-server's ground-truth journal).

pub mod evidence;
pub mod ledger;
pub mod markers;
pub mod score;
pub mod shape;
pub mod verdict;

use std::sync::Arc;

use tokio::sync::OnceCell;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{
    Method, Request,
    header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue},
};

use self::{
    evidence::{Evidence, EvidenceLog, describe},
    ledger::Ledger,
    markers::RunId,
    shape::{Shape, TokenRequest},
    verdict::{Expected, Judge, Verdict},
};
use super::{Exchange, Scenario, Session, SetupError};
use crate::{checks::Outcome, stats::Step};

/// Settings of the scenario, from the plan.
#[derive(Debug, Clone)]
pub struct Options {
    pub run: RunId,
    pub shape: Shape,
    pub list_check: bool,
    pub update_check: bool,
    pub delete_check: bool,
    /// Probe another user's city every this many iterations (0: never).
    pub probe_every: u64,
    /// Local virtual users of this process.
    pub users: usize,
    /// Virtual users per identity ("browser tabs"): `tabs` users share one account and log in once,
    /// so one account's requests overlap, which a per-account race (`lost-update`) needs.
    pub tabs: usize,
    /// This process's index and the number of processes (`--worker-index`, `--workers`).
    pub worker_index: usize,
    pub workers: usize,
    pub max_evidence: usize,
}

/// The scenario, shared by every user.
#[derive(Debug)]
pub struct Cities {
    options: Options,
    steps: Steps,
    ledger: Arc<Ledger>,
    evidence: Arc<EvidenceLog>,
    /// Each local identity's `Authorization` header, made by the first of its tabs to log in.
    logins: Vec<OnceCell<HeaderValue>>,
}

/// Step indexes; optional steps exist only when enabled.
#[derive(Debug, Clone, Copy)]
struct Steps {
    register: Step,
    token: Step,
    create: Step,
    read: Step,
    list: Option<Step>,
    update: Option<Step>,
    delete: Option<Step>,
    gone: Option<Step>,
    probe: Option<Step>,
}

/// One virtual user's state.
#[derive(Debug)]
pub struct User {
    /// Global index of the identity across generator processes.
    me: usize,
    /// Which of the identity's tabs this virtual user is (0 when `--tabs 1`).
    tab: u64,
    auth: HeaderValue,
    seq: u64,
    iterations: u64,
    /// Own cities that should exist, oldest first (kept for `--list-check` only).
    live: Vec<(String, u64)>,
}

/// Largest page `--list-check` asks for; beyond it only the newest page is checked.
const LIST_LIMIT: usize = 1000;

impl Cities {
    pub fn new(options: Options) -> Self {
        let mut names = vec!["register", "token", "create", "read"];
        let mut optional = |enabled: bool, name: &'static str| {
            enabled.then(|| {
                names.push(name);
                Step(names.len() - 1)
            })
        };
        let list = optional(options.list_check, "list");
        let update = optional(options.update_check, "update");
        let delete = optional(options.delete_check, "delete");
        let gone = optional(options.delete_check, "gone");
        let probe = optional(options.probe_every > 0, "probe");
        let steps = Steps {
            register: Step(0),
            token: Step(1),
            create: Step(2),
            read: Step(3),
            list,
            update,
            delete,
            gone,
            probe,
        };
        let identities = options.users.div_ceil(options.tabs.max(1));
        let ledger = Ledger::new(identities, options.worker_index, options.workers);
        let evidence = EvidenceLog::new(options.max_evidence);
        Self {
            options,
            steps,
            ledger: Arc::new(ledger),
            evidence: Arc::new(evidence),
            logins: (0..identities).map(|_| OnceCell::new()).collect(),
        }
    }

    pub fn ledger(&self) -> Arc<Ledger> {
        self.ledger.clone()
    }

    pub fn evidence(&self) -> Arc<EvidenceLog> {
        self.evidence.clone()
    }

    fn judge(&self) -> Judge<'_> {
        Judge {
            run: &self.options.run,
            ledger: &self.ledger,
            shape: &self.options.shape,
        }
    }

    fn city_path(&self, id: &str) -> String {
        format!("{}/{id}", self.options.shape.cities_path)
    }

    /// Sends `request` and records its verdict under `step`; returns the response body on a
    /// response, whatever the verdict.
    async fn exchange(
        &self,
        session: &mut Session,
        me: usize,
        step: Step,
        request: Request<Full<Bytes>>,
        judge: impl FnOnce(u16, &[u8]) -> Verdict,
    ) -> Option<(u16, Bytes, Verdict)> {
        // Method and URI are reference-counted: kept for evidence, formatted only on a violation.
        let (method, uri) = (request.method().clone(), request.uri().clone());
        let label = || format!("{method} {}", uri.path());
        let Exchange { result, timing } = session.send(step, request).await;
        let response = match result {
            Ok(response) => response,
            Err(error) => {
                let outcome = error.outcome();
                if outcome == Outcome::Timeout {
                    self.keep(
                        session,
                        me,
                        step,
                        &label(),
                        "a response",
                        &error.to_string(),
                        Outcome::Timeout,
                        None,
                        &format!("user {me}: {} timed out", label()),
                    );
                }
                session.record(step, outcome, timing, Some(&error.to_string()));
                return None;
            }
        };
        let status = response.status.as_u16();
        let verdict = judge(status, &response.body);
        match &verdict {
            Verdict::Pass => session.record(step, Outcome::Pass, timing, None),
            Verdict::Fail(reason) => session.record(step, Outcome::Fail, timing, Some(reason)),
            Verdict::Violation {
                outcome,
                victim,
                expected,
                message,
            } => {
                let actual = describe(status, &response.body);
                self.keep(
                    session,
                    me,
                    step,
                    &label(),
                    expected,
                    &actual,
                    *outcome,
                    *victim,
                    message,
                );
                session.record(step, *outcome, timing, Some(message));
            }
        }
        Some((status, response.body, verdict))
    }

    /// Keeps evidence of a violation.
    #[allow(clippy::too_many_arguments)]
    fn keep(
        &self,
        session: &Session,
        me: usize,
        step: Step,
        request: &str,
        expected: &str,
        actual: &str,
        outcome: Outcome,
        victim: Option<usize>,
        message: &str,
    ) {
        self.evidence.add(Evidence {
            class: outcome.as_str().into(),
            observer: me,
            observer_account: self.ledger.account(me).map(str::to_owned),
            victim,
            victim_account: victim
                .and_then(|v| self.ledger.account(v))
                .map(str::to_owned),
            step: self.step_name(step).to_owned(),
            request: request.to_owned(),
            expected: expected.to_owned(),
            actual: actual.to_owned(),
            message: message.to_owned(),
            since_start_s: session.since_start().as_secs_f64(),
            in_flight: session.in_flight(),
        });
    }

    fn step_name(&self, step: Step) -> &'static str {
        let s = self.steps;
        let named = [
            (Some(s.register), "register"),
            (Some(s.token), "token"),
            (Some(s.create), "create"),
            (Some(s.read), "read"),
            (s.list, "list"),
            (s.update, "update"),
            (s.delete, "delete"),
            (s.gone, "gone"),
            (s.probe, "probe"),
        ];
        named
            .iter()
            .find(|(candidate, _)| *candidate == Some(step))
            .map_or("?", |(_, name)| name)
    }

    fn authorized(&self, user: &User, mut request: Request<Full<Bytes>>) -> Request<Full<Bytes>> {
        request
            .headers_mut()
            .insert(AUTHORIZATION, user.auth.clone());
        request
    }

    /// Registers identity `me` and logs it in; returns its `Authorization` header.
    async fn log_in(&self, session: &mut Session, me: usize) -> Result<HeaderValue, SetupError> {
        let run = &self.options.run;
        let shape = &self.options.shape;
        let (email, password) = (run.email(me), run.password(me));
        let judge = self.judge();

        let register = session.target().json_request(
            Method::POST,
            &shape.register_path,
            &serde_json::json!({"email": email, "password": password}),
        );
        let registered = self
            .exchange(
                session,
                me,
                self.steps.register,
                register,
                |status, body| judge.registered(me, status, body),
            )
            .await;
        match &registered {
            Some((_, body, Verdict::Pass)) => {
                if let Some(id) = judge.field(body, "id") {
                    self.ledger.set_account(me, id);
                }
            }
            // A retried set-up finds its own earlier registration.
            Some((409, _, _)) => {}
            _ => return Err(SetupError(format!("user {me}: registration failed"))),
        }

        let token = match shape.token_request {
            TokenRequest::Form => {
                let form = format!(
                    "username={}&password={}",
                    urlencode(&email),
                    urlencode(&password)
                );
                let mut request =
                    session
                        .target()
                        .request(Method::POST, &shape.token_path, Bytes::from(form));
                request.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                );
                request
            }
            TokenRequest::Json => session.target().json_request(
                Method::POST,
                &shape.token_path,
                &serde_json::json!({"username": email, "password": password}),
            ),
        };
        let token_field = shape.token_field.clone();
        let answer = self
            .exchange(session, me, self.steps.token, token, |status, body| {
                judge.token(me, status, body, &token_field)
            })
            .await;
        let Some((_, body, Verdict::Pass)) = answer else {
            return Err(SetupError(format!("user {me}: login failed")));
        };
        let token = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|value| value.get(&token_field)?.as_str().map(str::to_owned))
            .ok_or_else(|| {
                SetupError(format!("user {me}: no {token_field} in the token response"))
            })?;
        let auth = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| SetupError(format!("user {me}: the token is not a valid header value")))?;
        Ok(auth)
    }

    async fn read_back(
        &self,
        session: &mut Session,
        user: &User,
        id: &str,
        expected: &Expected<'_>,
    ) -> bool {
        let request = self.authorized(
            user,
            session
                .target()
                .request(Method::GET, &self.city_path(id), Bytes::new()),
        );
        let judge = self.judge();
        let result = self
            .exchange(
                session,
                user.me,
                self.steps.read,
                request,
                |status, body| judge.own_city(user.me, status, body, expected),
            )
            .await;
        matches!(result, Some((_, _, Verdict::Pass)))
    }
}

impl Scenario for Cities {
    type User = User;

    fn steps(&self) -> Vec<String> {
        (0..)
            .map(Step)
            .map(|step| self.step_name(step))
            .take_while(|name| *name != "?")
            .map(str::to_owned)
            .collect()
    }

    async fn setup(&self, session: &mut Session) -> Result<User, SetupError> {
        let tabs = self.options.tabs.max(1);
        let local = session.user() / tabs;
        let me = self.ledger.global(local);
        let auth = self.logins[local]
            .get_or_try_init(|| self.log_in(session, me))
            .await?
            .clone();
        Ok(User {
            me,
            tab: (session.user() % tabs) as u64,
            auth,
            seq: 0,
            iterations: 0,
            live: Vec::new(),
        })
    }

    async fn iteration(&self, user: &mut User, session: &mut Session) {
        user.iterations += 1;
        user.seq += 1;
        // The tabs of one identity number their cities apart: tab t makes t + 1, t + 1 + tabs, ...
        let seq = (user.seq - 1) * self.options.tabs.max(1) as u64 + user.tab + 1;
        let me = user.me;
        let name = self.options.run.city(me, seq);
        let judge = self.judge();
        let create = self.authorized(
            user,
            session.target().json_request(
                Method::POST,
                &self.options.shape.cities_path,
                &serde_json::json!({"name": name}),
            ),
        );
        let created = self
            .exchange(session, me, self.steps.create, create, |status, body| {
                judge.created(me, seq, &name, status, body)
            })
            .await;
        let Some((_, body, Verdict::Pass | Verdict::Violation { .. })) = created else {
            return;
        };
        let Some(id) = judge.field(&body, "id") else {
            return;
        };
        if self.options.list_check {
            user.live.push((id.clone(), seq));
        }

        let expected = Expected {
            id: &id,
            seq,
            name: &name,
            previous: None,
        };
        let readable = self.read_back(session, user, &id, &expected).await;

        if let Some(step) = self.steps.list {
            // With tabs the list also holds the other tabs' cities: check the first page.
            let offset = if self.options.tabs > 1 {
                0
            } else {
                user.live.len().saturating_sub(LIST_LIMIT)
            };
            let path = format!(
                "{}?limit={LIST_LIMIT}&offset={offset}",
                self.options.shape.cities_path
            );
            let request = self.authorized(
                user,
                session.target().request(Method::GET, &path, Bytes::new()),
            );
            let live = &user.live[offset..];
            let exact = self.options.tabs <= 1;
            self.exchange(session, me, step, request, |status, body| {
                judge.listed(me, status, body, live, exact)
            })
            .await;
        }

        if let Some(step) = self.steps.update
            && readable
        {
            let renamed = self.options.run.renamed_city(me, seq);
            let request = self.authorized(
                user,
                session.target().json_request(
                    Method::PUT,
                    &self.city_path(&id),
                    &serde_json::json!({"name": renamed}),
                ),
            );
            let expected = Expected {
                id: &id,
                seq,
                name: &renamed,
                previous: Some(&name),
            };
            let updated = self
                .exchange(session, me, step, request, |status, body| {
                    judge.own_city(me, status, body, &expected)
                })
                .await;
            if matches!(updated, Some((_, _, Verdict::Pass))) {
                self.read_back(session, user, &id, &expected).await;
            }
        }

        if let (Some(delete), Some(gone)) = (self.steps.delete, self.steps.gone) {
            let request = self.authorized(
                user,
                session
                    .target()
                    .request(Method::DELETE, &self.city_path(&id), Bytes::new()),
            );
            let deleted = self
                .exchange(session, me, delete, request, |status, body| {
                    judge.deleted(me, seq, &id, status, body)
                })
                .await;
            if matches!(deleted, Some((_, _, Verdict::Pass))) {
                user.live.retain(|(live, _)| *live != id);
                let request = self.authorized(
                    user,
                    session
                        .target()
                        .request(Method::GET, &self.city_path(&id), Bytes::new()),
                );
                self.exchange(session, me, gone, request, |status, body| {
                    judge.gone(me, seq, &id, status, body)
                })
                .await;
            }
        }

        if let Some(step) = self.steps.probe
            && user.iterations.is_multiple_of(self.options.probe_every)
            && let Some(foreign) = self.ledger.foreign_city(me, rand::random::<u32>() as usize)
        {
            let request = self.authorized(
                user,
                session
                    .target()
                    .request(Method::GET, &self.city_path(&foreign.id), Bytes::new()),
            );
            self.exchange(session, me, step, request, |status, body| {
                judge.probed(me, &foreign, status, body)
            })
            .await;
        }
    }
}

/// Percent-encodes a form value (RFC 3986 unreserved characters pass).
fn urlencode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_percent_encoded() {
        assert_eq!(
            urlencode("rb1.u7@racebench.test"),
            "rb1.u7%40racebench.test"
        );
        assert_eq!(urlencode("a b&c=d"), "a%20b%26c%3Dd");
    }

    #[test]
    fn optional_steps_are_named_only_when_enabled() {
        let options = Options {
            run: RunId::parse("t").unwrap(),
            shape: Shape::default(),
            list_check: true,
            update_check: false,
            delete_check: true,
            probe_every: 0,
            users: 2,
            tabs: 1,
            worker_index: 0,
            workers: 1,
            max_evidence: 20,
        };
        let cities = Cities::new(options);
        assert_eq!(
            cities.steps(),
            [
                "register", "token", "create", "read", "list", "delete", "gone"
            ]
        );
    }
}
