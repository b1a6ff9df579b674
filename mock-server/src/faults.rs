//! The race-condition fault catalogue: the [`Faults`] handle every request consults, the switch
//! that turns faults on and off at start and at run time, the `p`/`seed` decision, and the
//! ground-truth journal of what each fired fault really did.
//!
//! Layout (one file per fault family, the buggy path beside its correct twin):
//! - [`catalogue`]: names, summaries, parameters, the `NAME[:key=value,...]` parser.
//! - [`identity`] `shared-identity`, [`ids`] `racy-id`, [`cache`] `unscoped-cache`,
//!   [`registration`] `register-race`, [`replication`] `stale-read`, [`authz`] `bola`,
//!   [`lists`] `lost-update`, [`pool`] `pool-starvation`, [`generic`] `error-rate`, `reset`,
//!   `slow-body`.
//! - [`barrier`]: `barrier=K`; [`journal`]: the ring buffer; [`scope`]: what one request did;
//!   [`layer`]: the tower layer that opens a request's scope and commits it to the journal.
//!
//! Cost when every fault is off: the layer reads one atomic flag and passes the request on without
//! allocating; handlers find no request scope (one task-local read) and run the correct twins.
//! Only while a fault is on does a request load the settings (`ArcSwap`, lock-free) and get a
//! scope.

pub mod authz;
pub mod barrier;
pub mod cache;
pub mod catalogue;
pub mod generic;
pub mod identity;
pub mod ids;
pub mod journal;
pub mod layer;
pub mod lists;
pub mod pool;
pub mod registration;
pub mod replication;
pub mod scope;

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use arc_swap::ArcSwap;
use shared::admin::{
    AccessKind, FaultView, FaultsUpdate, FaultsView, JournalEntry, fault_counters,
};
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::store::{CityRecord, Store};

pub use catalogue::{FaultId, FaultSpec, Params, SpecError};
pub use journal::DEFAULT_JOURNAL_SIZE;
pub use layer::FaultLayer;
pub use scope::Fire;

use barrier::Barrier;
use catalogue::FAULT_COUNT;
use scope::Scope;

/// How faults are set up at start (from the CLI or the TOML file).
#[derive(Debug, Clone)]
pub struct FaultConfig {
    pub enabled: Vec<FaultSpec>,
    /// Name the faults that fired in an `x-racebench-faults` response header.
    pub header: bool,
    pub journal_size: usize,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            enabled: Vec::new(),
            header: false,
            journal_size: DEFAULT_JOURNAL_SIZE,
        }
    }
}

/// Handle to the catalogue's state; cheap to clone, one per server.
#[derive(Debug, Clone)]
pub struct Faults {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// Whether requests need a scope (`Settings::active`), as one flag: the only thing the
    /// request path reads while every fault is off (a relaxed load, a plain read on x86).
    active: AtomicBool,
    /// What is switched on. Read lock-free by requests that need a scope; replaced whole on a
    /// change.
    settings: ArcSwap<Settings>,
    /// Serialises writers of `settings` (run-time switches, taint, reset); readers never take it.
    writer: Mutex<()>,
    /// Some user's data was written by another user (a planted leak). While set, requests get a
    /// scope even with every fault off, so reading such data is still journalled.
    tainted: AtomicBool,
    store: Store,
    started: Instant,
    journal: journal::Journal,
    fires: [AtomicU64; FAULT_COUNT],
    cross_user_reads: AtomicU64,
    cross_user_writes: AtomicU64,
    // The state each family's buggy path shares between requests.
    access_control: identity::AccessControl,
    city_ids: Sequence,
    accounts: Sequence,
    cache: cache::SharedCache,
    replica: replication::Replica,
    pool: pool::PoolTwin,
}

/// A counter shared by every request, advanced the racy way (`SELECT max(id) + 1`, a round trip,
/// then the write): what both `racy-id` (city ids) and `register-race` (account numbers) do wrong.
#[derive(Debug, Default)]
pub struct Sequence {
    last: AtomicU64,
}

