//! `loadgen replay`: each attempt registers and logs in two fresh users (new accounts, a new run
//! id), lets each create one record and read it back — through the isolation test's own steps and
//! a preflight-like transport, so a set-up that does not pass stops with its request, answer and
//! setting (exit 2) — then sends the racing pair together ([`super::race`]) and judges both
//! answers with the isolation test's verdicts. An attempt reproduces when the observer's verdict
//! has the expected class (and, for a leak, shows the victim's data).

use std::{path::PathBuf, sync::Arc, time::Duration};

use super::{
    curl::{self, Sent},
    file::{Order, Repro},
    race::{self, Raced},
};
use crate::{
    api::{Api, ApiRequest, Description, Vars, template::scalar},
    client::{self, Client, Target},
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

/// Settings of a replay.
#[derive(Debug, Clone)]
pub struct Options {
    pub base_url: String,
    pub attempts: u32,
    pub timeout: Duration,
    /// Between the observer's last byte and the victim's.
    pub stagger: Duration,
    /// Between attempts.
    pub pause: Duration,
    pub emit_curl: Option<PathBuf>,
}

/// What the attempts gave.
#[derive(Debug, Default)]
pub struct Replayed {
    pub attempts: u32,
    /// Attempts whose racing pair got both answers.
    pub ran: u32,
    pub reproduced: u32,
    /// Other verdicts of the observer, counted (`pass`, `leak (roles reversed)`...).
    pub others: Vec<(String, u32)>,
    /// What the expected verdict is, in words.
    pub expected: String,
    /// A set-up error (exit 2).
    pub setup: Option<String>,
    /// Why attempts did not run (the first reason).
    pub no_answer: Option<String>,
    /// Set-ups that stopped and were done again with fresh users, and the first one's reason.
    pub setups_redone: u32,
    pub redone_because: Option<String>,
    /// With two possible orders (`or-else`), the one that reproduced first, kept from then on.
    pub kept_order: Option<Order>,
    /// The orders tried, in words (`together, then victim-first`), when the file gives two.
    pub orders: Option<String>,
}

impl Replayed {
    /// The one line (two with other verdicts) replay prints.
    pub fn summary(&self) -> String {
        if let Some(setup) = &self.setup {
            return format!("replay: set-up error: {setup}");
        }
        if self.ran == 0 {
            return format!(
                "replay: no attempt could run ({})",
                self.no_answer.as_deref().unwrap_or("no answer")
            );
        }
        let mut line = if self.reproduced > 0 {
            format!(
                "REPRODUCED {}/{}: {}",
                self.reproduced, self.ran, self.expected
            )
        } else {
            format!("FIXED after {} attempts: never {}", self.ran, self.expected)
        };
        if self.ran < self.attempts {
            line.push_str(&format!(
                " ({} of {} attempts got no answer: {})",
                self.attempts - self.ran,
                self.attempts,
                self.no_answer.as_deref().unwrap_or("?")
            ));
        }
        if let Some(orders) = &self.orders {
            match self.kept_order {
                Some(kept) => line.push_str(&format!(
                    " (order {}: it reproduced first of {orders}, kept from then on)",
                    order_name(kept)
                )),
                None => line.push_str(&format!(" (both orders tried in turn: {orders})")),
            }
        }
        if self.setups_redone > 0 {
            line.push_str(&format!(
                "\n{} set-up(s) stopped and were done again with fresh users (a race under the bug can break a lone set-up too); the first: {}",
                self.setups_redone,
                self.redone_because.as_deref().unwrap_or("?")
            ));
        }
        if !self.others.is_empty() {
            let others: Vec<String> = self
                .others
                .iter()
                .map(|(what, n)| format!("{what} {n}"))
                .collect();
            line.push_str(&format!(
                "\nother verdicts of the observer: {}",
                others.join(", ")
            ));
        }
        line
    }

    /// 1 reproduced, 0 fixed, 2 set-up error, 3 no attempt ran.
    pub fn code(&self) -> u8 {
        if self.setup.is_some() {
            2
        } else if self.ran == 0 {
            3
        } else if self.reproduced > 0 {
            1
        } else {
            0
        }
    }

    fn count(&mut self, what: String) {
        match self.others.iter_mut().find(|(w, _)| *w == what) {
            Some((_, n)) => *n += 1,
            None => self.others.push((what, 1)),
        }
    }
}

/// Why an attempt stopped.
enum Stopped {
    /// A set-up step did not pass, or the racing pair cannot be built: exit 2.
    Setup(String),
    /// A racing request got no answer: the attempt did not run.
    NoAnswer(String),
}

/// An order as the file spells it.
fn order_name(order: Order) -> &'static str {
    match order {
        Order::Together => "together",
        Order::VictimFirst => "victim-first",
    }
}

