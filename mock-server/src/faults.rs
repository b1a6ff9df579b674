//! The race-condition fault catalogue: one file per fault, the buggy path beside its correct
//! twin, listed once in the [registry](registry) below; everything else is derived from it.
//!
//! Layout:
//! - the faults, one file each, named as the user switches them ([`shared_identity`],
//!   [`racy_id`], ... [`slow_body`]): the pattern's doc, typed parameters with defaults, the
//!   fault's state, the bug and its twin, `on_change`/`reset`.
//! - [`fault`]: the [`Fault`](fault::Fault) trait a fault file implements, and the registry macro.
//! - [`params`]: typed parameters (`params!`) and the common `p`, `seed`, `barrier`.
//! - [`catalogue`]: `NAME[:key=value,...]` parsing, a spec shown back, `mock-server faults`.
//! - [`switchboard`]: the [`Faults`] handle: what is on, run-time switches, counters, reset.
//! - [`decision`]: the `p`/`seed` decision; [`barrier`]: `barrier=K`.
//! - [`request`]: a request's faults as handlers see them (`faults.fault::<Bola>()`);
//!   [`scope`]: what faults did on one request; [`layer`]: the tower layer that opens the scope,
//!   applies `error-rate`, `reset` and `slow-body`, and commits to the [`journal`].
//!
//! Cost when every fault is off: the layer reads one atomic flag and passes the request on without
//! allocating; handlers find no request scope (one task-local read) and run the correct twins.
//! Only while a fault is on does a request load the settings (`ArcSwap`, lock-free) and get a
//! scope.
//!
//! Adding a fault: write `faults/my_fault.rs` (copy [`bola`], the smallest), add one line below,
//! and call its hook from the handler step it breaks.

pub mod barrier;
pub mod catalogue;
pub mod decision;
pub mod fault;
pub mod journal;
pub mod layer;
pub mod params;
pub mod request;
pub mod scope;
pub mod switchboard;

fault::registry! {
    shared_identity::SharedIdentity,
    racy_id::RacyId,
    unscoped_cache::UnscopedCache,
    register_race::RegisterRace,
    stale_read::StaleRead,
    bola::Bola,
    lost_update::LostUpdate,
    pool_starvation::PoolStarvation,
    error_rate::ErrorRate,
    reset::Reset,
    slow_body::SlowBody,
    anonymous_fallback::AnonymousFallback,
    delete_resurrect::DeleteResurrect,
    #[cfg(test)]
    test_fault::TestFault,
}

pub use catalogue::{FaultSpec, SpecError};
pub use journal::DEFAULT_JOURNAL_SIZE;
pub use layer::FaultLayer;
pub use request::{Hook, Request};
pub use scope::Fire;
pub use switchboard::{FaultConfig, Faults};
