//! `--html-out`: one self-contained page (inline CSS and SVG, no script, no network): a header with
//! the start time, command line, settings and the PASS/FAIL verdict, then charts of requests per
//! second (passed, failed, exceptions), latency percentiles over time (gaps where nothing passed,
//! a CSS-only log-scale switch), p99 per request name, a latency histogram, outcomes, users and
//! requests in flight; then the [`timeline`] of the first violation (each user's requests around
//! it, the racing pair highlighted), the [`evidence`] (one row per violation, timings folded
//! away), every other finding the report carries (score, ledger...) as a table, and the summary
//! tables (latency, status codes and outcomes per request name). The charts are drawn here, in Rust, from the report alone, so any report
//! (a run, a merge) renders.

pub mod evidence;
pub mod timeline;

use std::{fmt::Write, io, path::Path};

use super::{FaultSwitchAt, LatencyMs, Report};
use crate::stats::{Interval, IntervalRow};

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 44.0;
/// Width of one legend character at 12 px (a generous average, so entries never overlap).
const LEGEND_CHAR: f64 = 7.0;
/// Height of one legend row.
const LEGEND_ROW: f64 = 16.0;
/// Colours of the not-passed rates: apart from the per-name palette, and dashed.
const FAIL_COLOR: &str = "#B00020";
const EXCEPTION_COLOR: &str = "#666666";
const VIOLATION_COLOR: &str = "#6A0DAD";
/// The vertical lines marking fault switches.
const SWITCH_COLOR: &str = "#C05A00";
const BOTTOM: f64 = 34.0;
/// Series colours, readable on white and for common colour blindness (Okabe-Ito).
const COLORS: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
];

/// Row index meaning the interval's `all` row.
const ALL_ROW: usize = usize::MAX;

/// One line of a chart.
struct Series {
    label: String,
    color: &'static str,
    points: Vec<(f64, f64)>,
    /// Drawn dashed (the not-passed rates beside the passed ones).
    dashed: bool,
}

/// The whole page.
pub fn render(report: &Report) -> String {
    let mut page = String::with_capacity(64 * 1024);
    let title = format!("loadgen {} — {}", report.scenario, report.target);
    let _ = write!(
        page,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{}</title><style>{}</style>\
         </head><body><h1>{}</h1>",
        escape(&title),
        STYLE,
        escape(&title)
    );
    header(&mut page, report);
    summary(&mut page, report);
    let intervals = &report.intervals;
    let switches = &report.fault_switches;
    let names: Vec<&str> = intervals
        .first()
        .map(|i| i.rows.iter().map(|r| r.name.as_str()).collect())
        .unwrap_or_default();
    let per_name = names.len() > 2;
    let all = ALL_ROW;
    let mut rates: Vec<Series> = names
        .iter()
        .enumerate()
        .filter(|(_, name)| per_name || **name == "all")
        .map(|(index, name)| {
            series(&format!("{name} passed/s"), index, intervals, index, |r| {
                r.rps
            })
        })
        .collect();
    let per_second = |count: fn(&IntervalRow) -> u64| {
        move |i: &Interval| {
            let span = (i.end_s - i.start_s).max(1e-9);
            count(i.all()) as f64 / span
        }
    };
    let not_passed = |label: &str, color: &'static str, value| Series {
        color,
        dashed: true,
        ..interval_series(label, 0, intervals, value)
    };
    rates.push(not_passed("failed/s", FAIL_COLOR, per_second(|r| r.fail)));
    rates.push(not_passed(
        "exceptions/s",
        EXCEPTION_COLOR,
        per_second(|r| r.exception),
    ));
    if report.figures.requests.violation > 0 {
        rates.push(not_passed(
            "violations/s",
            VIOLATION_COLOR,
            per_second(|r| {
                r.leak + r.lost_write + r.corrupt + r.denied + r.anonymous + r.resurrect
            }),
        ));
    }
    page.push_str("<h2>Requests per second</h2>");
    page.push_str(&chart(
        "requests per second",
        &rates,
        Scale::Linear,
        switches,
    ));

    // Latency is of passed requests: an interval without one is a gap, not 0 ms.
    let passed = |value: fn(&IntervalRow) -> f64| {
        move |r: &IntervalRow| if r.pass == 0 { f64::NAN } else { value(r) }
    };
    let mut latency = vec![
        series("p50", 0, intervals, all, passed(|r| r.p50_ms)),
        series("p90", 1, intervals, all, passed(|r| r.p90_ms)),
        series("p99", 3, intervals, all, passed(|r| r.p99_ms)),
        series("max", 7, intervals, all, passed(|r| r.max_ms)),
    ];
    if report.open_model.is_some() {
        latency.push(series(
            "corrected p99",
            4,
            intervals,
            all,
            passed(|r| r.corrected_p99_ms.unwrap_or(f64::NAN)),
        ));
    }
    page.push_str(
        "<input type=\"checkbox\" id=\"log\"><label for=\"log\"> logarithmic latency axes</label>",
    );
    page.push_str("<h2>Latency percentiles over time (passed requests, all names)</h2>");
    both_scales(&mut page, "milliseconds", &latency, switches);
    if per_name {
        let by_name: Vec<Series> = names
            .iter()
            .enumerate()
            .filter(|(_, name)| **name != "all")
            .map(|(index, name)| {
                series(
                    &format!("{name} p99"),
                    index,
                    intervals,
                    index,
                    passed(|r| r.p99_ms),
                )
            })
            .collect();
        page.push_str("<h2>p99 latency per request name over time</h2>");
        both_scales(&mut page, "milliseconds", &by_name, switches);
    }
    if let Some(histogram) = histogram(report) {
        page.push_str("<h2>Latency histogram (passed requests, all names)</h2>");
        page.push_str(&histogram);
    }

    // Per second, not per interval: a long run's older intervals are folded into wider ones
    // (see `stats::timeline`), whose raw counts would draw a step at each fold.
    let per_second = |count: fn(&IntervalRow) -> u64| {
        move |i: &Interval| count(i.all()) as f64 / (i.end_s - i.start_s).max(1e-9)
    };
    let outcomes = vec![
        interval_series("pass", 2, intervals, per_second(|r| r.pass)),
        interval_series("fail", 1, intervals, per_second(|r| r.fail)),
        interval_series("exception", 3, intervals, per_second(|r| r.exception)),
        interval_series(
            "violation",
            4,
            intervals,
            per_second(|r| {
                r.leak + r.lost_write + r.corrupt + r.denied + r.anonymous + r.resurrect
            }),
        ),
    ];
    page.push_str("<h2>Outcomes per second</h2>");
    page.push_str(&chart(
        "requests per second",
        &outcomes,
        Scale::Linear,
        switches,
    ));

    let load = vec![
        interval_series("active users", 0, intervals, |i| i.active_users as f64),
        interval_series("in flight", 1, intervals, |i| i.in_flight as f64),
    ];
    page.push_str("<h2>Users and requests in flight</h2>");
    page.push_str(&chart(
        "count at interval end",
        &load,
        Scale::Linear,
        switches,
    ));
    if let Some(timeline) = timeline::render(&report.evidence) {
        page.push_str(&timeline);
    }
    if let Some(evidence) = evidence::render(&report.evidence) {
        page.push_str(&evidence);
    }
    findings(&mut page, report);
    tables(&mut page, report);
    page.push_str("<footer>Generated by loadgen. Self-contained: no script, no network.</footer></body></html>\n");
    page
}

