//! One attempt of a reproduction: two fresh users (new accounts, a new run id) registered, logged
//! in and given one record each through the isolation test's own steps and a preflight-like
//! transport, then the racing pair sent as the order says ([`super::race`]), then the observer's
//! `then` step. Every answer is judged by the isolation test's verdicts and counted in a
//! [`Seen`]; the attempt reproduces when the observer's racing answer or its `then` answer has
//! the expected verdict, and it counts (was exercised) only when both racing requests were
//! answered and, released together, their answers overlapped in time.

use std::{sync::Arc, time::Duration};

use super::{
    curl::Sent,
    file::{Order, Repro},
    race::{self, Raced},
    seen::{Phase, Seen},
};
use crate::{
    api::{Api, ApiRequest, Description, Vars, template::scalar},
    client::{Client, Target},
    scenario::cities::{
        self, Cities, User,
        ledger::Recent,
        markers::RunId,
        preflight::PreflightTransport,
        verdict::{Expected, Verdict},
        walk::{self, Answer, Transport},
    },
    stats::Step,
};

/// How the racing pair is sent.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub timeout: Duration,
    /// Between the observer's last byte and the victim's (`together`).
    pub stagger: Duration,
}

/// What one attempt gave.
#[derive(Debug)]
pub struct Attempt {
    /// The observer got the expected verdict (racing answer or `then`).
    pub reproduced: bool,
    /// `Err(why)` when the race was not really exercised (the two answers did not overlap in
    /// time): such an attempt is no evidence either way.
    pub exercised: Result<(), String>,
}

/// Why an attempt stopped.
#[derive(Debug)]
pub enum Stopped {
    /// A set-up step did not pass: exit 2 once it repeats.
    Setup(String),
    /// This racing pair cannot be built from the description (a `me` without `login.me-path`,
    /// a `read` without a record): exit 2, but another pair may do.
    Pair(String),
    /// A racing request got no answer: the attempt did not run.
    NoAnswer(String),
}

/// Observer and victim, as the ledger numbers them.
pub const OBSERVER: usize = 0;
pub const VICTIM: usize = 1;

/// The role's name in tables and messages.
pub fn role_name(me: usize) -> &'static str {
    if me == OBSERVER { "observer" } else { "victim" }
}

/// The reproduction's API adapter (its inline `[api]`).
pub fn api_of(repro: &Repro) -> Result<Api, String> {
    let description = Description::from_table(repro.api.clone(), "[api] in the reproduction")?;
    Api::new(description)
}

/// The expected verdict, in words.
pub fn expected_text(repro: &Repro) -> String {
    let observer = match &repro.observer.then {
        Some(then) => format!("{}, then {then}", repro.observer.race),
        None => repro.observer.race.clone(),
    };
    match &repro.expected.victim {
        Some(_) => format!(
            "{} seen by the observer ({observer}) with the victim's data ({})",
            repro.expected.class, repro.victim.race
        ),
        None => format!(
            "{} seen by the observer ({observer}, racing the other user's {})",
            repro.expected.class, repro.victim.race
        ),
    }
}

/// Whether the observer's verdict is the expected one.
fn matches(repro: &Repro, verdict: &Verdict) -> bool {
    match verdict {
        Verdict::Violation {
            outcome, victim, ..
        } if outcome.as_str() == repro.expected.class => {
            repro.expected.victim.is_none() || *victim == Some(VICTIM)
        }
        _ => false,
    }
}

/// The isolation test's options for two users of a fresh run.
fn scenario(api: &Arc<Api>, timeout: Duration) -> Cities {
    Cities::new(cities::Options {
        run: RunId::random(),
        api: api.clone(),
        // Keeps each user's records, for `list` and the read-back.
        list_check: true,
        update_check: false,
        delete_check: false,
        me_check: false,
        probe_every: 0,
        anonymous_every: 0,
        resurrect_every: 0,
        users: 2,
        tabs: 1,
        worker_index: 0,
        workers: 1,
        max_evidence: 0,
        preflight: false,
        timeout,
        score: None,
        admin: None,
        allow: Vec::new(),
        login_step: "login",
    })
}

