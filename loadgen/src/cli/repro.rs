//! Flags of `loadgen repro` (one violation of a finished run into a small reproduction file) and
//! `loadgen replay` (that file, replayed against a server).

use std::path::PathBuf;

use clap::Args;

/// `loadgen repro`.
#[derive(Debug, Args)]
pub struct ReproArgs {
    /// The run's evidence: `--evidence-out` JSON lines, or a `--json-out` report
    #[arg(value_name = "EVIDENCE")]
    pub evidence: PathBuf,

    /// Which violation, counted from 1 in the evidence's order [default: the first leak that
    /// names a victim, else the first violation]
    #[arg(long, value_name = "N")]
    pub violation: Option<usize>,

    /// Where to write the reproduction (TOML); `-` for stdout
    #[arg(
        short = 'o',
        long = "out",
        default_value = "repro.toml",
        value_name = "FILE"
    )]
    pub out: PathBuf,

    /// Base URL of the API [default: the report's target, else http://127.0.0.1:8020/api/v1]
    #[arg(long, env = "LOADGEN_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,

    /// The API description the run used (copied into the file) [default: racebench
    /// mock-server's shape]
    #[arg(long, env = "LOADGEN_API", value_name = "FILE")]
    pub api: Option<PathBuf>,

    /// A header the run's requests carried, `Name: value` (its `-H`): written into the file's
    /// `[api.headers]`; repeatable [default: none]
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
}

/// `loadgen replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The reproduction written by `loadgen repro`
    #[arg(value_name = "REPRO")]
    pub repro: PathBuf,

    /// How many times to set up two fresh users and send the racing pair
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub attempts: u32,

    /// Base URL of the API [default: the file's `base-url`]
    #[arg(long, env = "LOADGEN_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,

    /// Per-request timeout
    #[arg(long, default_value = "10s", value_parser = shared::duration::duration_arg, value_name = "DURATION")]
    pub timeout: std::time::Duration,

    /// Wait this long between releasing the observer's last byte and the victim's, so the
    /// observer's request reaches the server first (released back to back, the server takes them
    /// in either order); keep it well under the race window (0: back to back)
    #[arg(long, default_value = "1ms", value_parser = shared::duration::duration_arg, value_name = "DURATION")]
    pub stagger: std::time::Duration,

    /// Wait this long between attempts (longer than a cache's TTL, so one attempt's cached
    /// answers cannot serve the next)
    #[arg(long, default_value = "0", value_parser = shared::duration::duration_arg, value_name = "DURATION")]
    pub pause: std::time::Duration,

    /// Also write the set-up and the racing pair as a shell script of curl commands (readable,
    /// not synchronised)
    #[arg(long, value_name = "FILE")]
    pub emit_curl: Option<PathBuf>,

    /// A header every request carries, `Name: value` (templates filled per user), beside the
    /// file's `[api.headers]`, replacing one of the same name; repeatable [default: none]
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
}
