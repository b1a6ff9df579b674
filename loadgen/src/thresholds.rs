//! CI thresholds: `p99<250ms`, `fail_rate<0.01`, `rps>100`, `read:p95<50ms`.
//!
//! A threshold is `[NAME:]METRIC OP VALUE`. Without a name it applies to all requests together.
//! Latency metrics (`min`, `mean`, `p50`, `p90`, `p95`, `p99`, `p999`, `max`) take a duration with
//! a unit and read the passed requests' latency, the *corrected* one in the open model (the honest
//! figure); `fail_rate` is the share of requests that did not pass (0..1; no data, so a breach,
//! when no request ended); `rps` passed requests per second; counters (`requests`, `fail`,
//! `exception`, `timeout`, `leak`, `lost_write`, `corrupt`, `denied`, `anonymous`, `resurrect`, `violations`) compare counts,
//! and `dropped` the open model's iterations due but never started. Any breach makes the exit code 1.

use std::fmt;

use serde::{Deserialize, Serialize};
use shared::duration::parse_duration;

use crate::summary::{Figures, Judged, LatencyMs};

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn holds(self, actual: f64, limit: f64) -> bool {
        match self {
            Op::Lt => actual < limit,
            Op::Le => actual <= limit,
            Op::Gt => actual > limit,
            Op::Ge => actual >= limit,
        }
    }
}

/// What a threshold measures.
#[derive(Debug, Clone, Copy)]
pub enum Metric {
    /// A latency field, in milliseconds.
    Latency(fn(&LatencyMs) -> f64),
    FailRate,
    Rps,
    Count(fn(&Figures) -> u64),
    /// Open model: iterations due but never started (0 in the closed model).
    Dropped,
}

/// One parsed `--threshold`.
#[derive(Debug, Clone)]
pub struct Threshold {
    /// The text as given, for messages.
    pub text: String,
    /// A request name, or `None` for all requests.
    pub name: Option<String>,
    pub metric: Metric,
    pub op: Op,
    /// Milliseconds for latency metrics, a plain number otherwise.
    pub limit: f64,
}

/// How a threshold fared.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verdict {
    pub threshold: String,
    /// The measured value (ms for latencies); `null` when the request name never ran.
    pub actual: Option<f64>,
    pub passed: bool,
}