/// A transport that notes every request (for `--emit-curl`) and counts every set-up answer
/// before the preflight's transport sends it.
struct Noting<'a> {
    inner: PreflightTransport,
    target: &'a Arc<Target>,
    sent: Option<&'a mut Vec<Sent>>,
    seen: &'a mut Seen,
}

impl Transport for Noting<'_> {
    async fn exchange(
        &mut self,
        cities: &Cities,
        me: usize,
        step: Step,
        request: ApiRequest,
        mut judge: impl FnMut(&Answer) -> Verdict + Send,
    ) -> Option<(Answer, Verdict)> {
        let name = cities.step_name(step).to_owned();
        let label = request.label(self.target);
        if let Some(sent) = self.sent.as_deref_mut() {
            sent.push(Sent {
                who: role_name(me),
                step: name.clone(),
                request: request.clone(),
                racing: false,
            });
        }
        let mut judged: Option<(Verdict, u16, bytes::Bytes)> = None;
        let slot = &mut judged;
        let noted = |answer: &Answer| {
            let verdict = judge(answer);
            *slot = Some((verdict.clone(), answer.status, answer.body.clone()));
            verdict
        };
        let result = self.inner.exchange(cities, me, step, request, noted).await;
        let at = (Phase::Setup, role_name(me), name.as_str());
        match &judged {
            Some((verdict, status, body)) => self.seen.note(at, &label, verdict, *status, body),
            None => self.seen.no_answer(at, &label, "no answer"),
        }
        result
    }
}

