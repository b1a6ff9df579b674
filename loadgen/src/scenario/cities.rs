//! The isolation test (`loadgen isolation --api FILE`, and `loadgen cities`, the second article's
//! preset). Each virtual user gets its own account (registered, or from an accounts file), logs in,
//! then loops: create a record whose marker field carries its tag, read it back, check — and list,
//! rename, delete, probe another user's record and ask `me`, as enabled.
//!
//! Every request is built and every answer parsed by the API description ([`crate::api::Api`]);
//! every answer is judged against the oracle ([`ledger`] of who created what, [`markers`] in
//! every marker field, account ids in owner fields) and ends in one outcome: `pass`, `fail`,
//! `exception`, `timeout`, or a violation — `leak` (another virtual user's data), `lost_write` (an
//! acknowledged write missing), `corrupt` (own record with the wrong content) or `denied` (the
//! user refused its own action while its credential was valid).
//! Violations leave [`evidence`] naming observer and victim.
//!
//! Before the load, [`Cities::prepare`] walks every enabled step with one user, serially
//! ([`preflight`]): any mismatch stops the run as a set-up error naming the request, the answer
//! and the setting to change, so a wrong description never shows up as a violation.
//!
//! Layout: [`markers`] (run id, tags, scanner), [`ledger`] (who created which record), [`verdict`]
//! (pure judgement of an answer), [`evidence`], [`recent`] (each user's latest requests, for
//! the racing pair), [`walk`] (the steps, over any transport),
//! [`preflight`], [`score`] (recall and precision against mock-server's ground-truth journal).

pub mod evidence;
pub mod ledger;
pub mod markers;
pub mod preflight;
pub mod recent;
pub mod score;
pub mod verdict;
pub mod walk;

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::sync::OnceCell;

use self::{
    evidence::{Evidence, EvidenceLog},
    ledger::Ledger,
    markers::RunId,
    recent::RecentRequests,
    walk::{Identity, LoadTransport},
};
use super::{Findings, Scenario, Session, SetupError, findings::FailureExample};
use crate::{
    api::{Api, Credential},
    client::Target,
    stats::Step,
};
use hyper::header::HeaderValue;

/// Settings of the scenario, from the plan.
#[derive(Debug, Clone)]
pub struct Options {
    pub run: RunId,
    pub api: Arc<Api>,
    pub list_check: bool,
    pub update_check: bool,
    pub delete_check: bool,
    /// Ask `me` on every iteration (needs `login.me-path`).
    pub me_check: bool,
    /// Probe another user's record every this many iterations (0: never).
    pub probe_every: u64,
    /// Send the own read, list and create without a valid credential every this many
    /// iterations (0: never): the `anonymous` check.
    pub anonymous_every: u64,
    /// Race the own update against the delete every this many iterations, then read and list
    /// (0: never): the `resurrect` check.
    pub resurrect_every: u64,
    /// Local virtual users of this process.
    pub users: usize,
    /// Virtual users per identity ("browser tabs"): `tabs` users share one account and log in once,
    /// so one account's requests overlap, which a per-account race (`lost-update`) needs.
    pub tabs: usize,
    /// This process's index and the number of processes (`--worker-index`, `--workers`).
    pub worker_index: usize,
    pub workers: usize,
    pub max_evidence: usize,
    /// Walk every step with one user before the load (`--no-preflight` turns it off).
    pub preflight: bool,
    /// Per-request timeout (the preflight's too).
    pub timeout: Duration,
    /// The admin API to score against (`--score`).
    pub score: Option<String>,
    /// The admin API whose fault switches the report marks (`--score` or `--admin-url`).
    pub admin: Option<String>,
    /// Violation classes that do not fail the run.
    pub allow: Vec<&'static str>,
    /// Name of the login step: `login`, or `token` in the `cities` preset (as in the article).
    pub login_step: &'static str,
}

/// The scenario, shared by every user.
#[derive(Debug)]
pub struct Cities {
    options: Options,
    steps: Steps,
    ledger: Arc<Ledger>,
    evidence: Arc<EvidenceLog>,
    /// Each local identity's latest requests, for evidence timelines.
    recent: RecentRequests,
    /// Each local identity's credential, made by the first of its tabs to log in.
    logins: Vec<OnceCell<Identity>>,
    /// A preflight passed with this description (set by [`Cities::prepare`]): see
    /// [`verdict::Judge::verified`].
    verified: AtomicBool,
    /// Per local identity: a fresh credential that replaces an expired one (the original's value,
    /// the fresh credential), made when a refused request passed after a new login.
    relogged: Vec<Mutex<Option<(HeaderValue, Credential)>>>,
    /// Whether any check passed, and how many identities logged in.
    passed: AtomicBool,
    logged_in: AtomicU64,
    /// Same-origin redirects followed.
    redirects: AtomicU64,
    /// Sessions the server ended that were established again.
    relogins: AtomicU64,
    /// One example answer per distinct failure reason (touched only when a check fails).
    examples: Mutex<Vec<FailureExample>>,
    hints: Mutex<Vec<String>>,
    journal: OnceCell<score::Journal>,
    /// The preflight's users, picked up by tab 0 of their identity so that their records count.
    seeded: Vec<Mutex<Option<User>>>,
    /// Requests the preflight sent, per step index (it runs serially: the lock is never
    /// contended), and how many identities had logged in when it ended.
    preflight_sent: Mutex<Vec<u64>>,
    preflight_users: AtomicU64,
}

