//! The verdict of each act and the final summary table: act, expectation, result, PASS/FAIL.

use std::path::PathBuf;

use serde::Serialize;

use crate::console::Console;

/// How one act (or one fault of act 6) went.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// `1 article`, `6 racy-id`.
    pub act: String,
    pub expectation: String,
    pub result: String,
    pub passed: bool,
    /// The JSON and HTML reports (and evidence) the act wrote.
    pub reports: Vec<PathBuf>,
}

impl Verdict {
    /// An act that could not be judged (loadgen did not run): a failure with the reason.
    pub fn broken(act: &str, expectation: &str, reason: String, reports: Vec<PathBuf>) -> Self {
        Self {
            act: act.to_owned(),
            expectation: expectation.to_owned(),
            result: reason,
            passed: false,
            reports,
        }
    }
}

/// Prints the summary table, columns sized to their widest cell.
pub fn print(console: &Console, verdicts: &[Verdict]) {
    let header = ["act", "expectation", "result"];
    let width = |column: usize, cell: fn(&Verdict) -> &str| {
        verdicts
            .iter()
            .map(|v| cell(v).chars().count())
            .chain([header[column].len()])
            .max()
            .unwrap_or(0)
    };
    let widths = [
        width(0, |v| &v.act),
        width(1, |v| &v.expectation),
        width(2, |v| &v.result),
    ];
    let row = |cells: [&str; 3], last: &str| {
        format!(
            "{:w0$}  {:w1$}  {:w2$}  {last}",
            cells[0],
            cells[1],
            cells[2],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
        )
    };
    println!("{}", console.bold(&row(header, "verdict")));
    for v in verdicts {
        println!(
            "{}",
            row(
                [&v.act, &v.expectation, &v.result],
                &console.pass_fail(v.passed)
            )
        );
    }
}

pub use shared::format::thousands;
