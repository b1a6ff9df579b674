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

    /// Write the inferred pair without trying it against the target (offline); the file then has
    /// no verified rate, so no replay of it can say FIXED
    #[arg(long)]
    pub no_verify: bool,

    /// Attempts per candidate pair that must exercise the race when verifying
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub attempts: u32,

    /// Most candidate pairs to try, best guess first
    #[arg(long, default_value_t = 12, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=200))]
    pub candidates: u32,

    /// Time for the whole search (it stops at the first pair reproducing at 80 % or more)
    #[arg(long, default_value = "2m", value_parser = shared::duration::duration_arg, value_name = "DURATION")]
    pub budget: std::time::Duration,

    /// Per-request timeout while verifying
    #[arg(long, default_value = "10s", value_parser = shared::duration::duration_arg, value_name = "DURATION")]
    pub timeout: std::time::Duration,

    /// Between the observer's last byte and the victim's when released together (written into
    /// the file: replay uses it)
    #[arg(long, default_value = "1ms", value_parser = shared::duration::duration_arg, value_name = "DURATION")]
    pub stagger: std::time::Duration,

    /// Between attempts (longer than a cache's TTL; written into the file)
    #[arg(long, default_value = "0", value_parser = shared::duration::duration_arg, value_name = "DURATION")]
    pub pause: std::time::Duration,
}

/// `loadgen replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Reproductions written by `loadgen repro`: files, or folders of `*.toml` files (a
    /// regression suite)
    #[arg(value_name = "REPRO", required = true, num_args = 1..)]
    pub repro: Vec<PathBuf>,

    /// Attempts that must exercise the race, per file [default: as many as --confidence needs
    /// at the file's verified rate; 20 for a file without one]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub attempts: Option<u32>,

    /// How sure FIXED must be: the probability that the attempts would have shown the bug at
    /// the file's verified rate (its 95 % lower bound), were it still there
    #[arg(long, default_value_t = 0.999, value_name = "P", value_parser = confidence_arg)]
    pub confidence: f64,

    /// Base URL of the API [default: each file's `base-url`]
    #[arg(long, env = "LOADGEN_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,

    /// Per-request timeout
    #[arg(long, default_value = "10s", value_parser = shared::duration::duration_arg, value_name = "DURATION")]
    pub timeout: std::time::Duration,

    /// Wait this long between releasing the observer's last byte and the victim's [default:
    /// the file's `race.stagger`, else 1ms]. Another value than the file's voids its verified
    /// rate (no FIXED)
    #[arg(long, value_parser = shared::duration::duration_arg, value_name = "DURATION")]
    pub stagger: Option<std::time::Duration>,

    /// Wait this long between attempts [default: the file's `race.pause`, else 0]
    #[arg(long, value_parser = shared::duration::duration_arg, value_name = "DURATION")]
    pub pause: Option<std::time::Duration>,

    /// Also write the first attempt's set-up and racing pair as a shell script of curl commands
    /// (readable, not synchronised; one file only)
    #[arg(long, value_name = "FILE")]
    pub emit_curl: Option<PathBuf>,

    /// Write one JUnit test case per file (FIXED passes, anything else fails)
    #[arg(long, value_name = "FILE")]
    pub junit_out: Option<PathBuf>,
}

/// A confidence strictly between 0 and 1.
fn confidence_arg(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number (e.g. 0.999)"))?;
    if value > 0.0 && value < 1.0 {
        Ok(value)
    } else {
        Err(format!("{value} is not between 0 and 1 (e.g. 0.999)"))
    }
}