impl Sequence {
    pub fn reset(&self) {
        self.last.store(0, Ordering::Relaxed);
    }

    /// The bug: read the last number, await (the fault's window), write back one more. Two
    /// requests inside one window both get the same number.
    pub async fn next_racy(&self, active: &Active) -> u64 {
        let next = self.last.load(Ordering::Acquire) + 1;
        active.pause().await;
        self.last.store(next, Ordering::Release);
        next
    }
}

/// One immutable snapshot of the switches.
#[derive(Debug)]
pub struct Settings {
    /// Whether requests need a scope at all: a fault is on, or data is tainted.
    active: bool,
    header: bool,
    on: [Option<Arc<Active>>; FAULT_COUNT],
    /// Every fault's parameters, kept while it is off.
    params: [Params; FAULT_COUNT],
}

/// A fault that is on: its parameters and the run-time state that lives as long as these settings.
#[derive(Debug)]
pub struct Active {
    pub id: FaultId,
    pub params: Params,
    decisions: AtomicU64,
    barrier: Barrier,
    /// `pool-starvation`'s pool, rebuilt whenever its settings change.
    pool: Option<Arc<Semaphore>>,
}

impl Active {
    fn new(spec: &FaultSpec) -> Self {
        let pool = (spec.id == FaultId::PoolStarvation)
            .then(|| Arc::new(Semaphore::new(spec.params.size + spec.params.overflow)));
        Self {
            id: spec.id,
            params: spec.params.clone(),
            decisions: AtomicU64::new(0),
            barrier: Barrier::new(spec.params.barrier),
            pool,
        }
    }

    /// Whether the fault fires on this request: lock-free, and repeatable for a given seed and
    /// request order.
    pub fn decide(&self) -> bool {
        let n = self.decisions.fetch_add(1, Ordering::Relaxed);
        decide(self.params.p, self.params.seed, n)
    }

    /// The racy pause: the barrier (if armed), then the window (an await standing in for a
    /// database round trip).
    pub async fn pause(&self) {
        self.barrier.wait().await;
        if !self.params.window.is_zero() {
            tokio::time::sleep(self.params.window).await;
        }
    }

    /// Frees whatever this instance holds requests on: its barrier and its pool.
    fn cancel(&self) {
        self.barrier.release();
        if let Some(pool) = &self.pool {
            pool.close();
        }
    }
}

/// The `n`-th decision of a fault with probability `p` and `seed`.
pub fn decide(p: f64, seed: u64, n: u64) -> bool {
    if p >= 1.0 {
        return true;
    }
    if p <= 0.0 {
        return false;
    }
    // 53 random bits as a uniform number in [0, 1).
    let unit = (splitmix64(seed ^ n) >> 11) as f64 / (1u64 << 53) as f64;
    unit < p
}

