//! Bodies of the `/__admin` API: health, stats, run-time configuration, the fault catalogue and
//! the ground-truth journal.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /__admin/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the server answers.
    pub status: String,
    /// Seconds since the server started.
    pub uptime_s: u64,
}

/// `GET /__admin/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Stats {
    pub users: usize,
    pub cities: usize,
    /// The store's caps (`--max-users`, `--max-records`): past them creates get 409 `store_full`.
    #[serde(default)]
    pub max_users: usize,
    #[serde(default)]
    pub max_records: usize,
    /// Connections open now, and requests between their handler's start and their body's end.
    #[serde(default)]
    pub connections: usize,
    #[serde(default)]
    pub requests_in_flight: usize,
    /// Total requests served since start (or since the last reset).
    pub requests_total: u64,
    /// Requests served per route template (`GET /api/v1/cities/{id}`) and then per status code.
    #[schema(value_type = BTreeMap<String, BTreeMap<String, u64>>)]
    pub requests: BTreeMap<String, BTreeMap<u16, u64>>,
    /// Fault counters: fires per fault name (only faults that fired), and
    /// [`fault_counters`] (`cross_user_reads`, `cross_user_writes`, `journal_dropped`).
    #[serde(default)]
    pub faults: BTreeMap<String, u64>,
}

/// `GET` and `PUT /__admin/config`: the settings that can change while the server runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, ToSchema)]
pub struct RuntimeConfig {
    /// The `/json` delay, in the CLI's syntax (`0`, `200ms`, `uniform:100ms..300ms`,
    /// `lognormal:200ms,0.3`). Absent in a `PUT` means unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<String>,
}

/// One fault of the catalogue as `GET /__admin/faults` shows it (and `PUT` answers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FaultView {
    /// The catalogue name, e.g. `shared-identity`.
    pub name: String,
    /// One line: the bug and the real-world pattern it models.
    pub summary: String,
    pub enabled: bool,
    /// Current parameters in the CLI's syntax (`window` = `3ms`, `p` = `1`, `barrier` = `0`); kept
    /// while the fault is off, so a `GET` shows what an `enable` without parameters would reset.
    pub params: BTreeMap<String, String>,
}

/// `GET /__admin/faults`: every fault of the catalogue, in catalogue order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FaultsView {
    /// Whether responses carry `x-racebench-faults` naming the faults that fired on them.
    pub header: bool,
    pub faults: Vec<FaultView>,
}

/// `PUT /__admin/faults`: what to switch. Applied all or nothing (a bad entry changes nothing and
/// answers 422), in this order: `disable`, then `enable`.
///
/// ```json
/// {"enable": ["racy-id:window=3ms,barrier=20"], "disable": ["bola"], "header": true}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultsUpdate {
    /// `NAME[:key=value,...]` as on the command line. Enabling a fault that is on replaces all its
    /// parameters (unnamed ones return to their defaults) and re-arms its barrier.
    #[serde(default)]
    pub enable: Vec<String>,
    /// Fault names to switch off; `*` switches every fault off.
    #[serde(default)]
    pub disable: Vec<String>,
    /// Turns the `x-racebench-faults` response header on or off; absent means unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<bool>,
}

/// One change of the fault switches (`--fault` at start, a `PUT /__admin/faults`), as
/// `GET /__admin/faults/switches` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FaultSwitch {
    /// When the switch happened, as a Unix time in ms.
    pub at_unix_ms: u64,
    /// Faults switched on (or re-enabled with new parameters), each as `NAME:key=value,...` with
    /// all its parameters.
    pub on: Vec<String>,
    /// Names of the faults switched off.
    pub off: Vec<String>,
}

/// `GET /__admin/faults/switches`: the last switches, oldest first. Kept across
/// `POST /__admin/reset` (it records the switches, not the data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FaultSwitches {
    /// Switches kept (the newest).
    pub capacity: usize,
    pub switches: Vec<FaultSwitch>,
}

/// Name of the response header that lists the faults that fired on a response (with
/// `--fault-header`), comma-separated.
pub const FAULTS_HEADER: &str = "x-racebench-faults";

