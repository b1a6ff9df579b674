//! Flags of the commands that read finished reports instead of running load: `loadgen merge`
//! and `loadgen compare`.

use std::path::PathBuf;

use clap::Args;

use super::ViolationClass;
use crate::{report::compare::Limits, thresholds::Threshold};

/// `loadgen merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The workers' JSON reports (`--json-out` files, or logs holding a `--json-out -` line, as
    /// `kubectl logs` prints them)
    #[arg(required = true, value_name = "REPORT")]
    pub reports: Vec<PathBuf>,

    /// Evaluate on the merged figures: `p99<250ms`, `rps>100`; repeatable [default: the
    /// thresholds the workers ran with]
    #[arg(long, env = "LOADGEN_THRESHOLD", value_name = "[NAME:]METRIC<OP>VALUE", value_parser = Threshold::parse)]
    pub threshold: Vec<Threshold>,

    /// A violation class that does not fail the merged run; repeatable [default: every class
    /// fails it]
    #[arg(long, env = "LOADGEN_ALLOW", value_enum, value_name = "CLASS")]
    pub allow: Vec<ViolationClass>,

    /// Write the merged report as JSON; `-` for stdout (the summary then goes to stderr)
    #[arg(long, value_name = "FILE")]
    pub json_out: Option<PathBuf>,

    /// Write the merged timeline as CSV
    #[arg(long, value_name = "FILE")]
    pub csv_out: Option<PathBuf>,

    /// Write the merged HTML report
    #[arg(long, value_name = "FILE")]
    pub html_out: Option<PathBuf>,

    /// Write a JUnit XML file of the merged verdicts
    #[arg(long, value_name = "FILE")]
    pub junit_out: Option<PathBuf>,
}

/// `loadgen compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline's JSON report
    #[arg(value_name = "BASELINE")]
    pub baseline: PathBuf,

    /// The JSON report to judge against it
    #[arg(value_name = "CURRENT")]
    pub current: PathBuf,

    /// Fail (exit 1) when a figure got worse by more than this: `p99=10%,rps=5%`; latencies
    /// (p50, p90, p95, p99, p999, mean, max) regress upwards, rps downwards, fail_rate by
    /// percentage points; `NAME:p99=10%` for one request name; repeatable [default: report only]
    #[arg(long, env = "LOADGEN_MAX_REGRESSION", value_name = "[NAME:]METRIC=PCT%,...", value_parser = Limits::parse)]
    pub max_regression: Vec<Limits>,

    /// Write the comparison as a self-contained HTML page
    #[arg(long, value_name = "FILE")]
    pub html_out: Option<PathBuf>,

    /// Write a JUnit XML file: one test case per --max-regression limit
    #[arg(long, value_name = "FILE")]
    pub junit_out: Option<PathBuf>,
}
