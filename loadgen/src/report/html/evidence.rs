//! The evidence table of the HTML report: one readable row per violation (when, which class, who
//! saw whose record, which request, what was expected and what came back), with the request
//! timings (`recent`, `overlapping`: dozens of spans each) folded into a `<details>` under the
//! row, as a small table instead of raw JSON, so a row stays one line tall until opened.

use std::fmt::Write;

use super::{MAX_ROWS, escape};
use crate::scenario::findings::{Evidence, Span};

/// The section, or `None` without evidence.
pub fn render(evidence: &[Evidence]) -> Option<String> {
    if evidence.is_empty() {
        return None;
    }
    let mut html = String::from(
        "<h2>Evidence (one row per violation)</h2><div class=\"wide\"><table class=\"evidence\">\
         <tr><th>at s</th><th>class</th><th>who saw what</th><th>request</th><th>expected</th>\
         <th>what came back</th><th>in flight</th></tr>",
    );
    for item in evidence.iter().take(MAX_ROWS) {
        row(&mut html, item);
    }
    html.push_str("</table></div>");
    if evidence.len() > MAX_ROWS {
        let _ = write!(
            html,
            "<p>… and {} more (see the JSON report)</p>",
            evidence.len() - MAX_ROWS
        );
    }
    Some(html)
}

fn row(html: &mut String, item: &Evidence) {
    let who = match item.victim {
        Some(victim) => format!("user {} saw user {victim}'s data", item.observer),
        None => format!("user {}", item.observer),
    };
    let _ = write!(
        html,
        "<tr><td>{:.3}</td><td class=\"class\">{}</td><td><b>{}</b><br>{}</td>\
         <td><code>{}</code> ({})</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
        item.since_start_s,
        escape(&item.class),
        escape(&who),
        escape(&item.message),
        escape(&item.request),
        escape(&item.step),
        escape(&item.expected),
        escape(&item.actual),
        item.in_flight
    );
    let accounts = [
        ("observer account", item.observer_account.as_deref()),
        ("victim account", item.victim_account.as_deref()),
        ("record", item.record.as_deref()),
    ];
    let ids: Vec<String> = accounts
        .iter()
        .filter_map(|(what, id)| Some(format!("{what} <code>{}</code>", escape((*id)?))))
        .collect();
    if ids.is_empty() && item.recent.is_empty() && item.overlapping.is_empty() {
        return;
    }
    let _ = write!(
        html,
        "<tr class=\"more\"><td></td><td colspan=\"6\"><details><summary>ids and timings: \
         {} recent request{} of the two users, {} other request{} in flight with it</summary>",
        item.recent.len(),
        if item.recent.len() == 1 { "" } else { "s" },
        item.overlapping.len(),
        if item.overlapping.len() == 1 { "" } else { "s" },
    );
    if !ids.is_empty() {
        let _ = write!(html, "<p>{}</p>", ids.join(" · "));
    }
    spans(html, "recent (oldest first)", &item.recent);
    spans(html, "overlapping", &item.overlapping);
    html.push_str("</details></td></tr>");
}

fn spans(html: &mut String, title: &str, spans: &[Span]) {
    if spans.is_empty() {
        return;
    }
    let _ = write!(
        html,
        "<table class=\"spans\"><tr><th colspan=\"6\">{}</th></tr>\
         <tr><th>user</th><th>step</th><th>request</th><th>sent s</th><th>first byte s</th><th>last byte s</th></tr>",
        escape(title)
    );
    let time = |t: Option<f64>| t.map_or_else(|| "—".to_owned(), |t| format!("{t:.6}"));
    for span in spans {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{:.6}</td><td>{}</td><td>{}</td></tr>",
            span.user,
            escape(&span.step),
            escape(&span.request),
            span.sent_s,
            time(span.first_byte_s),
            time(span.last_byte_s)
        );
    }
    html.push_str("</table>");
}