/// Set-ups of one attempt before its set-up error stops the replay.
const SETUP_TRIES: u32 = 3;

/// Observer and victim, as the ledger numbers them.
const OBSERVER: usize = 0;
const VICTIM: usize = 1;

/// Runs every attempt.
pub async fn replay(repro: &Repro, options: &Options) -> Replayed {
    let mut replayed = Replayed {
        attempts: options.attempts,
        expected: expected_text(repro),
        orders: repro
            .race
            .or_else
            .map(|other| format!("{} and {}", order_name(repro.race.order), order_name(other))),
        ..Replayed::default()
    };
    let api = match api_of(repro) {
        Ok(api) => Arc::new(api),
        Err(error) => {
            replayed.setup = Some(error);
            return replayed;
        }
    };
    let target = match Target::resolve_with(&options.base_url, &client::Options::default()).await {
        Ok(target) => Arc::new(target),
        Err(error) => {
            replayed.setup = Some(format!("--base-url {}: {error}", options.base_url));
            return replayed;
        }
    };
    for attempt in 0..options.attempts {
        if attempt > 0 && !options.pause.is_zero() {
            tokio::time::sleep(options.pause).await;
        }
        let mut sent = options
            .emit_curl
            .is_some()
            .then(Vec::new)
            .filter(|_| attempt == 0);
        // With two possible orders and none reproduced yet, attempts alternate between them.
        let order = match (replayed.kept_order, repro.race.or_else) {
            (Some(kept), _) => kept,
            (None, Some(other)) if attempt % 2 == 1 => other,
            _ => repro.race.order,
        };
        let mut outcome = attempt_once(repro, order, &api, &target, options, sent.as_mut()).await;
        // A set-up that stopped is done again, up to SETUP_TRIES in all: a wrong description
        // stops every one the same way, while the bug under test (a racy counter gone backwards
        // by an earlier overlap) can break a lone create now and then.
        for _ in 1..SETUP_TRIES {
            let Err(Stopped::Setup(error)) = &outcome else {
                break;
            };
            replayed.setups_redone += 1;
            replayed.redone_because.get_or_insert_with(|| error.clone());
            if let Some(sent) = sent.as_mut() {
                sent.clear();
            }
            outcome = attempt_once(repro, order, &api, &target, options, sent.as_mut()).await;
        }
        match outcome {
            Ok(Some(verdict)) => {
                replayed.ran += 1;
                match judge_attempt(repro, &verdict) {
                    Ok(()) => {
                        replayed.reproduced += 1;
                        if repro.race.or_else.is_some() {
                            replayed.kept_order.get_or_insert(order);
                        }
                    }
                    Err(other) => replayed.count(other),
                }
            }
            Ok(None) => {}
            Err(Stopped::Setup(error)) => {
                replayed.setup = Some(error);
                return replayed;
            }
            Err(Stopped::NoAnswer(why)) => {
                replayed.no_answer.get_or_insert(why);
            }
        }
        if let (Some(path), Some(sent)) = (&options.emit_curl, sent) {
            let script = curl::script(repro, &target, &options.base_url, &sent);
            if let Err(error) = std::fs::write(path, script) {
                replayed.setup = Some(format!("cannot write {}: {error}", path.display()));
                return replayed;
            }
        }
    }
    replayed
}

fn expected_text(repro: &Repro) -> String {
    match &repro.expected.victim {
        Some(_) => format!(
            "{} seen by the observer ({}) with the victim's data ({})",
            repro.expected.class, repro.observer.race, repro.victim.race
        ),
        None => format!(
            "{} seen by the observer ({}, racing the other user's {})",
            repro.expected.class, repro.observer.race, repro.victim.race
        ),
    }
}

