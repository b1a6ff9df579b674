//! What the faults did on one request: the request's facts (method, route, path, start time, a
//! snapshot of the settings) and the faults that fired on it, committed to the journal when the
//! response is ready.
//!
//! The scope travels in a tokio task-local set by [`super::layer`] around the handler, so handlers
//! reach it through `state.faults.request()` without an extra extractor. Requests get a scope only
//! while some fault is on.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use shared::admin::{AccessKind, JournalEntry};
use uuid::Uuid;

use super::{
    FaultId,
    fault::Registered,
    request::Firing,
    switchboard::{Settings, Shared},
};
use crate::store::CityRecord;

tokio::task_local! {
    static SCOPE: Arc<Scope>;
}

/// The current request's scope, if it has one.
pub fn current() -> Option<Arc<Scope>> {
    SCOPE.try_with(Arc::clone).ok()
}

/// Names of the faults that fired on the current request (none outside a scope): what the
/// request journal keeps, handed to the tracking layer by the composition root.
pub fn fired_now() -> Vec<&'static str> {
    current()
        .map(|scope| scope.fired_names())
        .unwrap_or_default()
}

/// Runs `future` (the rest of the request) with `scope` as its scope.
pub async fn run<F: Future>(scope: Arc<Scope>, future: F) -> F::Output {
    SCOPE.scope(scope, future).await
}

/// One fault that fired on a request, and what it really did.
#[derive(Debug, Clone)]
pub struct Fire {
    pub fault: FaultId,
    pub kind: AccessKind,
    /// The authenticated caller (filled from the bearer token at commit when absent).
    pub user: Option<Uuid>,
    /// Whose data was read or written.
    pub owner: Option<Uuid>,
    pub city_id: Option<String>,
    pub cross_user: bool,
    pub detail: String,
}

impl Fire {
    /// A fire that has not (yet) touched another user's data; `kind` from the HTTP method.
    pub fn new(fault: FaultId, scope_kind: AccessKind, detail: impl Into<String>) -> Self {
        Self {
            fault,
            kind: scope_kind,
            user: None,
            owner: None,
            city_id: None,
            cross_user: false,
            detail: detail.into(),
        }
    }
}

/// The fault side of one request.
#[derive(Debug)]
pub struct Scope {
    pub settings: Arc<Settings>,
    pub method: String,
    /// Route template (`/api/v1/cities/{id}`), or `(unmatched)`.
    pub route: String,
    /// Path and query, as the client sent them.
    pub uri: String,
    pub start: Instant,
    pub start_unix_ms: u64,
    fires: Mutex<Vec<Fire>>,
}

impl Scope {
    pub fn new(settings: Arc<Settings>, method: String, route: String, uri: String) -> Self {
        Self {
            settings,
            method,
            route,
            uri,
            start: Instant::now(),
            start_unix_ms: unix_ms_now(),
            fires: Mutex::new(Vec::new()),
        }
    }

