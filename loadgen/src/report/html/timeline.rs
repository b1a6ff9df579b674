//! The evidence timeline of the HTML report: around the first violation that carries request
//! times, one row per user (the observer first) with its recent requests as bars on a shared time
//! axis; the observer's violating request and the victim's request in flight with it (the racing
//! pair `loadgen repro` would pick first) are highlighted. Inline SVG, no script.

use std::fmt::Write;

use super::{VIOLATION_COLOR, escape};
use crate::scenario::findings::{Evidence, Span};

const WIDTH: f64 = 960.0;
const LEFT: f64 = 110.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 24.0;
const ROW: f64 = 30.0;
const BAR: f64 = 18.0;
const BAR_COLOR: &str = "#9DB8D9";

/// The timeline of the first violation with request times, if any.
pub fn render(evidence: &[Evidence]) -> Option<String> {
    let first = evidence.iter().find(|e| e.sent_s.is_some())?;
    let observed = Span {
        user: first.observer,
        step: first.step.clone(),
        request: first.request.clone(),
        sent_s: first.sent_s?,
        first_byte_s: first.first_byte_s,
        last_byte_s: first.last_byte_s,
    };
    let mut spans: Vec<Span> = first
        .recent
        .iter()
        .chain(&first.overlapping)
        .filter(|s| !(s.user == observed.user && s.sent_s == observed.sent_s))
        .cloned()
        .collect();
    spans.push(observed.clone());
    spans.sort_by(|a, b| a.sent_s.total_cmp(&b.sent_s));
    spans.dedup_by(|a, b| a.user == b.user && a.sent_s == b.sent_s);
    let racing = first
        .overlapping
        .iter()
        .filter(|s| first.victim.is_none_or(|v| s.user == v))
        .min_by(|a, b| {
            (a.sent_s - observed.sent_s)
                .abs()
                .total_cmp(&(b.sent_s - observed.sent_s).abs())
        })
        .cloned();
    let mut users: Vec<usize> = vec![observed.user];
    if let Some(victim) = first.victim {
        users.push(victim);
    }
    for span in &spans {
        if !users.contains(&span.user) {
            users.push(span.user);
        }
    }
    let start = spans.iter().map(|s| s.sent_s).fold(f64::INFINITY, f64::min);
    let end = spans
        .iter()
        .map(|s| s.last_byte_s.unwrap_or(s.sent_s))
        .chain(first.last_byte_s)
        .fold(f64::NEG_INFINITY, f64::max);
    let span_s = (end - start).max(1e-6);
    let x = |t: f64| LEFT + (t - start) / span_s * (WIDTH - LEFT - RIGHT);
    let height = TOP + ROW * users.len() as f64 + 24.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"timeline\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" role=\"img\" \
         aria-label=\"requests around the first violation\">"
    );
    for (row, user) in users.iter().enumerate() {
        let y = TOP + ROW * row as f64;
        let role = if *user == observed.user {
            "observer"
        } else if Some(*user) == first.victim {
            "victim"
        } else {
            "user"
        };
        let _ = write!(
            svg,
            "<text x=\"4\" y=\"{:.1}\" font-size=\"12\">{role} {user}</text>",
            y + BAR * 0.75
        );
        for span in spans.iter().filter(|s| s.user == *user) {
            let highlighted = (span.user == observed.user && span.sent_s == observed.sent_s)
                || racing.as_ref() == Some(span);
            let left = x(span.sent_s);
            let right = x(span.last_byte_s.unwrap_or(end)).max(left + 2.0);
            let color = if highlighted {
                VIOLATION_COLOR
            } else {
                BAR_COLOR
            };
            let dash = if span.last_byte_s.is_none() {
                " stroke-dasharray=\"4 2\" stroke=\"#333\""
            } else {
                ""
            };
            let title = format!(
                "{} {} sent {:.6} s, {}",
                span.step,
                span.request,
                span.sent_s,
                span.last_byte_s
                    .map_or("still in flight".to_owned(), |e| format!("ended {e:.6} s"))
            );
            let _ = write!(
                svg,
                "<rect x=\"{left:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{BAR}\" fill=\"{color}\"{dash}><title>{}</title></rect>\
                 <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">{}</text>",
                right - left,
                escape(&title),
                left + 2.0,
                y + BAR * 0.7,
                escape(&span.step)
            );
        }
    }
    let axis = TOP + ROW * users.len() as f64 + 12.0;
    for k in 0..=4 {
        let t = start + span_s * f64::from(k) / 4.0;
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{axis:.1}\" font-size=\"10\">{:.1} ms</text>",
            x(t) - 12.0,
            (t - observed.sent_s) * 1e3
        );
    }
    svg.push_str("</svg>");
    Some(format!(
        "<h2>Timeline of the first violation</h2><p>{}. Times are relative to the observer's \
         request; highlighted: the observer's request and the victim's in flight with it; dashed: \
         still in flight when the answer came.</p>{svg}",
        escape(&first.message)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(user: usize, step: &str, sent: f64, end: Option<f64>) -> Span {
        Span {
            user,
            step: step.into(),
            request: format!("GET /{step}"),
            sent_s: sent,
            first_byte_s: end,
            last_byte_s: end,
        }
    }

    #[test]
    fn draws_one_row_per_user_and_highlights_the_pair() {
        let evidence = Evidence {
            class: "leak".into(),
            observer: 3,
            victim: Some(5),
            step: "read".into(),
            request: "GET /read".into(),
            message: "user 3 read <c.5.1>".into(),
            sent_s: Some(1.0),
            last_byte_s: Some(1.004),
            overlapping: vec![span(5, "create", 1.001, None)],
            recent: vec![
                span(3, "create", 0.99, Some(0.995)),
                span(5, "list", 0.98, Some(0.985)),
            ],
            ..Evidence::default()
        };
        let html = render(&[evidence]).expect("a timeline");
        assert!(
            html.contains("observer 3") && html.contains("victim 5"),
            "{html}"
        );
        assert_eq!(
            html.matches(VIOLATION_COLOR).count(),
            2,
            "the pair is highlighted: {html}"
        );
        assert!(
            html.contains("stroke-dasharray"),
            "the in-flight request is dashed"
        );
        assert!(html.contains("&lt;c.5.1&gt;"), "the message is escaped");
    }

    #[test]
    fn no_times_no_timeline() {
        assert!(
            render(&[Evidence::default()]).is_none(),
            "evidence without spans draws no timeline"
        );
    }
}