/// Step indexes; optional steps exist only when enabled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Steps {
    /// The `GET` that sets cookies before register and login (`login.cookie-path`).
    pub pre_login: Option<Step>,
    pub register: Option<Step>,
    pub login: Option<Step>,
    pub me: Option<Step>,
    pub create: Step,
    pub read: Step,
    pub list: Option<Step>,
    pub update: Option<Step>,
    pub delete: Option<Step>,
    pub gone: Option<Step>,
    pub probe: Option<Step>,
    /// The `anonymous` check's requests.
    pub anonymous: Option<Step>,
    /// The `resurrect` check's race (update and delete) and the reads after it.
    pub resurrect: Option<Step>,
}

/// One virtual user's state.
#[derive(Debug)]
pub struct User {
    /// Global index of the identity across generator processes.
    pub(crate) me: usize,
    /// Which of the identity's tabs this virtual user is (0 when `--tabs 1`).
    pub(crate) tab: u64,
    pub(crate) identity: Identity,
    pub(crate) seq: u64,
    pub(crate) iterations: u64,
    /// The newest own records that should exist (at most one page), oldest first (kept for the
    /// list check only).
    pub(crate) live: VecDeque<(String, u64)>,
    /// How many own records should exist in all.
    pub(crate) live_count: usize,
}

/// Distinct failure reasons kept with an example answer.
const MAX_EXAMPLES: usize = 20;

