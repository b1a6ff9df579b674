//! `--csv-out`: one row per interval per request name (plus an `all` row per interval), so a
//! spreadsheet can redraw any chart. Latencies are of passed requests, in milliseconds.

use std::{fmt::Write, io, path::Path};

use super::Report;

/// Column names, in order.
pub const HEADER: &str = "start_s,end_s,name,total,pass,fail,exception,timeout,leak,lost_write,\
corrupt,denied,anonymous,resurrect,rps,mean_ms,p50_ms,p90_ms,p99_ms,max_ms,corrected_p99_ms,in_flight,active_users";

/// The CSV text.
pub fn render(report: &Report) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    for interval in &report.intervals {
        for row in &interval.rows {
            let _ = writeln!(
                out,
                "{:.3},{:.3},{},{},{},{},{},{},{},{},{},{},{},{},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{},{},{}",
                interval.start_s,
                interval.end_s,
                quote(&row.name),
                row.total,
                row.pass,
                row.fail,
                row.exception,
                row.timeout,
                row.leak,
                row.lost_write,
                row.corrupt,
                row.denied,
                row.anonymous,
                row.resurrect,
                row.rps,
                row.mean_ms,
                row.p50_ms,
                row.p90_ms,
                row.p99_ms,
                row.max_ms,
                row.corrected_p99_ms
                    .map_or_else(String::new, |v| format!("{v:.3}")),
                interval.in_flight,
                interval.active_users,
            );
        }
    }
    out
}

pub fn write(report: &Report, path: &Path) -> io::Result<()> {
    std::fs::write(path, render(report))
}

/// RFC 4180 quoting when a name holds a comma, quote or newline.
fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn names_with_commas_are_quoted() {
        assert_eq!(quote("read"), "read", "a plain field is not quoted");
        assert_eq!(
            quote("a,\"b\""),
            "\"a,\"\"b\"\"\"",
            "a field with a comma or quote is quoted, quotes doubled"
        );
    }
}
