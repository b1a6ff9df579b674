//! The switchboard: what is switched on, at start and at run time. [`Faults`] is the handle every
//! request consults; a change builds the next [`Settings`] from the current ones and swaps them in
//! whole, then tells each fault whose settings changed (`Fault::on_change`). Also the counters and
//! the journal behind `GET /__admin/stats` and `/__admin/journal`, and the record of switches
//! behind `GET /__admin/faults/switches`.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use arc_swap::ArcSwap;
use shared::admin::{
    AccessKind, FaultSwitch, FaultSwitches, FaultView, FaultsUpdate, FaultsView, JournalEntry,
    fault_counters,
};

use super::{
    FaultId, States,
    barrier::Barrier,
    catalogue::{FaultSpec, SpecError},
    decision::Decisions,
    fault::FAULT_COUNT,
    journal::{self, Journal},
    scope::unix_ms_now,
};
use crate::store::Store;

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
            journal_size: journal::DEFAULT_JOURNAL_SIZE,
        }
    }
}

/// Switches kept for `GET /__admin/faults/switches` (the newest).
pub const SWITCHES_KEPT: usize = 256;

/// Handle to the catalogue's state; cheap to clone, one per server.
#[derive(Debug, Clone)]
pub struct Faults {
    pub(super) shared: Arc<Shared>,
}

#[derive(Debug)]
pub(super) struct Shared {
    /// Whether requests need a scope (`Settings::active`), as one flag: the only thing the
    /// request path reads while every fault is off (a relaxed load, a plain read on x86).
    active: AtomicBool,
    /// What is switched on. Read lock-free by requests that need a scope; replaced whole on a
    /// change.
    settings: ArcSwap<Settings>,
    /// Serialises writers of `settings` (run-time switches, taint, reset); readers never take it.
    /// Holds the record of switches, the last [`SWITCHES_KEPT`], oldest first.
    writer: Mutex<VecDeque<FaultSwitch>>,
    /// Some user's data was written by another user (a planted leak). While set, requests get a
    /// scope even with every fault off, so reading such data is still journalled.
    tainted: AtomicBool,
    pub(super) store: Store,
    started: Instant,
    journal: Journal,
    fires: [AtomicU64; FAULT_COUNT],
    cross_user_reads: AtomicU64,
    cross_user_writes: AtomicU64,
    /// Requests with a fault scope being served now (see [`fault_counters::IN_FLIGHT`]).
    pub(super) in_flight: AtomicU64,
    /// Each fault's own state.
    pub(super) states: States,
}

/// One immutable snapshot of the switches.
#[derive(Debug)]
pub struct Settings {
    /// Whether requests need a scope at all: a fault is on, or data is tainted.
    active: bool,
    pub(super) header: bool,
    pub(super) on: [Option<Arc<Active>>; FAULT_COUNT],
    /// Every fault's parameters, kept while it is off.
    pub(super) specs: [FaultSpec; FAULT_COUNT],
}

/// A fault that is on: its parameters and the run-time state that lives as long as these settings.
#[derive(Debug)]
pub struct Active {
    pub spec: FaultSpec,
    decisions: Decisions,
    barrier: Barrier,
}

impl Active {
    fn new(spec: &FaultSpec) -> Self {
        Self {
            spec: spec.clone(),
            decisions: Decisions::default(),
            barrier: Barrier::new(spec.common.barrier),
        }
    }

    /// Whether the fault fires on this request (lock-free; repeatable for a seed and request order).
    pub fn decide(&self) -> bool {
        self.decisions.next(&self.spec.common)
    }

    /// The racy pause: the barrier (if armed), then `window` (an await standing in for a
    /// database round trip).
    pub async fn pause(&self, window: Duration) {
        self.barrier.wait().await;
        if !window.is_zero() {
            tokio::time::sleep(window).await;
        }
    }

    /// Frees the requests this instance's barrier holds.
    fn cancel(&self) {
        self.barrier.release();
    }
}