impl Cities {
    pub fn new(options: Options) -> Self {
        let mut names = Vec::new();
        let mut optional = |enabled: bool, name: &'static str| {
            enabled.then(|| {
                names.push(name);
                Step(names.len() - 1)
            })
        };
        let registers = options.api.registers();
        let pre_login = optional(options.api.has_pre_login(), "pre-login");
        let register = optional(registers, "register");
        let login = optional(true, options.login_step);
        let me = optional(options.api.has_me(), "me");
        let create = optional(true, "create").expect("always");
        let read = optional(true, "read").expect("always");
        let list = optional(options.list_check, "list");
        let update = optional(options.update_check, "update");
        let delete = optional(options.delete_check, "delete");
        let gone = optional(options.delete_check, "gone");
        let probe = optional(options.probe_every > 0, "probe");
        let anonymous = optional(options.anonymous_every > 0, "anonymous");
        let resurrect = optional(options.resurrect_every > 0, "resurrect");
        let steps = Steps {
            pre_login,
            register,
            login,
            me,
            create,
            read,
            list,
            update,
            delete,
            gone,
            probe,
            anonymous,
            resurrect,
        };
        let identities = options.users.div_ceil(options.tabs.max(1));
        let ledger = Ledger::new(identities, options.worker_index, options.workers);
        let evidence = EvidenceLog::new(options.max_evidence);
        Self {
            options,
            steps,
            ledger: Arc::new(ledger),
            evidence: Arc::new(evidence),
            recent: RecentRequests::new(identities),
            logins: (0..identities).map(|_| OnceCell::new()).collect(),
            verified: AtomicBool::new(false),
            relogged: (0..identities).map(|_| Mutex::new(None)).collect(),
            passed: AtomicBool::new(false),
            logged_in: AtomicU64::new(0),
            redirects: AtomicU64::new(0),
            relogins: AtomicU64::new(0),
            examples: Mutex::new(Vec::new()),
            hints: Mutex::new(Vec::new()),
            journal: OnceCell::new(),
            seeded: (0..identities).map(|_| Mutex::new(None)).collect(),
            preflight_sent: Mutex::new(Vec::new()),
            preflight_users: AtomicU64::new(0),
        }
    }

    pub fn ledger(&self) -> Arc<Ledger> {
        self.ledger.clone()
    }

    pub(crate) fn options(&self) -> &Options {
        &self.options
    }

    pub(crate) fn steps_of(&self) -> Steps {
        self.steps
    }

    pub(crate) fn judge(&self) -> verdict::Judge<'_> {
        verdict::Judge {
            run: &self.options.run,
            ledger: &self.ledger,
            api: &self.options.api,
            verified: self.verified.load(Ordering::Relaxed),
        }
    }

    /// Marks the description as proven against this server (a preflight passed with it), so a
    /// refused own create or list is a violation and failures stop naming description keys.
    pub(crate) fn mark_verified(&self) {
        self.verified.store(true, Ordering::Relaxed);
    }

    /// `credential`, or the fresh one that replaced it after it expired (identity `me`).
    pub(crate) fn current_credential(&self, me: usize, credential: Credential) -> Credential {
        let Some(slot) = self.ledger.local(me).and_then(|l| self.relogged.get(l)) else {
            return credential;
        };
        match &*slot.lock().unwrap_or_else(|e| e.into_inner()) {
            Some((original, fresh))
                if credential
                    .header
                    .as_ref()
                    .is_some_and(|(_, v)| v == original) =>
            {
                fresh.clone()
            }
            _ => credential,
        }
    }

    /// From now on identity `me` sends `fresh` instead of `original` (which expired).
    pub(crate) fn replace_credential(&self, me: usize, original: &Credential, fresh: Credential) {
        // A session needs none: the identity's tabs share its jar.
        let Some((_, value)) = &original.header else {
            return;
        };
        if let Some(slot) = self.ledger.local(me).and_then(|l| self.relogged.get(l)) {
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some((value.clone(), fresh));
        }
    }

    pub(crate) fn note_pass(&self) {
        if !self.passed.load(Ordering::Relaxed) {
            self.passed.store(true, Ordering::Relaxed);
        }
    }

    /// Counts one request the preflight sent under `step` (each retry included).
    pub(crate) fn note_preflight_request(&self, step: Step) {
        if let Ok(mut sent) = self.preflight_sent.lock() {
            if sent.len() <= step.0 {
                sent.resize(step.0 + 1, 0);
            }
            sent[step.0] += 1;
        }
    }

    /// What the preflight sent, for the report; `None` without a preflight.
    fn preflight_figures(&self) -> Option<super::findings::PreflightFigures> {
        let sent = self.preflight_sent.lock().ok()?;
        if sent.is_empty() {
            return None;
        }
        let requests = sent
            .iter()
            .enumerate()
            .filter(|(_, count)| **count > 0)
            .map(|(step, count)| super::findings::StepCount {
                name: self.step_name(Step(step)).to_owned(),
                count: *count,
            })
            .collect();
        Some(super::findings::PreflightFigures {
            requests,
            users: self.preflight_users.load(Ordering::Relaxed),
        })
    }

    pub(crate) fn note_redirect(&self, from: &str, to: &str) {
        if self.redirects.fetch_add(1, Ordering::Relaxed) == 0 {
            self.hint(format!(
                "{from} answered a redirect to {to}: loadgen follows it, but every such request costs two; write the path the server redirects to in the API description"
            ));
        }
    }

    /// A session the server ended (a refusal of `request` naming it) is being established again.
    pub(crate) fn note_relogin(&self, request: &str) {
        if self.relogins.fetch_add(1, Ordering::Relaxed) == 0 {
            self.hint(format!(
                "{request} was refused as if the session had ended: the identity logged in again (login.cookie-path, login.path) and sent it once more before judging; the login step counts every such login"
            ));
        }
    }

    pub(crate) fn hint(&self, hint: String) {
        if let Ok(mut hints) = self.hints.lock()
            && !hints.contains(&hint)
            && hints.len() < 10
        {
            hints.push(hint);
        }
    }

    /// Keeps one example answer for a failure reason the first time it is seen.
    pub(crate) fn note_failure(&self, step: Step, reason: &str, example: &str) {
        let Ok(mut examples) = self.examples.lock() else {
            return;
        };
        let name = self.step_name(step);
        if examples.len() < MAX_EXAMPLES
            && !examples
                .iter()
                .any(|e| e.name == name && e.reason == reason)
        {
            examples.push(FailureExample {
                name: name.to_owned(),
                reason: reason.to_owned(),
                example: example.to_owned(),
            });
        }
    }

    pub(crate) fn recent(&self) -> &RecentRequests {
        &self.recent
    }

    pub(crate) fn keep(&self, evidence: Evidence) {
        self.evidence.add(evidence);
    }

    pub(crate) fn step_name(&self, step: Step) -> &'static str {
        let s = self.steps;
        let named = [
            (s.pre_login, "pre-login"),
            (s.register, "register"),
            (s.login, self.options.login_step),
            (s.me, "me"),
            (Some(s.create), "create"),
            (Some(s.read), "read"),
            (s.list, "list"),
            (s.update, "update"),
            (s.delete, "delete"),
            (s.gone, "gone"),
            (s.probe, "probe"),
            (s.anonymous, "anonymous"),
            (s.resurrect, "resurrect"),
        ];
        named
            .iter()
            .find(|(candidate, _)| *candidate == Some(step))
            .map_or("?", |(_, name)| name)
    }

    /// The identity of local identity `local`, logging it in with `transport` the first time.
    pub(crate) async fn identity<T: walk::Transport>(
        &self,
        transport: &mut T,
        local: usize,
    ) -> Result<Identity, SetupError> {
        let me = self.ledger.global(local);
        let identity = self.logins[local]
            .get_or_try_init(|| async {
                let identity = walk::log_in(self, transport, me).await?;
                self.logged_in.fetch_add(1, Ordering::Relaxed);
                Ok::<_, SetupError>(identity)
            })
            .await?;
        Ok(identity.clone())
    }

    /// Local identities of this process.
    pub(crate) fn identities(&self) -> usize {
        self.logins.len()
    }

    /// Hands the preflight's `user` of identity `local` over to the load.
    pub(crate) fn seed_user(&self, local: usize, user: User) {
        if let Ok(mut slot) = self.seeded[local].lock() {
            *slot = Some(user);
        }
    }

    /// The user an earlier preflight walk handed over, so a second walk numbers its records on.
    pub(crate) fn take_seeded(&self, local: usize) -> Option<User> {
        self.seeded[local]
            .lock()
            .ok()
            .and_then(|mut slot| slot.take())
    }

    pub(crate) fn new_user(&self, local: usize, tab: u64, identity: Identity) -> User {
        User {
            me: self.ledger.global(local),
            tab,
            identity,
            seq: 0,
            iterations: 0,
            live: VecDeque::new(),
            live_count: 0,
        }
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

    async fn prepare(&self, target: &Arc<Target>) -> Result<(), String> {
        if let Some(admin) = &self.options.score {
            let journal = score::Journal::open(admin).await?;
            let _ = self.journal.set(journal);
        }
        if self.options.preflight {
            let walked = preflight::run(self, target).await;
            self.preflight_users
                .store(self.logged_in.load(Ordering::Relaxed), Ordering::Relaxed);
            walked.map_err(|e| e.to_string())?;
            self.mark_verified();
        }
        Ok(())
    }

    async fn setup(&self, session: &mut Session) -> Result<User, SetupError> {
        let tabs = self.options.tabs.max(1);
        let local = session.user() / tabs;
        let identity = self.identity(&mut LoadTransport { session }, local).await?;
        let tab = (session.user() % tabs) as u64;
        if tab == 0
            && let Some(user) = self.take_seeded(local)
        {
            return Ok(user);
        }
        Ok(self.new_user(local, tab, identity))
    }

    async fn iteration(&self, user: &mut User, session: &mut Session) {
        walk::iteration(self, &mut LoadTransport { session }, user, false).await;
    }

    async fn finish(&self) -> Findings {
        let mut findings = Findings {
            evidence: self.evidence.evidence(),
            leaked_records: Some(self.evidence.leaked_records()),
            allowed: self.options.allow.clone(),
            redirects: self.redirects.load(Ordering::Relaxed),
            hints: self.hints.lock().map(|h| h.clone()).unwrap_or_default(),
            failure_examples: self.examples.lock().map(|e| e.clone()).unwrap_or_default(),
            ledger: Some(super::findings::LedgerFigures {
                records: self.ledger.len() as u64,
                window: self.ledger.window() as u64,
                evicted: self.ledger.evicted(),
                deleted: self.ledger.deleted(),
            }),
            preflight: self.preflight_figures(),
            ..Findings::default()
        };
        if self.logged_in.load(Ordering::Relaxed) == 0 {
            findings.tested_nothing = Some(
                "no user could log in (see the login and register failure reasons)".to_owned(),
            );
        } else if !self.passed.load(Ordering::Relaxed) {
            findings.tested_nothing = Some("no check passed".to_owned());
        }
        if let Some(journal) = self.journal.get() {
            match journal.score(&self.ledger, &self.evidence.leaks()).await {
                Ok(score) => findings.score = Some(score),
                Err(error) => findings.hints.push(format!("--score: {error}")),
            }
        }
        if let Some(admin) = &self.options.admin {
            match score::fault_switches(admin).await {
                Ok(switches) => findings.fault_switches = switches,
                Err(error) => findings
                    .hints
                    .push(format!("the HTML charts mark no fault switches: {error}")),
            }
        }
        findings
    }
}
