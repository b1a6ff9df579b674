//! Types and parsers that both sides of racebench agree on.
//!
//! `mock-server` serialises these types and `loadgen` deserialises them (and the other way round
//! for requests), so a change of the wire format is a change in one place.
//!
//! Layout:
//! - [`api`]: request and response bodies of the public API (`/json`, auth, cities) and the
//!   `{"data": ...}` envelope.
//! - [`error`]: the JSON error body every failed request carries.
//! - [`admin`]: bodies of the `/__admin` API.
//! - [`duration`]: `200ms`, `0.5s`, `1m` style durations and `a..b` ranges, as typed on a CLI.
//! - [`delay`]: a delay distribution (`200ms`, `uniform:100ms..300ms`, `lognormal:200ms,0.3`).
//! - [`cli`]: clap glue that turns a usage error into one line on stderr and exit code 2.
//! - [`format`]: numbers as both binaries print them (`1,234,567`).
//! - [`paths`]: route paths, so a test and the server never disagree on a string.

pub mod admin;
pub mod api;
pub mod cli;
pub mod delay;
pub mod duration;
pub mod error;
pub mod format;
pub mod paths;