/// A latency chart drawn twice, linear and logarithmic; the checkbox above shows one (CSS only).
fn both_scales(page: &mut String, y_label: &str, series: &[Series], switches: &[FaultSwitchAt]) {
    let _ = write!(
        page,
        "<div class=\"lin\">{}</div><div class=\"logscale\">{}</div>",
        chart(y_label, series, Scale::Linear, switches),
        chart(
            &format!("{y_label} (log scale)"),
            series,
            Scale::Log,
            switches
        )
    );
}

/// Writes the page to `path`.
pub fn write(report: &Report, path: &Path) -> io::Result<()> {
    std::fs::write(path, render(report))
}

fn series(
    label: &str,
    color: usize,
    intervals: &[Interval],
    row: usize,
    value: impl Fn(&IntervalRow) -> f64,
) -> Series {
    let pick = |i: &Interval| -> f64 {
        if row == ALL_ROW {
            value(i.all())
        } else {
            value(&i.rows[row])
        }
    };
    Series {
        label: label.to_owned(),
        color: COLORS[color % COLORS.len()],
        points: intervals.iter().map(|i| (i.end_s, pick(i))).collect(),
        dashed: false,
    }
}

fn interval_series(
    label: &str,
    color: usize,
    intervals: &[Interval],
    value: impl Fn(&Interval) -> f64,
) -> Series {
    Series {
        label: label.to_owned(),
        color: COLORS[color % COLORS.len()],
        points: intervals.iter().map(|i| (i.end_s, value(i))).collect(),
        dashed: false,
    }
}

/// How the y axis maps values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scale {
    Linear,
    /// Powers of ten; values at or below 0 are not drawn.
    Log,
}