/// SplitMix64 (Steele, Lea, Flood 2014): a bijective, well-mixed hash of a counter.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Faults {
    pub fn new(config: &FaultConfig, store: Store, started: Instant) -> Self {
        let params = std::array::from_fn(|i| Params::defaults(FaultId::ALL[i]));
        let settings = Settings {
            active: false,
            header: config.header,
            on: Default::default(),
            params,
        };
        let faults = Self {
            shared: Arc::new(Shared {
                active: AtomicBool::new(false),
                settings: ArcSwap::from_pointee(settings),
                writer: Mutex::new(()),
                tainted: AtomicBool::new(false),
                store,
                started,
                journal: journal::Journal::new(config.journal_size),
                fires: Default::default(),
                cross_user_reads: AtomicU64::new(0),
                cross_user_writes: AtomicU64::new(0),
                access_control: Default::default(),
                city_ids: Default::default(),
                accounts: Default::default(),
                cache: Default::default(),
                replica: Default::default(),
                pool: Default::default(),
            }),
        };
        faults.change(|next| {
            for spec in &config.enabled {
                next.enable(spec);
            }
        });
        faults
    }

    /// The faults as `GET /__admin/faults` shows them.
    pub fn view(&self) -> FaultsView {
        let settings = self.shared.settings.load();
        FaultsView {
            header: settings.header,
            faults: FaultId::ALL
                .into_iter()
                .map(|id| FaultView {
                    name: id.name().to_owned(),
                    summary: id.def().summary.to_owned(),
                    enabled: settings.on[id.index()].is_some(),
                    params: settings.params[id.index()].view(id),
                })
                .collect(),
        }
    }

    /// Applies a `PUT /__admin/faults` body: all or nothing, `disable` before `enable`.
    pub fn update(&self, update: &FaultsUpdate) -> Result<FaultsView, SpecError> {
        let disable = update
            .disable
            .iter()
            .map(|name| match name.trim() {
                "*" => Ok(None),
                name => FaultId::by_name(name)
                    .map(Some)
                    .ok_or_else(|| SpecError::UnknownFault(name.to_owned())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let enable = update
            .enable
            .iter()
            .map(|text| text.parse::<FaultSpec>())
            .collect::<Result<Vec<_>, _>>()?;
        self.change(|next| {
            for id in &disable {
                match id {
                    Some(id) => next.disable(*id),
                    None => FaultId::ALL.into_iter().for_each(|id| next.disable(id)),
                }
            }
            for spec in &enable {
                next.enable(spec);
            }
            if let Some(header) = update.header {
                next.header = header;
            }
        });
        for spec in &enable {
            tracing::info!(fault = %spec.id, "fault enabled");
        }
        Ok(self.view())
    }

    /// Builds the next settings from the current ones and swaps them in; cancels the barriers and
    /// pools of the fault instances that were replaced or switched off.
    fn change(&self, edit: impl FnOnce(&mut Draft)) {
        let _writer = self.shared.writer.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.shared.settings.load_full();
        let mut draft = Draft {
            header: current.header,
            on: current.on.clone(),
            params: current.params.clone(),
        };
        edit(&mut draft);
        let retired: Vec<Arc<Active>> = current
            .on
            .iter()
            .zip(&draft.on)
            .filter_map(|(old, new)| match (old, new) {
                (Some(old), Some(new)) if Arc::ptr_eq(old, new) => None,
                (Some(old), _) => Some(old.clone()),
                _ => None,
            })
            .collect();
        let pool = &draft.params[FaultId::PoolStarvation.index()];
        self.shared
            .pool
            .configure(pool.size + pool.overflow, pool.timeout);
        if draft.on[FaultId::StaleRead.index()].is_none() {
            self.shared.replica.clear();
        }
        let changed_cache = !matches!(
            (&current.on[FaultId::UnscopedCache.index()], &draft.on[FaultId::UnscopedCache.index()]),
            (Some(old), Some(new)) if Arc::ptr_eq(old, new)
        );
        if changed_cache {
            self.shared.cache.clear();
        }
        let active =
            draft.on.iter().any(Option::is_some) || self.shared.tainted.load(Ordering::Acquire);
        self.shared.settings.store(Arc::new(Settings {
            active,
            header: draft.header,
            on: draft.on,
            params: draft.params,
        }));
        // After the settings, so a request that sees the flag finds them.
        self.shared.active.store(active, Ordering::Release);
        for old in retired {
            old.cancel();
        }
    }

    /// Marks the data as holding a planted leak (see `Shared::tainted`).
    pub(crate) fn taint(&self) {
        if !self.shared.tainted.swap(true, Ordering::AcqRel) {
            self.change(|_| {});
        }
    }

    /// `POST /__admin/reset`: clears the journal, counters, caches, the replica, the sequences and
    /// the taint. The switches stay as they are.
    pub fn reset(&self) {
        self.shared.journal.clear();
        for counter in &self.shared.fires {
            counter.store(0, Ordering::Relaxed);
        }
        self.shared.cross_user_reads.store(0, Ordering::Relaxed);
        self.shared.cross_user_writes.store(0, Ordering::Relaxed);
        self.shared.cache.clear();
        self.shared.replica.clear();
        self.shared.city_ids.reset();
        self.shared.accounts.reset();
        self.shared.tainted.store(false, Ordering::Release);
        self.change(|_| {});
    }

    /// Releases every barrier and closes the pool, so graceful shutdown does not wait forever on
    /// requests a fault holds.
    pub fn shut_down(&self) {
        let settings = self.shared.settings.load();
        for active in settings.on.iter().flatten() {
            active.cancel();
        }
    }

    /// Journal entries with `seq > since`.
    pub fn journal(&self, since: u64) -> Vec<JournalEntry> {
        self.shared.journal.since(since)
    }

    /// Counters for `GET /__admin/stats`: fires per fault, cross-user reads and writes.
    pub fn counters(&self) -> BTreeMap<String, u64> {
        let mut counters: BTreeMap<String, u64> = FaultId::ALL
            .into_iter()
            .map(|id| {
                let fires = self.shared.fires[id.index()].load(Ordering::Relaxed);
                (id.name().to_owned(), fires)
            })
            .filter(|(_, fires)| *fires > 0)
            .collect();
        counters.insert(
            fault_counters::CROSS_USER_READS.to_owned(),
            self.shared.cross_user_reads.load(Ordering::Relaxed),
        );
        counters.insert(
            fault_counters::CROSS_USER_WRITES.to_owned(),
            self.shared.cross_user_writes.load(Ordering::Relaxed),
        );
        counters.insert(
            fault_counters::JOURNAL_DROPPED.to_owned(),
            self.shared.journal.dropped(),
        );
        counters
    }

    /// The fault side of the request being served: the family entry points hang off it. Outside
    /// a request scope (every fault off) each entry point runs its correct twin.
    pub fn request(&self) -> Request<'_> {
        Request {
            faults: self,
            scope: scope::current(),
        }
    }

    /// The settings, when requests need a scope. With every fault off this is one relaxed load
    /// of a flag.
    fn active(&self) -> Option<Arc<Settings>> {
        if !self.shared.active.load(Ordering::Relaxed) {
            return None;
        }
        let settings = self.shared.settings.load();
        settings
            .active
            .then(|| arc_swap::Guard::into_inner(settings))
    }

    fn store(&self) -> &Store {
        &self.shared.store
    }
}

/// The mutable copy of [`Settings`] a change edits.
struct Draft {
    header: bool,
    on: [Option<Arc<Active>>; FAULT_COUNT],
    params: [Params; FAULT_COUNT],
}

impl Draft {
    fn enable(&mut self, spec: &FaultSpec) {
        self.params[spec.id.index()] = spec.params.clone();
        self.on[spec.id.index()] = Some(Arc::new(Active::new(spec)));
    }

    fn disable(&mut self, id: FaultId) {
        self.on[id.index()] = None;
    }
}

/// The faults of one request: a borrowed handle plus the request's scope, if it has one.
#[derive(Debug)]
pub struct Request<'a> {
    faults: &'a Faults,
    scope: Option<Arc<Scope>>,
}

