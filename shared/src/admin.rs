//! Bodies of the `/__admin` API: health, stats and run-time configuration.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `GET /__admin/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `ok` when the server answers.
    pub status: String,
    /// Seconds since the server started.
    pub uptime_s: u64,
}

/// `GET /__admin/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub users: usize,
    pub cities: usize,
    /// Total requests served since start (or since the last reset).
    pub requests_total: u64,
    /// Requests served per route template (`GET /api/v1/cities/{id}`) and then per status code.
    pub requests: BTreeMap<String, BTreeMap<u16, u64>>,
    /// Fault-related counters; empty until a fault fires.
    #[serde(default)]
    pub faults: BTreeMap<String, u64>,
}

/// `GET` and `PUT /__admin/config`: the settings that can change while the server runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RuntimeConfig {
    /// The `/json` delay, in the CLI's syntax (`0`, `200ms`, `uniform:100ms..300ms`,
    /// `lognormal:200ms,0.3`). Absent in a `PUT` means unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<String>,
}
