//! `loadgen isolation` and `loadgen cities` flags: the API description, the checks, evidence and
//! scoring. Both commands take the same flags; `isolation` turns on by default every check the
//! description supports, `cities` (the second article's preset) only those asked for.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{OutputArgs, WorkloadArgs};
use crate::api::Encoding as TokenRequest;
pub use crate::report::findings::ViolationClass;

/// `loadgen isolation` and `loadgen cities`.
#[derive(Debug, Args)]
pub struct CitiesArgs {
    /// TOML description of the API (accounts, login, records, meanings): see
    /// docs/guide/isolation.md, "The API description", and fixtures/apis/ [default: racebench mock-server's shape]
    #[arg(long, env = "LOADGEN_API", value_name = "FILE")]
    pub api: Option<PathBuf>,

    /// An OpenAPI document (URL or file) to infer the API description from, as `loadgen describe`
    /// does, instead of `--api`; a piece that cannot be inferred stops the run (exit 2)
    #[arg(
        long,
        env = "LOADGEN_OPENAPI",
        value_name = "URL|FILE",
        conflicts_with = "api"
    )]
    pub openapi: Option<String>,

    /// With `--openapi`: the collection to test (`describe --resource`)
    #[arg(
        long,
        env = "LOADGEN_RESOURCE",
        value_name = "NAME",
        requires = "openapi"
    )]
    pub resource: Option<String>,

    /// With `--openapi`: keep the inferred API description in FILE [default: printed on stderr]
    #[arg(
        long,
        env = "LOADGEN_SAVE_API",
        value_name = "FILE",
        requires = "openapi"
    )]
    pub save_api: Option<PathBuf>,

    /// Overrides one key of the API description: `records.collection=/items/`,
    /// `meanings.not-yours=[403,404]` (the value is TOML, or else text); repeatable
    #[arg(
        long = "set",
        env = "LOADGEN_SET",
        value_name = "KEY=VALUE",
        value_delimiter = '\n'
    )]
    pub set: Vec<String>,

    /// A header every request carries, `Name: value` (`{user}`, `{run}`, `{email}` are filled
    /// per identity); repeatable. Joins the description's `[headers]`, replacing one of the same
    /// name [default: none]
    #[arg(
        short = 'H',
        long = "header",
        env = "LOADGEN_HEADER",
        value_name = "NAME: VALUE",
        value_delimiter = '\n'
    )]
    pub headers: Vec<String>,

    /// Do not walk every step with one user before the load (the preflight exits 2 on a
    /// description that does not match the server)
    #[arg(long, env = "LOADGEN_NO_PREFLIGHT")]
    pub no_preflight: bool,

    /// `isolation`: a check not to run although the description supports it; repeatable
    #[arg(long, env = "LOADGEN_SKIP", value_enum, value_name = "CHECK")]
    pub skip: Vec<Check>,

    /// Ask `me` on every iteration (`isolation` does when the description has `login.me-path`)
    #[arg(long, env = "LOADGEN_ME_CHECK")]
    pub me_check: bool,
    /// Base URL of the API: register, token and cities paths are relative to it
    #[arg(
        long,
        env = "LOADGEN_BASE_URL",
        default_value = "http://127.0.0.1:8020/api/v1",
        value_name = "URL"
    )]
    pub base_url: String,

    /// Legacy TOML file with the API's shape (register-path, token-path, cities-path,
    /// token-request, token-field, envelope): see fixtures/cities-scenario.toml; prefer --api
    #[arg(long, env = "LOADGEN_SCENARIO", value_name = "FILE")]
    pub scenario: Option<PathBuf>,

    /// Registration path [default: /auth/register]
    #[arg(long, env = "LOADGEN_REGISTER_PATH", value_name = "PATH")]
    pub register_path: Option<String>,

    /// Token (login) path [default: /auth/token]
    #[arg(long, env = "LOADGEN_TOKEN_PATH", value_name = "PATH")]
    pub token_path: Option<String>,

    /// Cities collection path; a city is PATH/{id} [default: /cities]
    #[arg(long, env = "LOADGEN_CITIES_PATH", value_name = "PATH")]
    pub cities_path: Option<String>,

    /// How the token request sends credentials [default: form]
    #[arg(long, env = "LOADGEN_TOKEN_REQUEST", value_enum, value_name = "KIND")]
    pub token_request: Option<TokenRequest>,

    /// Field of the token answer holding the bearer token [default: access_token]
    #[arg(long, env = "LOADGEN_TOKEN_FIELD", value_name = "FIELD")]
    pub token_field: Option<String>,

    /// Key wrapping every answer; `""` for none [default: data]
    #[arg(long, env = "LOADGEN_ENVELOPE", value_name = "KEY")]
    pub envelope: Option<String>,

    /// Each iteration also lists the user's cities: every listed city must be its own, and none of
    /// its acknowledged cities may be missing
    #[arg(long, env = "LOADGEN_LIST_CHECK")]
    pub list_check: bool,

    /// Each iteration also renames the city and reads it back
    #[arg(long, env = "LOADGEN_UPDATE_CHECK")]
    pub update_check: bool,

    /// Each iteration also deletes the city, then expects 404 when reading it
    #[arg(long, env = "LOADGEN_DELETE_CHECK")]
    pub delete_check: bool,

    /// Every EVERY iterations, ask for a city another user created and expect 404 (broken
    /// object-level authorization); the flag alone means every 5 [default: off]
    #[arg(long, env = "LOADGEN_PROBE_FOREIGN", num_args = 0..=1, default_missing_value = "5", value_name = "EVERY")]
    pub probe_foreign: Option<u64>,

    /// Virtual users per account, like browser tabs: they share one login, so one account's
    /// requests overlap (needed to catch a per-account race such as mock-server's `lost-update`)
    #[arg(long, env = "LOADGEN_TABS", default_value_t = 1, value_name = "N")]
    pub tabs: usize,

    /// Write the kept violations as JSON lines (observer, victim, request, expected, actual)
    #[arg(long, env = "LOADGEN_EVIDENCE_OUT", value_name = "FILE")]
    pub evidence_out: Option<PathBuf>,

    /// How many violations to keep as evidence
    #[arg(
        long,
        env = "LOADGEN_MAX_EVIDENCE",
        default_value_t = 20,
        value_name = "N"
    )]
    pub max_evidence: usize,

    /// After the run, score detection against racebench mock-server's ground-truth journal
    /// (recall and precision)
    #[arg(long, env = "LOADGEN_SCORE")]
    pub score: bool,

    /// Admin API of the mock server, for --score and the fault switches marked on the HTML charts
    /// [default with --score: the base URL's host + /__admin]
    #[arg(long, env = "LOADGEN_ADMIN_URL", value_name = "URL")]
    pub admin_url: Option<String>,

    /// A violation class that does not fail the run; repeatable [default: every class fails it]
    #[arg(long, env = "LOADGEN_ALLOW", value_enum, value_name = "CLASS")]
    pub allow: Vec<ViolationClass>,

    #[command(flatten)]
    pub workload: WorkloadArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// The checks `isolation` runs by default, which `--skip` turns off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Check {
    /// The own list holds only (and, when it fits in one page, every) own record.
    List,
    /// Another user's record answers "not yours".
    Probe,
    /// `me` answers the caller's own account.
    Me,
    /// The owner field of every record answered is the caller's account.
    Owner,
    /// Every 5th iteration, the user's own read, list and create go with no credentials, a
    /// malformed token and one signed by another key: each must be refused (401/403).
    Anonymous,
    /// Every 5th iteration, the user renames its record and deletes it at once; once the delete
    /// is acknowledged, the record must stay gone (read and list).
    Resurrect,
}