/// A line chart with axes, grid, ticks and a legend. A `NaN` value is a gap in its line. Each of
/// `switches` is a labelled vertical line.
fn chart(y_label: &str, series: &[Series], scale: Scale, switches: &[FaultSwitchAt]) -> String {
    let max_x = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .chain(switches.iter().map(|s| s.at_s))
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let finite = || {
        series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .filter(|v| v.is_finite() && (scale == Scale::Linear || *v > 0.0))
    };
    let (low, high) = match scale {
        Scale::Linear => (0.0, nice(finite().fold(0.0_f64, f64::max))),
        Scale::Log => {
            let min = finite().fold(f64::INFINITY, f64::min);
            let max = finite().fold(0.0_f64, f64::max);
            if min.is_finite() {
                (
                    10f64.powf(min.log10().floor()),
                    10f64.powf(max.log10().ceil().max(min.log10().floor() + 1.0)),
                )
            } else {
                (1.0, 10.0)
            }
        }
    };
    // The legend is its own rows under the axis label, laid out left to right from the plot's
    // left edge with each entry as wide as its text, wrapping before the right edge, so it never
    // covers the label or leaves the canvas.
    let mut legend = Vec::with_capacity(series.len());
    let (mut legend_x, mut legend_row) = (LEFT, 0.0);
    for line in series {
        let width = 16.0 + LEGEND_CHAR * line.label.chars().count() as f64 + 18.0;
        if legend_x > LEFT && legend_x + width > WIDTH - RIGHT {
            legend_x = LEFT;
            legend_row += 1.0;
        }
        legend.push((legend_x, 26.0 + legend_row * LEGEND_ROW));
        legend_x += width;
    }
    let top = TOP + legend_row * LEGEND_ROW;
    let height = HEIGHT + legend_row * LEGEND_ROW;
    let (plot_w, plot_h) = (WIDTH - LEFT - RIGHT, height - top - BOTTOM);
    let x = |v: f64| LEFT + v / max_x * plot_w;
    let fraction = |v: f64| match scale {
        Scale::Linear => (v - low) / (high - low),
        Scale::Log => (v.log10() - low.log10()) / (high.log10() - low.log10()),
    };
    let y = |v: f64| top + plot_h - fraction(v) * plot_h;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\"><title>{}</title>",
        escape(y_label)
    );
    let ticks: Vec<f64> = match scale {
        Scale::Linear => (0..=4).map(|step| high * f64::from(step) / 4.0).collect(),
        Scale::Log => {
            let decades = (high.log10() - low.log10()).round() as i32;
            (0..=decades).map(|d| low * 10f64.powi(d)).collect()
        }
    };
    for value in ticks {
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" class=\"grid\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y(value) + 4.0,
            short(value),
            y = y(value)
        );
    }
    for step in 0..=5 {
        let value = max_x * f64::from(step) / 5.0;
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"middle\">{}s</text>",
            x(value),
            height - BOTTOM + 16.0,
            short(value)
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{LEFT}\" y=\"16\" class=\"label\">{}</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" class=\"label\" text-anchor=\"end\">seconds since start</text>",
        escape(y_label),
        WIDTH - RIGHT,
        height - 4.0
    );
    for (line, (legend_x, legend_y)) in series.iter().zip(legend) {
        let drawable = |v: f64| v.is_finite() && (scale == Scale::Linear || v > 0.0);
        for run in line
            .points
            .split(|p| !drawable(p.1))
            .filter(|run| !run.is_empty())
        {
            if let [(px, py)] = run {
                let _ = write!(
                    svg,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{}\"/>",
                    x(*px),
                    y(*py),
                    line.color
                );
                continue;
            }
            let points: Vec<String> = run
                .iter()
                .map(|&(px, py)| format!("{:.1},{:.1}", x(px), y(py)))
                .collect();
            let _ = write!(
                svg,
                "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{} points=\"{}\"/>",
                line.color,
                if line.dashed {
                    " stroke-dasharray=\"6 3\""
                } else {
                    ""
                },
                points.join(" ")
            );
        }
        let _ = write!(
            svg,
            "<rect x=\"{legend_x:.1}\" y=\"{legend_y:.1}\" width=\"12\" height=\"4\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"legend\">{}</text>",
            line.color,
            legend_x + 16.0,
            legend_y + 6.0,
            escape(&line.label)
        );
    }
    for (index, switch) in switches.iter().enumerate() {
        let label_y = top + 12.0 + 12.0 * (index % 3) as f64;
        switch_marker(&mut svg, switch, x(switch.at_s), label_y, height - BOTTOM);
    }
    svg.push_str("</svg>");
    svg
}

/// A fault switch on a time chart: a dashed vertical line from above `label_y` down to `bottom` at
/// `x`, labelled with the faults' names (`+bola −racy-id`), the full specs in its tooltip.
fn switch_marker(svg: &mut String, switch: &FaultSwitchAt, x: f64, label_y: f64, bottom: f64) {
    let name = |spec: &String| spec.split(':').next().unwrap_or_default().to_owned();
    let label: Vec<String> = switch
        .on
        .iter()
        .map(|spec| format!("+{}", name(spec)))
        .chain(switch.off.iter().map(|off| format!("\u{2212}{off}")))
        .collect();
    let title: Vec<String> = switch
        .on
        .iter()
        .map(|spec| format!("on {spec}"))
        .chain(switch.off.iter().map(|off| format!("off {off}")))
        .collect();
    let _ = write!(
        svg,
        "<g class=\"fault-switch\"><title>fault switch at {:.3} s: {}</title>\
         <line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{bottom:.1}\" stroke=\"{SWITCH_COLOR}\" \
         stroke-dasharray=\"3 3\"/><text x=\"{:.1}\" y=\"{label_y:.1}\" class=\"tick\" \
         fill=\"{SWITCH_COLOR}\">{}</text></g>",
        switch.at_s,
        escape(&title.join("; ")),
        label_y - 10.0,
        x + 3.0,
        escape(&label.join(" "))
    );
}

