//! `loadgen compare`'s text and HTML: per request name and metric, baseline beside current with
//! the change, the violations side by side, and the limits' verdicts.

use std::fmt::Write as _;

use super::{Comparison, Metric, Row, change_pct};
use crate::report::{Figures, html::escape};

impl Comparison {
    /// The table cells of one row and metric: baseline, current, change.
    fn cells(row: &Row, metric: Metric) -> (String, String, String) {
        let base = row.baseline.as_ref().map(|f| metric.of(f));
        let now = row.current.as_ref().map(|f| metric.of(f));
        let value = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"));
        let change = match (base, now) {
            (Some(b), Some(c)) if metric == Metric::FailRate => format!("{:+.3} pt", c - b),
            (Some(b), Some(c)) => {
                change_pct(b, c).map_or_else(|| "n/a".to_owned(), |p| format!("{p:+.1} %"))
            }
            _ => "-".to_owned(),
        };
        (value(base), value(now), change)
    }

    /// The text report.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n-----Comparison ({})-----\nbaseline: {} (run {})\ncurrent:  {} (run {})",
            self.scenario,
            self.baseline.label,
            self.baseline.run_id,
            self.current.label,
            self.current.run_id
        );
        let width = self
            .rows
            .iter()
            .map(|r| r.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let _ = writeln!(
            out,
            "\n{:<width$} {:<12} {:>12} {:>12} {:>10}",
            "name", "metric", "baseline", "current", "change"
        );
        for row in &self.rows {
            let requests = |f: &Option<Figures>| {
                f.as_ref()
                    .map_or_else(|| "-".to_owned(), |f| f.requests.total.to_string())
            };
            let _ = writeln!(
                out,
                "{:<width$} {:<12} {:>12} {:>12}",
                row.name,
                "requests",
                requests(&row.baseline),
                requests(&row.current)
            );
            for metric in Metric::ROWS {
                let (base, now, change) = Self::cells(row, metric);
                let label = format!("{} {}", metric.as_str(), metric.unit());
                let _ = writeln!(
                    out,
                    "{:<width$} {label:<12} {base:>12} {now:>12} {change:>10}",
                    ""
                );
            }
        }
        let _ = writeln!(out, "\nViolations (baseline -> current):");
        for (class, base, now) in &self.violations {
            let _ = writeln!(out, "  {class:<10} {base:>8} -> {now}");
        }
        if !self.verdicts.is_empty() {
            let _ = writeln!(out, "\nRegression limits:");
            for verdict in &self.verdicts {
                let _ = writeln!(out, "  {}", verdict.describe());
            }
        }
        out
    }

    /// A self-contained HTML page (inline CSS, no script).
    pub fn render_html(&self) -> String {
        let mut page = String::new();
        let title = format!(
            "loadgen compare — {} vs {}",
            self.current.label, self.baseline.label
        );
        let _ = write!(
            page,
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
             <style>{}</style></head><body><h1>{}</h1><p>baseline: {} (run {})<br>current: {} \
             (run {})</p>",
            escape(&title),
            STYLE,
            escape(&title),
            escape(&self.baseline.label),
            escape(&self.baseline.run_id),
            escape(&self.current.label),
            escape(&self.current.run_id)
        );
        if !self.verdicts.is_empty() {
            page.push_str("<h2>Regression limits</h2><table><tr><th>limit</th><th>scope</th><th>baseline</th><th>current</th><th>worse by</th><th>verdict</th></tr>");
            for v in &self.verdicts {
                let value =
                    |x: Option<f64>| x.map_or_else(|| "n/a".to_owned(), |x| format!("{x:.3}"));
                let _ = write!(
                    page,
                    "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    if v.regressed { "bad" } else { "good" },
                    escape(&v.limit),
                    escape(&v.scope),
                    value(v.baseline),
                    value(v.current),
                    v.worsening
                        .map_or_else(|| "n/a".to_owned(), |w| format!("{w:+.1}")),
                    if v.regressed { "REGRESSED" } else { "ok" }
                );
            }
            page.push_str("</table>");
        }
        page.push_str("<h2>Side by side</h2><table><tr><th>name</th><th>metric</th><th>baseline</th><th>current</th><th>change</th></tr>");
        for row in &self.rows {
            for metric in Metric::ROWS {
                let (base, now, change) = Self::cells(row, metric);
                let _ = write!(
                    page,
                    "<tr><td>{}</td><td>{} {}</td><td>{base}</td><td>{now}</td><td>{}</td></tr>",
                    escape(&row.name),
                    metric.as_str(),
                    metric.unit(),
                    escape(&change)
                );
            }
        }
        page.push_str("</table><h2>Violations</h2><table><tr><th>class</th><th>baseline</th><th>current</th></tr>");
        for (class, base, now) in &self.violations {
            let _ = write!(
                page,
                "<tr><td>{class}</td><td>{base}</td><td>{now}</td></tr>"
            );
        }
        page.push_str("</table></body></html>\n");
        page
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;\
text-align:right}td:first-child,th:first-child{text-align:left}tr.bad{background:#fdd}\
tr.good{background:#efe}";