impl Request<'_> {
    pub fn identity(&self) -> identity::Identity<'_> {
        identity::Identity(self)
    }

    pub fn ids(&self) -> ids::Ids<'_> {
        ids::Ids(self)
    }

    pub fn cache(&self) -> cache::Cache<'_> {
        cache::Cache(self)
    }

    pub fn registration(&self) -> registration::Registration<'_> {
        registration::Registration(self)
    }

    pub fn replication(&self) -> replication::Replication<'_> {
        replication::Replication(self)
    }

    pub fn authz(&self) -> authz::Authz<'_> {
        authz::Authz(self)
    }

    pub fn lists(&self) -> lists::Lists<'_> {
        lists::Lists(self)
    }

    pub fn pool(&self) -> pool::Pool<'_> {
        pool::Pool(self)
    }

    /// The fault's settings if it is on for this request (no decision taken).
    fn on(&self, id: FaultId) -> Option<&Arc<Active>> {
        self.scope.as_ref()?.settings.on[id.index()].as_ref()
    }

    /// The fault's settings if it is on and its `p` decision says it fires on this request.
    fn firing(&self, id: FaultId) -> Option<&Arc<Active>> {
        self.on(id).filter(|active| active.decide())
    }

    fn store(&self) -> &Store {
        self.faults.store()
    }

    /// Records that `fire.fault` fired on this request.
    fn fire(&self, fire: Fire) {
        if let Some(scope) = &self.scope {
            scope.fire(fire);
        }
    }

    /// Records a write of `fault` that landed in or overwrote `owner`'s data (`city_id`), made by
    /// `user`; cross-user when they differ. Taints the data when it is.
    fn wrote(&self, fault: FaultId, user: Option<Uuid>, owner: Uuid, city_id: Option<&str>) {
        let Some(scope) = &self.scope else { return };
        let cross_user = user != Some(owner);
        scope.write(fault, user, owner, city_id, cross_user);
        if cross_user {
            self.faults.taint();
        }
    }

    /// Checks what a read is about to send `user`: a city written by someone else is a cross-user
    /// read. It is blamed on the read fault that fired on this request, else on the fault that
    /// planted the data. Call it with every record a response carries.
    pub fn served<'r>(&self, user: Uuid, records: impl IntoIterator<Item = &'r CityRecord>) {
        let Some(scope) = &self.scope else { return };
        let Some(foreign) = records.into_iter().find(|record| record.author != user) else {
            return;
        };
        let blamed = [
            FaultId::SharedIdentity,
            FaultId::Bola,
            FaultId::UnscopedCache,
            FaultId::StaleRead,
        ]
        .into_iter()
        .find(|id| scope.has_fired(*id))
        .or(foreign.via);
        if let Some(fault) = blamed {
            scope.cross_read(fault, user, foreign);
        }
    }
}