/// Start time, command line, settings and the overall verdict.
fn header(page: &mut String, report: &Report) {
    let started =
        time::OffsetDateTime::from_unix_timestamp_nanos((report.started_at_unix_s * 1e9) as i128)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| "unknown".into());
    let mut reasons = Vec::new();
    let breached: Vec<&str> = report
        .thresholds
        .iter()
        .filter(|v| !v.passed)
        .map(|v| v.threshold.as_str())
        .collect();
    if !breached.is_empty() {
        reasons.push(format!("threshold breached: {}", breached.join(", ")));
    }
    if report.figures.requests.violation > 0 {
        reasons.push(format!(
            "{} violation(s)",
            report.figures.requests.violation
        ));
    }
    if report.figures.requests.pass == 0 {
        reasons.push("no request passed".into());
    }
    let (class, verdict) = if reasons.is_empty() {
        ("pass", "PASS".to_owned())
    } else {
        ("fail", format!("FAIL — {}", reasons.join("; ")))
    };
    let _ = write!(
        page,
        "<p class=\"verdict {class}\">{}</p>",
        escape(&verdict)
    );
    let w = &report.workload;
    let optional = |v: Option<String>| v.unwrap_or_else(|| "—".into());
    let _ = write!(
        page,
        "<table class=\"settings\"><tr><th>started</th><td>{}</td></tr>\
         <tr><th>command</th><td><code>{}</code></td></tr>\
         <tr><th>workload</th><td>{} model, {} users, loops {}, rate {}, spawn rate {}, \
         duration limit {}, wait {}, timeout {} s, {} thread(s)</td></tr>\
         <tr><th>ran</th><td>{:.3} s, stopped by {}, {} iterations</td></tr></table>",
        escape(&started),
        escape(report.command_line.as_deref().unwrap_or("(not recorded)")),
        w.model,
        w.users,
        optional(w.loops.map(|l| l.to_string())),
        optional(w.rate.map(|r| format!("{r}/s"))),
        optional(w.spawn_rate.map(|r| format!("{r}/s"))),
        optional(w.duration_limit_s.map(|d| format!("{d} s"))),
        escape(&w.wait),
        w.timeout_s,
        w.threads,
        report.duration_s,
        report.stopped_by.as_str(),
        report.iterations,
    );
}

/// A bar per latency bucket (log-spaced, 1-2-5 per decade) of all passed requests, read back from
/// the report's HdrHistogram.
fn histogram(report: &Report) -> Option<String> {
    let latency = crate::stats::Latency::decode(&report.figures.histogram)?;
    if latency.count() == 0 {
        return None;
    }
    let (min_us, max_us) = (
        latency.min().as_micros().max(1) as f64,
        latency.max().as_micros().max(1) as f64,
    );
    let mut bounds = Vec::new();
    let mut decade = 10f64.powf(min_us.log10().floor());
    'outer: loop {
        for m in [1.0, 2.0, 5.0] {
            let bound = decade * m;
            if bound >= min_us {
                bounds.push(bound);
            }
            if bound >= max_us {
                break 'outer;
            }
        }
        decade *= 10.0;
    }
    let mut below = 0;
    let bars: Vec<(f64, u64)> = bounds
        .iter()
        .map(|&bound| {
            let cumulative = latency.count_at_or_below_us(bound as u64);
            let count = cumulative.saturating_sub(below);
            below = cumulative;
            (bound, count)
        })
        .collect();
    let top = bars.iter().map(|b| b.1).max().unwrap_or(1).max(1) as f64;
    let (plot_w, plot_h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let width = plot_w / bars.len() as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\"><title>latency histogram</title>\
         <text x=\"{LEFT}\" y=\"16\" class=\"label\">requests per bucket (upper bound in ms)</text>"
    );
    for (index, (bound, count)) in bars.iter().enumerate() {
        let h = *count as f64 / top * plot_h;
        let x = LEFT + index as f64 * width;
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{}\"><title>≤ {} ms: {count}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"middle\">{}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"middle\">{}</text>",
            x + 2.0,
            TOP + plot_h - h,
            (width - 4.0).max(1.0),
            COLORS[0],
            short(bound / 1e3),
            x + width / 2.0,
            HEIGHT - BOTTOM + 16.0,
            short(bound / 1e3),
            x + width / 2.0,
            (TOP + plot_h - h - 4.0).max(TOP),
            count
        );
    }
    svg.push_str("</svg>");
    Some(svg)
}