impl Threshold {
    /// clap `value_parser`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let (name, rest) = match compact.split_once(':') {
            Some((name, rest)) if !name.is_empty() => (Some(name.to_owned()), rest),
            Some(_) => return Err(format!("threshold `{text}` has an empty request name")),
            None => (None, compact.as_str()),
        };
        let at = rest.find(['<', '>']).ok_or_else(|| {
            format!("threshold `{text}` needs a comparison: METRIC<VALUE or METRIC>VALUE")
        })?;
        let (metric_name, rest) = rest.split_at(at);
        let (op, value) = if let Some(value) = rest.strip_prefix("<=") {
            (Op::Le, value)
        } else if let Some(value) = rest.strip_prefix(">=") {
            (Op::Ge, value)
        } else if let Some(value) = rest.strip_prefix('<') {
            (Op::Lt, value)
        } else {
            (Op::Gt, &rest[1..])
        };
        let metric = metric(metric_name).ok_or_else(|| {
            format!(
                "threshold `{text}`: unknown metric `{metric_name}`; use p50, p90, p95, p99, p999, \
                 min, mean, max, fail_rate, rps, requests, fail, exception, timeout, leak, \
                 lost_write, corrupt, denied, anonymous, resurrect, violations or dropped"
            )
        })?;
        let limit = match metric {
            Metric::Latency(_) => {
                parse_duration(value)
                    .map_err(|error| format!("threshold `{text}`: {error}"))?
                    .as_secs_f64()
                    * 1e3
            }
            _ => value
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("threshold `{text}`: `{value}` is not a number"))?,
        };
        Ok(Self {
            text: text.trim().to_owned(),
            name,
            metric,
            op,
            limit,
        })
    }

    /// Whether the threshold's request name is `step`. Spaces do not count, as the threshold is
    /// read without them: `GET /json:p99<1s` names the request `GET /json`.
    pub fn names(&self, step: &str) -> bool {
        self.name
            .as_deref()
            .is_some_and(|name| step.chars().filter(|c| !c.is_whitespace()).eq(name.chars()))
    }

    /// Checks the threshold against a finished run's figures.
    pub fn evaluate(&self, run: &Judged<'_>) -> Verdict {
        let figures = match &self.name {
            None => Some(run.all),
            Some(_) => run
                .endpoints
                .iter()
                .find(|e| self.names(&e.name))
                .map(|e| &e.figures),
        };
        let actual = figures.and_then(|figures| match self.metric {
            Metric::Latency(field) => {
                let latency = figures
                    .latency_corrected_ms
                    .as_ref()
                    .unwrap_or(&figures.latency_ms);
                (latency.count > 0).then(|| field(latency))
            }
            // No completed request has no failure rate: "0 of 0 failed" must not hold a gate.
            Metric::FailRate => (figures.requests.total > 0).then(|| figures.requests.fail_rate()),
            Metric::Rps => Some(figures.rps),
            Metric::Count(field) => Some(field(figures) as f64),
            Metric::Dropped => Some(run.open.map_or(0, |open| open.dropped) as f64),
        });
        Verdict {
            threshold: self.text.clone(),
            actual,
            passed: actual.is_some_and(|actual| self.op.holds(actual, self.limit)),
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn metric(name: &str) -> Option<Metric> {
    Some(match name {
        "min" => Metric::Latency(|l| l.min),
        "mean" | "avg" => Metric::Latency(|l| l.mean),
        "p50" | "median" => Metric::Latency(|l| l.p50),
        "p90" => Metric::Latency(|l| l.p90),
        "p95" => Metric::Latency(|l| l.p95),
        "p99" => Metric::Latency(|l| l.p99),
        "p999" | "p99.9" => Metric::Latency(|l| l.p999),
        "max" => Metric::Latency(|l| l.max),
        "fail_rate" | "error_rate" => Metric::FailRate,
        "rps" => Metric::Rps,
        "requests" => Metric::Count(|f| f.requests.total),
        "fail" => Metric::Count(|f| f.requests.fail),
        "exception" => Metric::Count(|f| f.requests.exception),
        "timeout" => Metric::Count(|f| f.violations.timeout),
        "leak" => Metric::Count(|f| f.violations.leak),
        "lost_write" => Metric::Count(|f| f.violations.lost_write),
        "corrupt" => Metric::Count(|f| f.violations.corrupt),
        "denied" => Metric::Count(|f| f.violations.denied),
        "anonymous" => Metric::Count(|f| f.violations.anonymous),
        "resurrect" => Metric::Count(|f| f.violations.resurrect),
        "violations" => Metric::Count(|f| f.requests.violation),
        "dropped" => Metric::Dropped,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_operators_and_units() {
        let t = Threshold::parse("read:p95<50ms").unwrap();
        assert_eq!(
            t.name.as_deref(),
            Some("read"),
            "name:metric names the request"
        );
        assert_eq!(t.op, Op::Lt, "< is less than");
        assert!(
            (t.limit - 50.0).abs() < 1e-9,
            "ms limits are in ms: {}",
            t.limit
        );
        let t = Threshold::parse("rps >= 100").unwrap();
        assert_eq!(
            (t.name, t.op, t.limit),
            (None, Op::Ge, 100.0),
            "a threshold without a name applies to all; >= is at least"
        );
        let t = Threshold::parse("p99<0.25s").unwrap();
        assert!(
            (t.limit - 250.0).abs() < 1e-9,
            "a limit in s is converted to ms: {}",
            t.limit
        );
        assert!(
            Threshold::parse("fail_rate<0.01").is_ok(),
            "fail_rate takes a bare fraction"
        );
    }

    #[test]
    fn rejects_unknown_metrics_bare_latencies_and_missing_operators() {
        assert!(
            Threshold::parse("p98<1s")
                .unwrap_err()
                .contains("unknown metric"),
            "an unknown metric is refused, saying so"
        );
        assert!(
            Threshold::parse("p99<250").unwrap_err().contains("no unit"),
            "a latency limit without a unit is refused, saying so"
        );
        assert!(
            Threshold::parse("p99=1s")
                .unwrap_err()
                .contains("comparison"),
            "= is not a comparison, saying so"
        );
        assert!(
            Threshold::parse("rps>fast")
                .unwrap_err()
                .contains("not a number"),
            "a limit that is not a number is refused, saying so"
        );
        assert!(
            Threshold::parse(":p99<1s").is_err(),
            "an empty request name is refused"
        );
    }
}
