//! What a fault file implements ([`Fault`]) and the [`registry!`] that turns the list of fault
//! files into the catalogue: the [`FaultId`] enum, each fault's [`Def`] (name, summary,
//! parameters), and [`States`], the run-time state of every fault, one field per fault.
//!
//! A new fault is a file under `faults/` implementing [`Fault`] plus one line in the registry in
//! `faults.rs`; parsing, `mock-server faults`, `GET`/`PUT /__admin/faults`, the counters and
//! `POST /__admin/reset` all follow from it.

use std::fmt;

use super::params::{AnyParams, Common, ParamDef, Params};

/// One fault of the catalogue. `Self` is its run-time state (shared by every request; `Default`
/// is its state at start), and the file that implements it holds the buggy path beside its
/// correct twin, as methods on `Hook<'_, Self>`.
pub trait Fault: Default + fmt::Debug + Send + Sync + 'static {
    /// As the user switches it (`--fault NAME`).
    const NAME: &'static str;
    /// One line for the catalogue: the pattern and what a client sees.
    const SUMMARY: &'static str;
    /// Whether a response carrying another user's data is blamed on this fault when it fired on
    /// that request (a read fault); otherwise it is blamed on the fault that planted the data.
    const BLAMED_FOR_READS: bool = false;
    /// Its own parameters (`p`, `seed` and `barrier` come on top, see [`Common`]).
    type Params: Params;

    /// The fault was switched on (`on`), off, or re-parameterised; `params` are its current
    /// parameters either way.
    fn on_change(&self, _params: &Self::Params, _on: bool) {}

    /// `POST /__admin/reset`: forget run-time state and free requests held on it.
    fn reset(&self) {}

    /// Graceful shutdown: free every request held on the fault's state, for good (no request may
    /// be held again, or shutdown would wait for it).
    fn shut_down(&self) {
        self.reset();
    }
}

/// A fault's slot in the registry (implemented by [`registry!`]).
pub trait Registered: Fault {
    const ID: FaultId;
    fn state(states: &States) -> &Self;
}

/// A fault as the catalogue sees it, its type erased.
#[derive(Debug)]
pub struct Def {
    pub id: FaultId,
    pub name: &'static str,
    pub summary: &'static str,
    /// Its own parameters; [`COMMON`](super::params::Common) come on top.
    pub params: &'static [ParamDef],
    pub blamed_for_reads: bool,
    pub(super) defaults: fn() -> AnyParams,
    pub(super) set: fn(&mut AnyParams, &str, &str) -> Result<(), String>,
    pub(super) show: fn(&AnyParams, &str) -> String,
    pub(super) on_change: fn(&States, &AnyParams, bool),
    pub(super) reset: fn(&States),
    pub(super) shut_down: fn(&States),
}

impl Def {
    pub const fn of<F: Registered>() -> Self {
        Self {
            id: F::ID,
            name: F::NAME,
            summary: F::SUMMARY,
            params: <F::Params as Params>::DEFS,
            blamed_for_reads: F::BLAMED_FOR_READS,
            defaults: || AnyParams::new(F::Params::default()),
            set: |params, key, value| {
                let mut typed = params.get::<F::Params>().clone();
                typed.set(key, value)?;
                *params = AnyParams::new(typed);
                Ok(())
            },
            show: |params, key| params.get::<F::Params>().show(key),
            on_change: |states, params, on| F::state(states).on_change(params.get(), on),
            reset: |states| F::state(states).reset(),
            shut_down: |states| F::state(states).shut_down(),
        }
    }

    /// Every parameter the fault takes: its own, then the common ones.
    pub fn all_params(&self) -> impl Iterator<Item = &'static ParamDef> {
        self.params.iter().chain(Common::DEFS)
    }
}

/// Generates, from one line per fault (`module::Type`, attributes allowed), the fault modules,
/// [`FaultId`], [`States`] and each fault's [`Registered`] impl.
macro_rules! registry {
    ($( $(#[$attr:meta])* $module:ident :: $fault:ident ),* $(,)?) => {
        $( $(#[$attr])* pub mod $module; )*

        /// Every fault the server knows, in catalogue order; the index is its slot in the settings.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum FaultId {
            $( $(#[$attr])* $fault, )*
        }

        impl FaultId {
            pub const ALL: &'static [FaultId] = &[ $( $(#[$attr])* FaultId::$fault, )* ];

            /// The fault's catalogue entry.
            pub fn def(self) -> &'static $crate::faults::fault::Def {
                match self {
                    $( $(#[$attr])* FaultId::$fault =>
                        const { &$crate::faults::fault::Def::of::<$module::$fault>() }, )*
                }
            }
        }

        /// The run-time state of every fault (what its buggy path shares between requests).
        #[derive(Debug, Default)]
        pub struct States {
            $( $(#[$attr])* pub $module: $module::$fault, )*
        }

        $(
            $(#[$attr])*
            impl $crate::faults::fault::Registered for $module::$fault {
                const ID: FaultId = FaultId::$fault;
                fn state(states: &States) -> &Self {
                    &states.$module
                }
            }
        )*
    };
}
pub(crate) use registry;

use super::{FaultId, States};
use crate::store::Tag;

/// Number of faults in the catalogue.
pub const FAULT_COUNT: usize = FaultId::ALL.len();

impl FaultId {
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        self.def().name
    }

    pub fn by_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|id| id.name() == name)
    }

    /// The tag the store keeps on a record this fault wrote into another user's city.
    pub fn tag(self) -> Tag {
        Tag(self as u16)
    }

    /// The fault a record's tag names (`None` for a tag no fault wrote).
    pub fn of_tag(tag: Tag) -> Option<Self> {
        Self::ALL.get(usize::from(tag.0)).copied()
    }
}

impl fmt::Display for FaultId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