    /// Fault `F`, if it is on for this request (no decision taken).
    pub fn on<F: Registered>(&self) -> Option<Firing<'_, F>> {
        self.settings.on[F::ID.index()].as_deref().map(Firing::new)
    }

    /// Fault `F`, when it is on and fires on this request (its `p` decision), once past its
    /// barrier (if armed): the start of a fault that acts at once, without a window of its own.
    pub async fn fires_now<F: Registered>(&self) -> Option<Firing<'_, F>> {
        let firing = self.on::<F>().filter(|firing| firing.decide())?;
        firing.pause(Duration::ZERO).await;
        Some(firing)
    }

    /// `read` for GET and HEAD, `write` for everything else.
    pub fn kind(&self) -> AccessKind {
        match self.method.as_str() {
            "GET" | "HEAD" => AccessKind::Read,
            _ => AccessKind::Write,
        }
    }

    fn fires(&self) -> std::sync::MutexGuard<'_, Vec<Fire>> {
        self.fires.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a fire; a second fire of the same fault on one request replaces the first.
    pub fn fire(&self, fire: Fire) {
        let mut fires = self.fires();
        match fires.iter_mut().find(|f| f.fault == fire.fault) {
            Some(existing) => *existing = fire,
            None => fires.push(fire),
        }
    }

    pub fn has_fired(&self, fault: FaultId) -> bool {
        self.fires().iter().any(|f| f.fault == fault)
    }

    /// Names of the faults that fired, for the response header.
    pub fn fired_names(&self) -> Vec<&'static str> {
        self.fires().iter().map(|f| f.fault.name()).collect()
    }

    /// Marks `fault`'s fire as a write into `owner`'s data.
    pub fn write(
        &self,
        fault: FaultId,
        user: Option<Uuid>,
        owner: Uuid,
        city_id: Option<&str>,
        cross_user: bool,
    ) {
        let mut fires = self.fires();
        let index = match fires.iter().position(|f| f.fault == fault) {
            Some(index) => index,
            None => {
                fires.push(Fire::new(fault, AccessKind::Write, ""));
                fires.len() - 1
            }
        };
        let fire = &mut fires[index];
        fire.kind = AccessKind::Write;
        fire.user = user.or(fire.user);
        fire.owner = Some(owner);
        fire.city_id = city_id.map(str::to_owned).or(fire.city_id.take());
        fire.cross_user |= cross_user;
        if fire.detail.is_empty() || cross_user {
            fire.detail = if cross_user {
                format!("the write landed in user {owner}'s data")
            } else {
                "the write landed in the caller's own data".to_owned()
            };
        }
    }

    /// Marks `fault`'s fire as a read that sent `user` the data `record.author` wrote.
    pub fn cross_read(&self, fault: FaultId, user: Uuid, record: &CityRecord) {
        let mut fires = self.fires();
        let index = match fires.iter().position(|f| f.fault == fault) {
            Some(index) => index,
            None => {
                fires.push(Fire::new(fault, AccessKind::Read, ""));
                fires.len() - 1
            }
        };
        let fire = &mut fires[index];
        fire.kind = AccessKind::Read;
        fire.user = Some(user);
        fire.owner = Some(record.author);
        fire.city_id = Some(record.city.id.clone());
        fire.cross_user = true;
        fire.detail = format!(
            "the response carried city {} written by user {}",
            record.city.id, record.author
        );
    }

    /// Turns the fires into journal entries, once the response head is ready. `status` is `None`
    /// when the connection is dropped instead; `token_user` resolves the caller of fires that do
    /// not name one.
    pub(super) fn commit(
        &self,
        shared: &Shared,
        status: Option<u16>,
        token_user: impl FnOnce() -> Option<Uuid>,
    ) {
        let fires = std::mem::take(&mut *self.fires());
        if fires.is_empty() {
            return;
        }
        let end = Instant::now();
        let end_unix_ms = unix_ms_now();
        let mut token_user = Some(token_user);
        let mut caller = None;
        for fire in fires {
            let user = match fire.user {
                Some(user) => Some(user),
                None => {
                    if let Some(resolve) = token_user.take() {
                        caller = resolve();
                    }
                    caller
                }
            };
            let entry = JournalEntry {
                seq: 0,
                fault: fire.fault.name().to_owned(),
                method: self.method.clone(),
                route: self.route.clone(),
                path: self.uri.split('?').next().unwrap_or_default().to_owned(),
                user: user.map(|u| u.to_string()),
                owner: fire.owner.map(|u| u.to_string()),
                kind: fire.kind,
                cross_user: fire.cross_user,
                city_id: fire.city_id,
                status,
                detail: fire.detail,
                start_ms: ms(shared.since_start(self.start)),
                end_ms: ms(shared.since_start(end)),
                start_unix_ms: self.start_unix_ms,
                end_unix_ms,
            };
            shared.commit(entry, fire.fault);
        }
    }
}

fn ms(duration: std::time::Duration) -> f64 {
    (duration.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

pub fn unix_ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}