/// The report's fields that are not figures (evidence, findings, score, whatever a scenario
/// reports), each as a table, read generically from the report's JSON form.
fn findings(page: &mut String, report: &Report) {
    const FIGURES: &[&str] = &[
        "schema_version",
        "scenario",
        "target",
        "started_at_unix_s",
        "duration_s",
        "stopped_by",
        "workload",
        "iterations",
        "requests",
        "violations",
        "rps",
        "latency_ms",
        "latency_corrected_ms",
        "histogram",
        "histogram_corrected",
        "first_violation_after_s",
        "open_model",
        "endpoints",
        "failure_reasons",
        "self_check",
        "thresholds",
        "intervals",
        // Rendered on their own: the evidence table, the status codes and preflight in the
        // summary tables.
        "evidence",
        "status_codes",
        "preflight",
    ];
    let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(report) else {
        return;
    };
    for (key, value) in fields {
        if FIGURES.contains(&key.as_str()) || key == "command_line" {
            continue;
        }
        let empty = match &value {
            serde_json::Value::Null => true,
            serde_json::Value::Array(items) => items.is_empty(),
            serde_json::Value::Object(map) => map.is_empty(),
            _ => false,
        };
        if empty {
            continue;
        }
        let _ = write!(
            page,
            "<h2>{}</h2><div class=\"wide\">",
            escape(&key.replace('_', " "))
        );
        value_table(page, &value);
        page.push_str("</div>");
    }
}

/// Shows rows at most, so a run with 100,000 findings still opens.
const MAX_ROWS: usize = 200;

fn value_table(page: &mut String, value: &serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Array(items) if items.iter().all(Value::is_object) => {
            let mut columns: Vec<&str> = Vec::new();
            for item in items.iter().take(MAX_ROWS) {
                for key in item.as_object().into_iter().flat_map(|m| m.keys()) {
                    if !columns.contains(&key.as_str()) {
                        columns.push(key);
                    }
                }
            }
            page.push_str("<table class=\"findings\"><tr>");
            for column in &columns {
                let _ = write!(page, "<th>{}</th>", escape(column));
            }
            page.push_str("</tr>");
            for item in items.iter().take(MAX_ROWS) {
                page.push_str("<tr>");
                for column in &columns {
                    let _ = write!(page, "<td>{}</td>", escape(&cell(item.get(*column))));
                }
                page.push_str("</tr>");
            }
            page.push_str("</table>");
            if items.len() > MAX_ROWS {
                let _ = write!(
                    page,
                    "<p>… and {} more (see the JSON report)</p>",
                    items.len() - MAX_ROWS
                );
            }
        }
        Value::Object(map) => {
            page.push_str("<table class=\"findings\">");
            for (key, value) in map {
                let _ = write!(
                    page,
                    "<tr><th>{}</th><td>{}</td></tr>",
                    escape(key),
                    escape(&cell(Some(value)))
                );
            }
            page.push_str("</table>");
        }
        other => {
            let _ = write!(page, "<p>{}</p>", escape(&cell(Some(other))));
        }
    }
}

fn cell(value: Option<&serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(serde_json::Value::Number(n)) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{f:.3}"),
            _ => n.to_string(),
        },
        Some(other) => other.to_string(),
    }
}

fn summary(page: &mut String, report: &Report) {
    let figures = &report.figures;
    let requests = &figures.requests;
    let latency = &figures.latency_ms;
    let _ = write!(
        page,
        "<pre class=\"summary\">Total requests: {}, pass: {}, fail: {}, exception: {}\n\
         Request per Second - mean: {:.2}\n\
         Time per Request - mean: {:.6}, min: {:.6}, max: {:.6}\n\
         Violations - leak: {}, lost_write: {}, corrupt: {}, denied: {}, anonymous: {}, resurrect: {}, timeout: {}\n\
         Total test time: {:.3} seconds, stopped by {}; {} model, {} users, {} thread(s)</pre>",
        requests.total,
        requests.pass,
        requests.fail,
        requests.exception,
        figures.rps,
        latency.mean / 1e3,
        latency.min / 1e3,
        latency.max / 1e3,
        figures.violations.leak,
        figures.violations.lost_write,
        figures.violations.corrupt,
        figures.violations.denied,
        figures.violations.anonymous,
        figures.violations.resurrect,
        figures.violations.timeout,
        report.duration_s,
        report.stopped_by.as_str(),
        report.workload.model,
        report.workload.users,
        report.workload.threads,
    );
    if !report.workers.is_empty() {
        page.push_str("<h2>Workers</h2><table><tr><th>worker</th><th>requests</th><th>fail</th><th>violation</th><th>rps</th><th>p50 ms</th><th>p99 ms</th><th>late s</th><th>check</th></tr>");
        for row in &report.workers {
            let _ = write!(
                page,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{}</td></tr>",
                escape(&row.who()),
                row.requests.total,
                row.requests.fail,
                row.requests.violation,
                row.rps,
                row.p50_ms,
                row.p99_ms,
                row.late_s,
                escape(&row.verdict())
            );
        }
        page.push_str("</table>");
    }
    let check = &report.self_check;
    if check.suspect {
        let _ = write!(
            page,
            "<p class=\"warn\">Figures are suspect: {}</p>",
            escape(&check.notes.join("; "))
        );
    }
}