/// One attempt of `repro` in `order`, counting what it saw into `seen`.
pub async fn run(
    repro: &Repro,
    order: Order,
    api: &Arc<Api>,
    target: &Arc<Target>,
    settings: Settings,
    mut sent: Option<&mut Vec<Sent>>,
    seen: &mut Seen,
) -> Result<Attempt, Stopped> {
    let timeout = settings.timeout;
    let cities = scenario(api, timeout);
    let mut users = Vec::new();
    for (local, role) in [&repro.observer, &repro.victim].into_iter().enumerate() {
        let mut transport = Noting {
            inner: PreflightTransport::new(target, timeout),
            target,
            sent: sent.as_deref_mut(),
            seen: &mut *seen,
        };
        let identity = cities.identity(&mut transport, local).await;
        let problem = transport.inner.problem();
        let identity = match (identity, problem) {
            (_, Some(problem)) => return Err(Stopped::Setup(problem)),
            (Err(error), None) => return Err(Stopped::Setup(error.0)),
            (Ok(identity), None) => identity,
        };
        let mut user = cities.new_user(local, 0, identity);
        if role.setup.iter().any(|step| step == "create") {
            walk::iterate(&cities, &mut transport, &mut user, false, true).await;
            if let Some(problem) = transport.inner.problem() {
                return Err(Stopped::Setup(problem));
            }
            if user.live.is_empty() {
                return Err(Stopped::Setup(format!(
                    "{}'s set-up create did not pass",
                    role_name(local)
                )));
            }
        }
        users.push(user);
    }
    // Both set-ups passed with this description: from here a refused own action is `denied`
    // (a violation), as in an isolation run whose preflight passed.
    cities.mark_verified();
    let [observer, victim] = <[User; 2]>::try_from(users).expect("two users");
    let (mut observer, mut victim) = (observer, victim);
    let mine = Racing::build(&cities, &observer, &victim, &repro.observer.race)?;
    let theirs = Racing::build(&cities, &victim, &observer, &repro.victim.race)?;
    if let Some(sent) = sent {
        for (who, racing, step) in [
            ("observer", &mine, &repro.observer.race),
            ("victim", &theirs, &repro.victim.race),
        ] {
            sent.push(Sent {
                who,
                step: step.clone(),
                request: racing.request.clone(),
                racing: true,
            });
        }
    }
    // `build` adds the identity's headers, its jar's cookies and CSRF header as of now; the body
    // carries a CSRF field when the description says so.
    let bytes = |r: &Racing| race::serialize(&r.request.build(target), &r.request.sent_body());
    let [first, second] = race::race(
        target,
        &bytes(&mine),
        &bytes(&theirs),
        order,
        settings.stagger,
        timeout,
    )
    .await;
    let (first, second) = match (first, second) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            let why = e.to_string();
            for (who, racing) in [("observer", &mine), ("victim", &theirs)] {
                seen.no_answer(
                    (Phase::Race, who, &racing.step),
                    &racing.request.label(target),
                    &why,
                );
            }
            return Err(Stopped::NoAnswer(why));
        }
    };
    let exercised = match order {
        order if order.is_together() && !first.overlapped(&second) => Err(format!(
            "the two answers did not overlap in time (one came back before the other request was complete; the server answered faster than --stagger {})",
            shared::duration::format_duration(settings.stagger)
        )),
        _ => Ok(()),
    };
    // The victim's answer first: what it created is in the ledger when the observer's is judged
    // (an id given to both).
    let victims = theirs.judge(&cities, &mut victim, &second);
    seen.note(
        (Phase::Race, "victim", &theirs.step),
        &theirs.request.label(target),
        &victims,
        second.status,
        &second.body,
    );
    let verdict = mine.judge(&cities, &mut observer, &first);
    seen.note(
        (Phase::Race, "observer", &mine.step),
        &mine.request.label(target),
        &verdict,
        first.status,
        &first.body,
    );
    let mut reproduced = matches(repro, &verdict);
    if let Some(then) = &repro.observer.then {
        // The race's effect shows in a later answer of the observer's (its read-back).
        let check = Racing::build(&cities, &observer, &victim, then)?;
        let label = check.request.label(target);
        let mut client = Client::to(target);
        let answer = tokio::time::timeout(timeout, client.send(check.request.build(target))).await;
        let answer = match answer {
            Ok(Ok(response)) => Raced {
                status: response.status.as_u16(),
                headers: response.headers.into_map(),
                body: response.body,
                released: None,
                first_byte: None,
            },
            Ok(Err(error)) => {
                seen.no_answer((Phase::Then, "observer", then), &label, &error.to_string());
                return Err(Stopped::NoAnswer(format!("{then}: {error}")));
            }
            Err(_) => {
                let why = format!("no answer within {timeout:?}");
                seen.no_answer((Phase::Then, "observer", then), &label, &why);
                return Err(Stopped::NoAnswer(format!("{then}: {why}")));
            }
        };
        let later = check.judge(&cities, &mut observer, &answer);
        seen.note(
            (Phase::Then, "observer", then),
            &label,
            &later,
            answer.status,
            &answer.body,
        );
        reproduced |= matches(repro, &later);
    }
    Ok(Attempt {
        reproduced,
        exercised,
    })
}

/// One racing request, built by the API adapter for `user`, and what its answer should be.
struct Racing {
    step: String,
    request: ApiRequest,
    /// The record it is about (`read`, `update`, `delete`), or that it makes (`create`).
    id: Option<String>,
    seq: u64,
    marker: String,
    previous: Option<String>,
    foreign: Option<Recent>,
}