/// The admin page (`/__admin/`) sends this header with each of its own API calls (its polling
/// every second), so the request journal keeps them out: it shows the traffic under test.
pub const ADMIN_PAGE_HEADER: &str = "x-racebench-admin-page";

/// Whether a journalled request read or wrote the data it touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessKind {
    Read,
    Write,
}

/// One line of `GET /__admin/journal` (JSON lines): a request on which a fault fired, and what
/// really happened. This is the ground truth a load test is scored against.
///
/// A request on which several faults fired has one entry per fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct JournalEntry {
    /// Increases by one per entry and never restarts, not even at `POST /__admin/reset`, so a
    /// poller can ask for `?since=SEQ`.
    pub seq: u64,
    /// The fault that fired, e.g. `shared-identity`.
    pub fault: String,
    pub method: String,
    /// Route template, e.g. `/api/v1/cities/{id}`.
    pub route: String,
    /// The concrete path, e.g. `/api/v1/cities/3`.
    pub path: String,
    /// The user the bearer token names (the one who made the request); absent when unauthenticated.
    pub user: Option<String>,
    /// The user whose data was read or written: for a read, whoever wrote the data that came back;
    /// for a write, the account the write landed in. Absent when the fault touched no user data
    /// (an injected 500).
    pub owner: Option<String>,
    pub kind: AccessKind,
    /// True only when it really happened: the response body carried another user's data (read),
    /// or the write landed in or overwrote another user's data (write).
    pub cross_user: bool,
    /// The city the request touched (for a list, the first foreign city in it).
    pub city_id: Option<String>,
    /// Response status; absent when the connection was dropped without a response (`reset`).
    pub status: Option<u16>,
    /// One sentence for a person: what the fault did.
    pub detail: String,
    /// When the request reached the server, in ms since the server started.
    pub start_ms: f64,
    /// When its response head was ready, in ms since the server started (a `slow-body` body keeps
    /// dribbling after this).
    pub end_ms: f64,
    /// `start_ms` as a Unix time in ms.
    pub start_unix_ms: u64,
    /// `end_ms` as a Unix time in ms.
    pub end_unix_ms: u64,
}

/// Keys of [`Stats::faults`] besides the per-fault fire counts (which use the fault's name).
pub mod fault_counters {
    /// Journalled reads whose response carried another user's data.
    pub const CROSS_USER_READS: &str = "cross_user_reads";
    /// Journalled writes that landed in or overwrote another user's data.
    pub const CROSS_USER_WRITES: &str = "cross_user_writes";
    /// Journal entries pushed out of the ring buffer since the last reset.
    pub const JOURNAL_DROPPED: &str = "journal_dropped";
    /// Requests being served now while some fault is on (a gauge, not reset): lets a test wait
    /// until its requests reached the server instead of sleeping.
    pub const IN_FLIGHT: &str = "in_flight";
}

/// One request of the request journal (`GET /__admin/requests`), WireMock-style: every request the
/// router answered, newest kept. Not ground truth: scoring uses [`JournalEntry`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RequestEntry {
    /// Increases by one per request and never restarts (not even at a clear), for `?after=SEQ`.
    pub seq: u64,
    pub method: String,
    /// The concrete path, e.g. `/api/v1/cities/3`.
    pub path: String,
    /// Route template, e.g. `/api/v1/cities/{id}`, or `(unmatched)`.
    pub route: String,
    pub status: u16,
    /// The user the bearer token names, once the server verified it; absent otherwise.
    pub user: Option<String>,
    /// Time from routing to the response head, in ms.
    pub duration_ms: f64,
    /// Faults of the catalogue that fired on the request.
    pub faults: Vec<String>,
    /// When the request was routed, in ms since the server started.
    pub start_ms: f64,
    /// `start_ms` as a Unix time in ms.
    pub start_unix_ms: u64,
}

/// `GET /__admin/requests`: the matching requests, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RequestsView {
    /// False when the server runs with `--request-journal 0` (then `requests` is empty).
    pub enabled: bool,
    /// Requests kept (the newest).
    pub capacity: usize,
    /// Requests pushed out of the journal since the last clear.
    pub dropped: u64,
    pub requests: Vec<RequestEntry>,
}