fn tables(page: &mut String, report: &Report) {
    let rows: Vec<(&str, &LatencyMs, u64, f64)> = report
        .endpoints
        .iter()
        .map(|e| {
            (
                e.name.as_str(),
                &e.figures.latency_ms,
                e.figures.requests.total,
                e.figures.rps,
            )
        })
        .chain([(
            "all",
            &report.figures.latency_ms,
            report.figures.requests.total,
            report.figures.rps,
        )])
        .collect();
    latency_table(page, "Latency of passed requests (ms)", &rows);
    if let Some(note) = super::text::preflight_note(report) {
        let _ = write!(page, "<p class=\"note\">{}</p>", escape(&note));
    }
    if let Some(corrected) = &report.figures.latency_corrected_ms {
        let rows: Vec<_> = report
            .endpoints
            .iter()
            .filter_map(|e| {
                let l = e.figures.latency_corrected_ms.as_ref()?;
                Some((e.name.as_str(), l, e.figures.requests.total, e.figures.rps))
            })
            .chain([(
                "all",
                corrected,
                report.figures.requests.total,
                report.figures.rps,
            )])
            .collect();
        latency_table(
            page,
            "Corrected latency, from each intended start (ms)",
            &rows,
        );
    }
    page.push_str("<h2>Outcomes per request name</h2><table><tr><th>name</th><th>total</th><th>pass</th><th>fail</th><th>exception</th><th>timeout</th><th>leak</th><th>lost_write</th><th>corrupt</th><th>denied</th><th>anonymous</th><th>resurrect</th><th class=\"codes\">status codes</th></tr>");
    let all = super::Endpoint {
        name: "all".into(),
        figures: report.figures.clone(),
    };
    for endpoint in report.endpoints.iter().chain([&all]) {
        let (r, v) = (&endpoint.figures.requests, &endpoint.figures.violations);
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"codes\">{}</td></tr>",
            escape(&endpoint.name),
            r.total,
            r.pass,
            r.fail,
            r.exception,
            v.timeout,
            v.leak,
            v.lost_write,
            v.corrupt,
            v.denied,
            v.anonymous,
            v.resurrect,
            escape(&endpoint.figures.status_line().unwrap_or_default())
        );
    }
    page.push_str("</table>");
    if let Some(open) = &report.open_model {
        let _ = write!(
            page,
            "<h2>Open model</h2><table><tr><th>rate/s</th><th>scheduled</th><th>started</th><th>late</th><th>dropped</th></tr>\
             <tr><td>{:.2}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>",
            open.rate, open.scheduled, open.started, open.late, open.dropped
        );
    }
    if !report.failure_reasons.is_empty() {
        page.push_str("<h2>First distinct failure reasons</h2><table class=\"reasons\"><tr><th>count</th><th>name</th><th>outcome</th><th>reason</th></tr>");
        for reason in &report.failure_reasons {
            let _ = write!(
                page,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                reason.count,
                escape(&reason.name),
                reason.outcome,
                escape(&reason.reason)
            );
        }
        page.push_str("</table>");
    }
    if !report.thresholds.is_empty() {
        page.push_str(
            "<h2>Thresholds</h2><table><tr><th>threshold</th><th>actual</th><th>verdict</th></tr>",
        );
        for verdict in &report.thresholds {
            let _ = write!(
                page,
                "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
                escape(&verdict.threshold),
                verdict
                    .actual
                    .map_or_else(|| "no data".into(), |a| format!("{a:.3}")),
                if verdict.passed { "ok" } else { "breach" },
                if verdict.passed { "ok" } else { "BREACH" }
            );
        }
        page.push_str("</table>");
    }
    let check = &report.self_check;
    let _ = write!(
        page,
        "<h2>Self-check</h2><table><tr><th>CPU % of one core</th><th>cores</th><th>lag p50 ms</th><th>lag p99 ms</th><th>lag max ms</th><th>suspect</th></tr>\
         <tr><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td></tr></table>",
        check
            .cpu_percent
            .map_or_else(|| "n/a".into(), |c| format!("{c:.0}")),
        check.cores,
        check.scheduler_lag_ms.p50,
        check.scheduler_lag_ms.p99,
        check.scheduler_lag_ms.max,
        check.suspect
    );
}