fn api_of(repro: &Repro) -> Result<Api, String> {
    let description = Description::from_table(repro.api.clone(), "[api] in the reproduction")?;
    Api::new(description)
}

/// Whether the observer's verdict is the expected one; else what it was.
fn judge_attempt(repro: &Repro, verdict: &Verdict) -> Result<(), String> {
    match verdict {
        Verdict::Violation {
            outcome, victim, ..
        } if outcome.as_str() == repro.expected.class => {
            if repro.expected.victim.is_none() || *victim == Some(VICTIM) {
                Ok(())
            } else {
                Err(format!("{} (another user's data)", outcome.as_str()))
            }
        }
        Verdict::Violation { outcome, .. } => Err(outcome.as_str().to_owned()),
        Verdict::Pass => Err("pass".to_owned()),
        Verdict::Fail(failure) => Err(format!("fail ({})", failure.reason)),
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
        users: 2,
        tabs: 1,
        worker_index: 0,
        workers: 1,
        max_evidence: 0,
        preflight: false,
        timeout,
        score: None,
        allow: Vec::new(),
        login_step: "login",
    })
}

/// A transport that notes every request (for `--emit-curl`) before the preflight's sends it.
struct Noting<'a> {
    inner: PreflightTransport,
    sent: Option<&'a mut Vec<Sent>>,
}

impl Transport for Noting<'_> {
    async fn exchange(
        &mut self,
        cities: &Cities,
        me: usize,
        step: Step,
        request: ApiRequest,
        judge: impl FnOnce(&Answer) -> Verdict + Send,
    ) -> Option<(Answer, Verdict)> {
        if let Some(sent) = self.sent.as_deref_mut() {
            sent.push(Sent {
                who: role_name(me),
                step: cities.step_name(step).to_owned(),
                request: request.clone(),
                racing: false,
            });
        }
        self.inner.exchange(cities, me, step, request, judge).await
    }
}

fn role_name(me: usize) -> &'static str {
    if me == OBSERVER { "observer" } else { "victim" }
}

/// One attempt: the observer's verdict, `None` when the racing pair got no answer.
async fn attempt_once(
    repro: &Repro,
    order: Order,
    api: &Arc<Api>,
    target: &Arc<Target>,
    options: &Options,
    mut sent: Option<&mut Vec<Sent>>,
) -> Result<Option<Verdict>, Stopped> {
    let timeout = options.timeout;
    let cities = scenario(api, timeout);
    let mut users = Vec::new();
    for (local, role) in [&repro.observer, &repro.victim].into_iter().enumerate() {
        let mut transport = Noting {
            inner: PreflightTransport::new(target, timeout),
            sent: sent.as_deref_mut(),
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
    let bytes = |r: &Racing| race::serialize(&r.request.build(target), &r.request.sent_body());
    let [first, second] = race::race(
        target,
        &bytes(&mine),
        &bytes(&theirs),
        order,
        options.stagger,
        timeout,
    )
    .await;
    let (first, second) = match (first, second) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return Err(Stopped::NoAnswer(e.to_string())),
    };
    // The victim's answer first: what it created is in the ledger when the observer's is judged
    // (an id given to both).
    theirs.judge(&cities, &mut victim, &second);
    let verdict = mine.judge(&cities, &mut observer, &first);
    let Some(then) = &repro.observer.then else {
        return Ok(Some(verdict));
    };
    // The race's effect shows in a later answer of the observer's (its read-back).
    let check = Racing::build(&cities, &observer, &victim, then)?;
    let mut client = Client::to(target);
    let answer = tokio::time::timeout(timeout, client.send(check.request.build(target))).await;
    let answer = match answer {
        Ok(Ok(response)) => Raced {
            status: response.status.as_u16(),
            headers: response.headers.into_map(),
            body: response.body,
        },
        Ok(Err(error)) => return Err(Stopped::NoAnswer(format!("{then}: {error}"))),
        Err(_) => {
            return Err(Stopped::NoAnswer(format!(
                "{then}: no answer within {timeout:?}"
            )));
        }
    };
    Ok(Some(check.judge(&cities, &mut observer, &answer)))
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
            Stopped::Setup(format!(
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
                        Stopped::Setup(
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
                return Err(Stopped::Setup(format!("`{other}` cannot race")));
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