impl Faults {
    pub fn new(config: &FaultConfig, store: Store, started: Instant) -> Self {
        let settings = Settings {
            active: false,
            header: config.header,
            on: Default::default(),
            specs: std::array::from_fn(|i| FaultSpec::defaults(FaultId::ALL[i])),
        };
        let faults = Self {
            shared: Arc::new(Shared {
                active: AtomicBool::new(false),
                settings: ArcSwap::from_pointee(settings),
                writer: Mutex::new(VecDeque::new()),
                tainted: AtomicBool::new(false),
                store,
                started,
                journal: Journal::new(config.journal_size),
                fires: Default::default(),
                cross_user_reads: AtomicU64::new(0),
                cross_user_writes: AtomicU64::new(0),
                in_flight: AtomicU64::new(0),
                states: States::default(),
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
                .iter()
                .map(|&id| FaultView {
                    name: id.name().to_owned(),
                    summary: id.def().summary.to_owned(),
                    enabled: settings.on[id.index()].is_some(),
                    params: settings.specs[id.index()].view(),
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
                    .ok_or_else(|| SpecError::unknown(name)),
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
                    None => FaultId::ALL.iter().for_each(|id| next.disable(*id)),
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

    /// Builds the next settings from the current ones and swaps them in; tells each fault whose
    /// settings changed, and frees the barriers of the instances that were replaced or switched off.
    fn change(&self, edit: impl FnOnce(&mut Draft)) {
        let mut switches = self.shared.writer.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.shared.settings.load_full();
        let mut draft = Draft {
            header: current.header,
            on: current.on.clone(),
            specs: current.specs.clone(),
        };
        edit(&mut draft);
        let changed: Vec<FaultId> = FaultId::ALL
            .iter()
            .copied()
            .filter(
                |id| match (&current.on[id.index()], &draft.on[id.index()]) {
                    (Some(old), Some(new)) => !Arc::ptr_eq(old, new),
                    (old, new) => old.is_some() || new.is_some(),
                },
            )
            .collect();
        let retired: Vec<Arc<Active>> = changed
            .iter()
            .filter_map(|id| current.on[id.index()].clone())
            .collect();
        let active =
            draft.on.iter().any(Option::is_some) || self.shared.tainted.load(Ordering::Acquire);
        let on: Vec<bool> = draft.on.iter().map(Option::is_some).collect();
        let switch = FaultSwitch {
            at_unix_ms: unix_ms_now(),
            on: changed
                .iter()
                .filter_map(|id| draft.on[id.index()].as_ref())
                .map(|active| spec_text(&active.spec))
                .collect(),
            off: changed
                .iter()
                .filter(|id| draft.on[id.index()].is_none())
                .map(|id| id.name().to_owned())
                .collect(),
        };
        if !changed.is_empty() {
            if switches.len() == SWITCHES_KEPT {
                switches.pop_front();
            }
            switches.push_back(switch);
        }
        self.shared.settings.store(Arc::new(Settings {
            active,
            header: draft.header,
            on: draft.on,
            specs: draft.specs,
        }));
        // After the settings, so a request that sees the flag finds them.
        self.shared.active.store(active, Ordering::Release);
        let settings = self.shared.settings.load();
        for id in changed {
            let def = id.def();
            (def.on_change)(
                &self.shared.states,
                &settings.specs[id.index()].params,
                on[id.index()],
            );
        }
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

    /// `POST /__admin/reset`: clears the journal, the counters, every fault's state and the
    /// taint. The switches stay as they are.
    pub fn reset(&self) {
        self.shared.journal.clear();
        for counter in &self.shared.fires {
            counter.store(0, Ordering::Relaxed);
        }
        self.shared.cross_user_reads.store(0, Ordering::Relaxed);
        self.shared.cross_user_writes.store(0, Ordering::Relaxed);
        for id in FaultId::ALL {
            (id.def().reset)(&self.shared.states);
        }
        self.shared.tainted.store(false, Ordering::Release);
        self.change(|_| {});
    }

    /// Releases every barrier and shuts every fault's state down (which frees requests held on
    /// it, a starved pool's), so graceful shutdown does not wait forever on requests a fault holds.
    pub fn shut_down(&self) {
        let settings = self.shared.settings.load();
        for active in settings.on.iter().flatten() {
            active.cancel();
        }
        for id in FaultId::ALL {
            (id.def().shut_down)(&self.shared.states);
        }
    }

    /// The record of switches for `GET /__admin/faults/switches`, oldest first.
    pub fn switches(&self) -> FaultSwitches {
        let switches = self.shared.writer.lock().unwrap_or_else(|e| e.into_inner());
        FaultSwitches {
            capacity: SWITCHES_KEPT,
            switches: switches.iter().cloned().collect(),
        }
    }

    /// Journal entries with `seq > since`.
    pub fn journal(&self, since: u64) -> Vec<JournalEntry> {
        self.shared.journal.since(since)
    }

    /// Counters for `GET /__admin/stats`: fires per fault, cross-user reads and writes, journal
    /// entries dropped, requests in flight.
    pub fn counters(&self) -> BTreeMap<String, u64> {
        let mut counters: BTreeMap<String, u64> = FaultId::ALL
            .iter()
            .map(|id| {
                let fires = self.shared.fires[id.index()].load(Ordering::Relaxed);
                (id.name().to_owned(), fires)
            })
            .filter(|(_, fires)| *fires > 0)
            .collect();
        let shared = &self.shared;
        for (key, value) in [
            (fault_counters::CROSS_USER_READS, &shared.cross_user_reads),
            (fault_counters::CROSS_USER_WRITES, &shared.cross_user_writes),
            (fault_counters::IN_FLIGHT, &shared.in_flight),
        ] {
            counters.insert(key.to_owned(), value.load(Ordering::Relaxed));
        }
        counters.insert(
            fault_counters::JOURNAL_DROPPED.to_owned(),
            shared.journal.dropped(),
        );
        counters
    }

    /// The settings, when requests need a scope. With every fault off this is one relaxed load
    /// of a flag.
    pub(super) fn active(&self) -> Option<Arc<Settings>> {
        if !self.shared.active.load(Ordering::Relaxed) {
            return None;
        }
        let settings = self.shared.settings.load();
        settings
            .active
            .then(|| arc_swap::Guard::into_inner(settings))
    }
}

/// `NAME:key=value,...` with every parameter, as a switch records a fault switched on.
fn spec_text(spec: &FaultSpec) -> String {
    let params: Vec<String> = spec
        .view()
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    format!("{}:{}", spec.id.name(), params.join(","))
}

/// The mutable copy of [`Settings`] a change edits.
struct Draft {
    header: bool,
    on: [Option<Arc<Active>>; FAULT_COUNT],
    specs: [FaultSpec; FAULT_COUNT],
}

impl Draft {
    fn enable(&mut self, spec: &FaultSpec) {
        self.specs[spec.id.index()] = spec.clone();
        self.on[spec.id.index()] = Some(Arc::new(Active::new(spec)));
    }

    fn disable(&mut self, id: FaultId) {
        self.on[id.index()] = None;
    }
}

impl Shared {
    /// Counts and journals one fired fault of a finished request.
    pub(super) fn commit(&self, entry: JournalEntry, fault: FaultId) {
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

    pub(super) fn since_start(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.started)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_is_all_or_nothing() {
        let faults = Faults::new(&FaultConfig::default(), Store::default(), Instant::now());
        let bad = FaultsUpdate {
            enable: vec!["bola".to_owned(), "racy-id:window=soon".to_owned()],
            ..Default::default()
        };
        assert!(faults.update(&bad).is_err(), "a bad window is refused");
        assert!(
            faults.view().faults.iter().all(|f| !f.enabled),
            "a refused update changes nothing, not even its good half"
        );
        let good = FaultsUpdate {
            enable: vec!["racy-id:window=7ms".to_owned()],
            header: Some(true),
            ..Default::default()
        };
        let view = faults.update(&good).unwrap();
        let racy = view.faults.iter().find(|f| f.name == "racy-id").unwrap();
        assert!(racy.enabled && view.header, "racy-id and the header are on");
        assert_eq!(racy.params["window"], "7ms", "the window given is shown");
        let off = FaultsUpdate {
            disable: vec!["*".to_owned()],
            ..Default::default()
        };
        let view = faults.update(&off).unwrap();
        assert!(
            view.faults.iter().all(|f| !f.enabled),
            "`*` switches all off"
        );
        assert!(faults.active().is_none(), "requests need no scope any more");
        let switches = faults.switches().switches;
        assert_eq!(
            switches.len(),
            2,
            "two switches recorded (the refused update is not)"
        );
        assert!(
            switches[0].on == ["racy-id:barrier=0,p=1,seed=0,window=7ms"]
                && switches[0].off.is_empty(),
            "the first switch turned racy-id on: {switches:?}"
        );
        assert_eq!(switches[1].off, ["racy-id"], "the second turned it off");
    }

    #[test]
    fn the_record_of_switches_is_bounded_and_starts_with_the_cli_faults() {
        let config = FaultConfig {
            enabled: vec!["bola".parse().unwrap()],
            ..Default::default()
        };
        let faults = Faults::new(&config, Store::default(), Instant::now());
        assert_eq!(
            faults.switches().switches[0].off.len(),
            0,
            "the start switched nothing off"
        );
        assert!(
            faults.switches().switches[0].on[0].starts_with("bola:"),
            "`--fault bola` is the first switch"
        );
        let toggle = |enable: bool| FaultsUpdate {
            enable: if enable {
                vec!["bola".to_owned()]
            } else {
                vec![]
            },
            disable: if enable {
                vec![]
            } else {
                vec!["bola".to_owned()]
            },
            ..Default::default()
        };
        for i in 0..SWITCHES_KEPT + 10 {
            faults.update(&toggle(i % 2 == 1)).unwrap();
        }
        faults.reset();
        let switches = faults.switches().switches;
        assert_eq!(
            switches.len(),
            SWITCHES_KEPT,
            "the newest {SWITCHES_KEPT} are kept across a reset"
        );
        assert!(
            switches
                .windows(2)
                .all(|w| w[0].at_unix_ms <= w[1].at_unix_ms),
            "oldest first"
        );
    }
}