fn latency_table(page: &mut String, title: &str, rows: &[(&str, &LatencyMs, u64, f64)]) {
    let _ = write!(
        page,
        "<h2>{}</h2><table><tr><th>name</th><th>requests</th><th>rps</th><th>min</th><th>mean</th>\
         <th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th></tr>",
        escape(title)
    );
    for (name, l, total, rps) in rows {
        if l.count == 0 {
            // Latencies are of passed requests: zeros would read as instant answers.
            let _ = write!(
                page,
                "<tr><td>{}</td><td>{total}</td><td>{rps:.2}</td><td colspan=\"8\" class=\"none\">{}</td></tr>",
                escape(name),
                super::text::NO_PASSED_REQUEST
            );
            continue;
        }
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{total}</td><td>{rps:.2}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td>\
             <td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td></tr>",
            escape(name),
            l.min,
            l.mean,
            l.p50,
            l.p90,
            l.p95,
            l.p99,
            l.p999,
            l.max
        );
    }
    page.push_str("</table>");
}

/// The smallest 1, 2 or 5 times a power of ten at or above `value` (axis top), at least 1.
fn nice(value: f64) -> f64 {
    if value <= 1.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|&top| top >= value)
        .unwrap_or(10.0 * magnitude)
}

/// A tick label: integers plainly, small values with up to two decimals.
fn short(value: f64) -> String {
    if value >= 10_000.0 {
        format!("{:.0}k", value / 1000.0)
    } else if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    }
}

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:1240px;padding:0 16px;color:#222}\
h1{font-size:20px}h2{font-size:16px;margin-top:28px}\
.chart{width:100%;height:auto;border:1px solid #ddd;background:#fff}\
.grid{stroke:#eee}.tick{font-size:11px;fill:#555}.label{font-size:12px;fill:#333}.legend{font-size:12px;fill:#333}\
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}\
td:first-child,th:first-child{text-align:left}th{background:#f4f4f4}\
pre.summary{background:#f7f7f7;padding:10px;border:1px solid #ddd}.warn{color:#a00;font-weight:bold}\
.breach{color:#a00;font-weight:bold}.ok{color:#070}footer{margin-top:32px;color:#777;font-size:12px}\
.verdict{font-size:18px;font-weight:bold;padding:8px 12px;border-radius:4px}\
.verdict.pass{background:#e6f4ea;color:#0a5c2b}.verdict.fail{background:#fde7e7;color:#a00}\
table.settings th{text-align:left;width:110px}table.settings td{text-align:left}\
table.findings td{text-align:left;font-size:12px;max-width:420px;overflow-wrap:anywhere}\
.wide{overflow-x:auto}td.none{text-align:center;color:#777;font-style:italic}td.codes,th.codes{text-align:left}table.reasons td,table.reasons th{text-align:left}\
p.note{color:#444;font-size:13px}\
table.evidence td{text-align:left;vertical-align:top;font-size:12px;overflow-wrap:anywhere}\
table.evidence th{text-align:left}table.evidence td:first-child,table.evidence td.class{white-space:nowrap}\
table.evidence td:nth-child(3){min-width:280px}table.evidence td:nth-child(4){max-width:240px}\
table.evidence td:nth-child(6){max-width:340px}table.evidence td.class{font-weight:bold;color:#6A0DAD}\
table.evidence tr.more td{border-top:none}table.evidence summary{cursor:pointer;color:#555}\
table.spans td,table.spans th{font-size:11px;padding:1px 6px}\
.logscale{display:none}#log:checked~.logscale{display:block}#log:checked~.lin{display:none}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(
            nice(0.3),
            1.0,
            "nice rounds up to 1, 2 or 5 times a power of ten"
        );
        assert_eq!(
            nice(3.0),
            5.0,
            "nice rounds up to 1, 2 or 5 times a power of ten"
        );
        assert_eq!(
            nice(201.0),
            500.0,
            "nice rounds up to 1, 2 or 5 times a power of ten"
        );
        assert_eq!(nice(1000.0), 1000.0, "a nice number stays");
        assert_eq!(short(0.25), "0.25", "short keeps small fractions");
        assert_eq!(short(12_000.0), "12k", "short writes thousands as k");
    }

    fn line(label: &str, points: &[(f64, f64)]) -> Series {
        Series {
            label: label.to_owned(),
            color: COLORS[0],
            points: points.to_vec(),
            dashed: false,
        }
    }

    #[test]
    fn an_interval_without_a_passed_request_is_a_gap_not_zero() {
        let gap = line(
            "p99",
            &[
                (1.0, 5.0),
                (2.0, 6.0),
                (3.0, f64::NAN),
                (4.0, 7.0),
                (5.0, 8.0),
            ],
        );
        let svg = chart("ms", &[gap], Scale::Linear, &[]);
        assert_eq!(
            svg.matches("<polyline").count(),
            2,
            "two runs around the gap: {svg}"
        );
        assert!(!svg.contains("NaN"), "no NaN coordinate reaches the SVG");
    }

    #[test]
    fn legend_entries_stay_on_the_canvas_and_apart() {
        let many: Vec<Series> = (0..12)
            .map(|i| {
                line(
                    &format!("a rather long request name {i} passed/s"),
                    &[(1.0, 1.0)],
                )
            })
            .collect();
        let svg = chart("requests per second", &many, Scale::Linear, &[]);
        let xs: Vec<f64> = svg
            .split("<rect x=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(xs.len(), 12, "one x per interval");
        for x in &xs {
            assert!(
                *x >= LEFT && *x < WIDTH - RIGHT,
                "legend x {x} inside the plot's width"
            );
        }
        let rows = svg.matches("class=\"legend\"").count();
        assert_eq!(rows, 12, "every entry drawn");
    }

    #[test]
    fn the_log_scale_skips_zero_values() {
        let svg = chart(
            "ms",
            &[line("p99", &[(1.0, 0.0), (2.0, 10.0), (3.0, 100.0)])],
            Scale::Log,
            &[],
        );
        assert_eq!(
            svg.matches("<polyline").count(),
            1,
            "one line per series: {svg}"
        );
        assert!(!svg.contains("inf") && !svg.contains("NaN"), "{svg}");
    }

    #[test]
    fn a_fault_switch_is_a_labelled_line_on_every_time_chart() {
        use crate::stats::{Timing, Window};
        let mut totals = Window::new(1);
        let ok = Timing {
            status: Some(200),
            ..Timing::closed(std::time::Duration::from_millis(2))
        };
        totals.record(0, crate::checks::Outcome::Pass, ok);
        let mut report = super::super::sample::report(&["read"], totals);
        let without = render(&report);
        assert!(
            !without.contains("fault-switch"),
            "no marker without a switch"
        );
        report.fault_switches = vec![FaultSwitchAt {
            at_s: 0.5,
            on: vec!["racy-id:barrier=0,p=1,seed=0,window=3ms".into()],
            off: vec!["bola".into()],
        }];
        let page = render(&report);
        let charts = page.matches("<svg class=\"chart\"").count();
        let markers = page.matches("<g class=\"fault-switch\">").count();
        assert!(
            markers >= 4 && markers <= charts,
            "one marker on each time chart ({markers} markers, {charts} charts)"
        );
        assert!(
            page.contains("+racy-id \u{2212}bola</text>"),
            "the marker names the faults switched on and off"
        );
        assert!(
            page.contains("on racy-id:barrier=0,p=1,seed=0,window=3ms; off bola</title>"),
            "its tooltip gives the full specs"
        );
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&"),
            "&lt;a href=&quot;x&quot;&gt;&amp;",
            "HTML special characters are escaped"
        );
    }

    #[test]
    fn evidence_rows_fold_their_timings_and_an_unpassed_name_says_so() {
        use crate::{
            checks::Outcome,
            scenario::findings::{Evidence, Span},
            stats::{Timing, Window},
        };
        let mut totals = Window::new(2);
        let ok = Timing {
            status: Some(200),
            ..Timing::closed(std::time::Duration::from_millis(2))
        };
        totals.record(0, Outcome::Pass, ok);
        totals.record(1, Outcome::Leak, ok);
        let mut report = super::super::sample::report(&["read", "list"], totals);
        let span = Span {
            user: 3,
            step: "create".into(),
            request: "POST /api/v1/cities".into(),
            sent_s: 0.1,
            first_byte_s: Some(0.2),
            last_byte_s: Some(0.2),
        };
        report.evidence = vec![Evidence {
            class: "leak".into(),
            observer: 7,
            victim: Some(3),
            step: "list".into(),
            request: "GET /api/v1/cities".into(),
            expected: "its own records only".into(),
            actual: "200 {\"data\":[]}".into(),
            message: "user 7 listed its records and got c.3.1 created by user 3".into(),
            recent: vec![span.clone()],
            overlapping: vec![span],
            ..Evidence::default()
        }];
        let page = render(&report);
        assert!(
            page.contains("user 7 saw user 3's data"),
            "the row says who saw whose data"
        );
        assert!(
            page.contains("<details><summary>ids and timings: 1 recent request of the two users, 1 other request in flight with it</summary>"),
            "the timing arrays are folded into a details element"
        );
        assert!(!page.contains("[{&quot;"), "no raw JSON array is shown");
        assert!(
            page.contains("<td colspan=\"8\" class=\"none\">no passed request</td>"),
            "the list row says it has no passed request instead of zeros"
        );
        assert!(
            page.contains("<td class=\"codes\">200: 1</td>"),
            "the outcomes table lists the status codes"
        );
    }
}
