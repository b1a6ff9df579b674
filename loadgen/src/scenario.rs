//! What a virtual user does: the [`Scenario`] trait the engine runs, and the [`Session`] through
//! which a scenario sends and records requests.
//!
//! The engine owns *when* (users, spawn rate, loops, duration, arrival rate, stop); a scenario owns
//! *what*: a per-user set-up (the cities scenario registers and logs in), then iterations made of
//! named requests ("steps"), each ending in an [`crate::checks::Outcome`] that the scenario decides
//! and the session records. A scenario never sees a histogram or a lock.
//!
//! Layout: [`session`] (the per-user handle), [`json`] (the first article's single request),
//! [`cities`] (register, log in, write, read, check: the leak hunter), [`file`] (a scenario
//! described in a TOML file: `loadgen run`).

pub mod cities;
pub mod file;
pub mod json;
pub mod session;

use std::future::Future;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;

pub use session::{Called, Exchange, RequestError, Session};

/// Why a user's set-up failed; the engine logs it and retries the set-up a second later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(pub String);

/// A load-test scenario, shared by all users (`Arc<Self>`), with per-user state in `User`.
///
/// Contract:
/// - [`Scenario::steps`] names every request the scenario may record, once, in report order;
///   requests are recorded with [`crate::stats::Step`] indexes into that list (the cities scenario
///   can declare `const CREATE: Step = Step(2)`).
/// - [`Scenario::setup`] runs once per user before its first iteration; its requests are recorded
///   like any other. On `Err` the engine waits a second and calls it again (with the same session,
///   so `session.user()` is unchanged) until it succeeds or the run stops.
/// - [`Scenario::iteration`] is one loop of the article: any number of requests. The engine may
///   cancel it at any `.await` when the run stops, so it must not leave shared state half-updated
///   in a way that a later report depends on.
pub trait Scenario: Send + Sync + 'static {
    /// Per-user state made by `setup` (the cities scenario: identity, token, ledger of own cities).
    type User: Send + 'static;

    /// Request names, in the order reports list them.
    fn steps(&self) -> Vec<String>;

    /// The request the preflight sends once before the load (not counted), to prove the target
    /// answers at all; `None` (the default) makes the preflight connect only. Any response passes
    /// the preflight, whatever its status: judging it is the checks' job.
    fn probe(&self) -> Option<Request<Full<Bytes>>> {
        None
    }

    /// Per-user set-up before the first iteration.
    fn setup(
        &self,
        session: &mut Session,
    ) -> impl Future<Output = Result<Self::User, SetupError>> + Send;

    /// One iteration.
    fn iteration(
        &self,
        user: &mut Self::User,
        session: &mut Session,
    ) -> impl Future<Output = ()> + Send;
}