impl Racing {
    fn build(cities: &Cities, user: &User, other: &User, step: &str) -> Result<Self, Stopped> {
        let options = cities.options();
        let api = &options.api;
        let run = &options.run;
        let me = user.me;
        let credential = &user.identity.credential;
        let (own_id, own_seq) = user
            .live
            .back()
            .cloned()
            .map_or((None, 0), |(id, seq)| (Some(id), seq));
        let mut racing = Racing {
            step: step.to_owned(),
            request: api.create(credential, &Vars::default()),
            id: own_id.clone(),
            seq: own_seq,
            marker: run.city(me, own_seq),
            previous: None,
            foreign: None,
        };
        let needs_record = |what: &str| {
            Stopped::Pair(format!(
                "the racing `{what}` needs a record: add `create` to {}'s setup",
                role_name(me)
            ))
        };
        match step {
            "create" => {
                racing.seq = user.seq + 1;
                racing.marker = run.city(me, racing.seq);
                racing.id = None;
                racing.request = api.create(credential, &var(cities, user, &racing.marker, None));
            }
            "read" => {
                let id = own_id.ok_or_else(|| needs_record("read"))?;
                racing.request =
                    api.read(credential, &var(cities, user, &racing.marker, Some(&id)));
            }
            "list" => {
                racing.request = api.list(credential, &var(cities, user, &racing.marker, None));
            }
            "update" => {
                let id = own_id.ok_or_else(|| needs_record("update"))?;
                racing.previous = Some(racing.marker.clone());
                racing.marker = run.renamed_city(me, own_seq);
                racing.request =
                    api.update(credential, &var(cities, user, &racing.marker, Some(&id)));
            }
            "delete" => {
                let id = own_id.ok_or_else(|| needs_record("delete"))?;
                racing.request =
                    api.delete(credential, &var(cities, user, &racing.marker, Some(&id)));
            }
            "me" => {
                racing.request = api
                    .me(credential, &var(cities, user, &racing.marker, None))
                    .ok_or_else(|| {
                        Stopped::Pair(
                            "the racing `me` needs login.me-path in the API description".into(),
                        )
                    })?;
            }
            "probe" => {
                let (id, seq) = other
                    .live
                    .back()
                    .cloned()
                    .ok_or_else(|| needs_record("probe"))?;
                racing.request =
                    api.read(credential, &var(cities, user, &racing.marker, Some(&id)));
                racing.foreign = Some(Recent {
                    id,
                    owner: cities::ledger::Owner {
                        user: other.me,
                        seq,
                    },
                });
            }
            other => {
                return Err(Stopped::Pair(format!("`{other}` cannot race")));
            }
        }
        Ok(racing)
    }

    /// The isolation test's verdict on `answer`; a create's new record joins the user's records.
    fn judge(&self, cities: &Cities, user: &mut User, answer: &Raced) -> Verdict {
        let judge = cities.judge();
        let api = &cities.options().api;
        let (status, body) = (answer.status, &answer.body[..]);
        let me = user.me;
        match self.step.as_str() {
            "create" => {
                let record = api.record(body);
                let verdict =
                    judge.created(me, self.seq, &self.marker, status, body, record.as_ref());
                if let Some(id) = record.ok().and_then(|r| r.id) {
                    user.seq = self.seq;
                    user.live.push_back((id, self.seq));
                    user.live_count += 1;
                }
                verdict
            }
            "read" | "update" => {
                let id = self.id.clone().unwrap_or_default();
                let expected = Expected {
                    id: &id,
                    seq: self.seq,
                    marker: &self.marker,
                    previous: self.previous.as_deref(),
                };
                let record = api.record(body);
                judge.own(me, &self.step, status, body, record.as_ref(), &expected)
            }
            "list" => {
                user.live.make_contiguous();
                let page = api.page(body);
                judge.listed(
                    me,
                    status,
                    body,
                    page.as_ref(),
                    user.live.as_slices().0,
                    true,
                )
            }
            "delete" => {
                let id = self.id.clone().unwrap_or_default();
                judge.deleted(me, self.seq, &id, status, body)
            }
            "me" => {
                let parsed = api.me_answer(body);
                let text = parsed.as_ref().ok().and_then(scalar);
                match (&parsed, &text) {
                    (Err(mismatch), _) => judge.me(me, status, body, Err(mismatch)),
                    (Ok(_), Some(text)) => judge.me(me, status, body, Ok(text)),
                    (Ok(value), None) => judge.me(me, status, body, Ok(&value.to_string())),
                }
            }
            "probe" => match &self.foreign {
                Some(foreign) => judge.probed(me, foreign, status, body),
                None => Verdict::Pass,
            },
            _ => Verdict::Pass,
        }
    }
}

/// The template variables of `user`'s request about `marker` (and record `id`).
fn var<'a>(cities: &'a Cities, user: &'a User, marker: &'a str, id: Option<&'a str>) -> Vars<'a> {
    Vars {
        run: Some(cities.options().run.as_str()),
        user: Some(user.me),
        marker: Some(marker),
        id,
        account_id: user.identity.account_id.as_ref(),
        ..Vars::default()
    }
}