impl Shared {
    /// Counts and journals one fired fault of a finished request.
    fn commit(&self, entry: JournalEntry, fault: FaultId) {
        self.fires[fault.index()].fetch_add(1, Ordering::Relaxed);
        if entry.cross_user {
            match entry.kind {
                AccessKind::Read => &self.cross_user_reads,
                AccessKind::Write => &self.cross_user_writes,
            }
            .fetch_add(1, Ordering::Relaxed);
        }
        self.journal.push(entry);
    }

    fn since_start(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.started)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p_one_always_fires_and_p_zero_never() {
        assert!((0..1000).all(|n| decide(1.0, 9, n)));
        assert!((0..1000).all(|n| !decide(0.0, 9, n)));
    }

    #[test]
    fn decisions_repeat_for_a_seed_and_follow_p() {
        let run = |seed| {
            (0..10_000)
                .map(|n| decide(0.3, seed, n))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
        let fired = run(42).iter().filter(|fired| **fired).count();
        assert!((2800..3200).contains(&fired), "{fired}");
    }

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        // First outputs of the reference SplitMix64 generator seeded with 0 (state += gamma).
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn an_update_is_all_or_nothing() {
        let faults = Faults::new(&FaultConfig::default(), Store::default(), Instant::now());
        let bad = FaultsUpdate {
            enable: vec!["bola".to_owned(), "racy-id:window=soon".to_owned()],
            ..Default::default()
        };
        assert!(faults.update(&bad).is_err());
        assert!(faults.view().faults.iter().all(|f| !f.enabled));
        let good = FaultsUpdate {
            enable: vec!["racy-id:window=7ms".to_owned()],
            header: Some(true),
            ..Default::default()
        };
        let view = faults.update(&good).unwrap();
        let racy = view.faults.iter().find(|f| f.name == "racy-id").unwrap();
        assert!(racy.enabled && view.header);
        assert_eq!(racy.params["window"], "7ms");
        let off = FaultsUpdate {
            disable: vec!["*".to_owned()],
            ..Default::default()
        };
        let view = faults.update(&off).unwrap();
        assert!(view.faults.iter().all(|f| !f.enabled));
        assert!(faults.active().is_none());
    }
}
