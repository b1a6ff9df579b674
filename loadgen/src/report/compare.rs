//! `loadgen compare BASELINE CURRENT`: per request name and overall, rps and latency percentiles
//! side by side with the change in percent, violations and fail rate side by side; and
//! `--max-regression` limits (`p99=10%,rps=5%`) that fail the comparison naming what regressed.
//!
//! Latencies are those thresholds read: the corrected ones in the open model, else the raw ones.
//! A latency regresses upwards, rps downwards, and the fail rate by percentage points (a relative
//! change from 0 % is meaningless). An unnamed limit applies to all requests together, `NAME:` to
//! one request name.

mod render;

use std::fmt;

use super::{Figures, LatencyMs, Report};

/// What a limit or a row measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Rps,
    Min,
    Mean,
    P50,
    P90,
    P95,
    P99,
    P999,
    Max,
    FailRate,
}

impl Metric {
    /// Rows of the side-by-side table, in order.
    pub const ROWS: [Metric; 9] = [
        Metric::Rps,
        Metric::Mean,
        Metric::P50,
        Metric::P90,
        Metric::P95,
        Metric::P99,
        Metric::P999,
        Metric::Max,
        Metric::FailRate,
    ];

    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "rps" => Self::Rps,
            "min" => Self::Min,
            "mean" | "avg" => Self::Mean,
            "p50" | "median" => Self::P50,
            "p90" => Self::P90,
            "p95" => Self::P95,
            "p99" => Self::P99,
            "p999" | "p99.9" => Self::P999,
            "max" => Self::Max,
            "fail_rate" | "error_rate" => Self::FailRate,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rps => "rps",
            Self::Min => "min",
            Self::Mean => "mean",
            Self::P50 => "p50",
            Self::P90 => "p90",
            Self::P95 => "p95",
            Self::P99 => "p99",
            Self::P999 => "p999",
            Self::Max => "max",
            Self::FailRate => "fail_rate",
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Self::Rps => "/s",
            Self::FailRate => "%",
            _ => "ms",
        }
    }

    /// The figure; the fail rate in percent.
    fn of(self, figures: &Figures) -> f64 {
        let latency: &LatencyMs = figures
            .latency_corrected_ms
            .as_ref()
            .unwrap_or(&figures.latency_ms);
        match self {
            Self::Rps => figures.rps,
            Self::Min => latency.min,
            Self::Mean => latency.mean,
            Self::P50 => latency.p50,
            Self::P90 => latency.p90,
            Self::P95 => latency.p95,
            Self::P99 => latency.p99,
            Self::P999 => latency.p999,
            Self::Max => latency.max,
            Self::FailRate => 100.0 * figures.requests.fail_rate(),
        }
    }

    /// How much worse `current` is than `baseline`, in the limit's unit (percent, or percentage
    /// points for the fail rate); `None` when the baseline is 0 and the change is relative.
    fn worsening(self, baseline: f64, current: f64) -> Option<f64> {
        match self {
            Self::FailRate => Some(current - baseline),
            Self::Rps => change_pct(baseline, current).map(|c| -c),
            _ => change_pct(baseline, current),
        }
    }
}

/// `(current - baseline) / baseline` in percent; `None` when the baseline is 0.
pub fn change_pct(baseline: f64, current: f64) -> Option<f64> {
    (baseline != 0.0).then(|| (current - baseline) / baseline * 100.0)
}

/// One `--max-regression` item: `p99=10%`, `read:p50=20%`.
#[derive(Debug, Clone)]
pub struct Limit {
    pub text: String,
    /// A request name; `None` for all requests together.
    pub name: Option<String>,
    pub metric: Metric,
    /// Percent (percentage points for `fail_rate`).
    pub max: f64,
}

/// A comma-separated list of limits, as one `--max-regression` value.
#[derive(Debug, Clone)]
pub struct Limits(pub Vec<Limit>);

impl Limits {
    /// clap `value_parser`.
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(Limit::parse)
            .collect::<Result<Vec<_>, _>>()
            .and_then(|limits| {
                if limits.is_empty() {
                    Err(format!("--max-regression `{text}` names no limit"))
                } else {
                    Ok(Self(limits))
                }
            })
    }
}

impl Limit {
    fn parse(item: &str) -> Result<Self, String> {
        let (scope, value) = item.split_once('=').ok_or_else(|| {
            format!("--max-regression `{item}`: write METRIC=PERCENT%, e.g. p99=10%")
        })?;
        let (name, metric_name) = match scope.split_once(':') {
            Some((name, metric)) if !name.is_empty() => (Some(name.to_owned()), metric),
            Some(_) => return Err(format!("--max-regression `{item}`: empty request name")),
            None => (None, scope),
        };
        let metric = Metric::parse(metric_name.trim()).ok_or_else(|| {
            format!(
                "--max-regression `{item}`: unknown metric `{metric_name}`; use rps, p50, p90, \
                 p95, p99, p999, min, mean, max or fail_rate"
            )
        })?;
        let number = value.trim().trim_end_matches('%').trim();
        let max: f64 = number
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| {
                format!("--max-regression `{item}`: `{value}` is not a percentage like 10%")
            })?;
        Ok(Self {
            text: item.to_owned(),
            name,
            metric,
            max,
        })
    }
}

/// One side of the comparison.
#[derive(Debug, Clone)]
pub struct Side {
    /// The file name.
    pub label: String,
    pub run_id: String,
    pub started_at_unix_s: f64,
}

/// One request name (or `all`), baseline beside current.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub baseline: Option<Figures>,
    pub current: Option<Figures>,
}

/// How one limit fared.
#[derive(Debug, Clone)]
pub struct LimitVerdict {
    pub limit: String,
    pub scope: String,
    pub metric: Metric,
    pub max: f64,
    pub baseline: Option<f64>,
    pub current: Option<f64>,
    /// In percent, or percentage points for the fail rate.
    pub worsening: Option<f64>,
    pub regressed: bool,
}

impl LimitVerdict {
    /// One line: `p99 of all: 12.100 ms -> 62.400 ms (+415.7 %, limit 10 %): REGRESSED`.
    pub fn describe(&self) -> String {
        let value = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.3}"));
        let unit = if self.metric == Metric::FailRate {
            " points"
        } else {
            " %"
        };
        let change = self.worsening.map_or_else(
            || "no baseline to compare with".to_owned(),
            |w| format!("worse by {w:+.1}{unit}"),
        );
        format!(
            "{} of {}: {} -> {} {} ({change}, limit {}{unit}): {}",
            self.metric.as_str(),
            self.scope,
            value(self.baseline),
            value(self.current),
            self.metric.unit(),
            self.max,
            if self.regressed { "REGRESSED" } else { "ok" }
        )
    }
}

/// A baseline beside a current run.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub baseline: Side,
    pub current: Side,
    pub scenario: String,
    /// `all` first, then every request name of either run.
    pub rows: Vec<Row>,
    pub violations: [(String, u64, u64); 7],
    pub verdicts: Vec<LimitVerdict>,
}

/// Why two reports cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompareError {
    #[error(
        "{current} is a `{current_scenario}` run and {baseline} a `{baseline_scenario}` one: compare runs of one scenario"
    )]
    DifferentScenarios {
        baseline: String,
        baseline_scenario: String,
        current: String,
        current_scenario: String,
    },
    #[error("--max-regression `{limit}` names `{name}`, but neither run has that request name")]
    UnknownName { limit: String, name: String },
}

impl Comparison {
    /// Compares `current` against `baseline` and judges `limits`.
    pub fn new(
        (baseline_label, baseline): (&str, &Report),
        (current_label, current): (&str, &Report),
        limits: &[Limit],
    ) -> Result<Self, CompareError> {
        if baseline.scenario != current.scenario {
            return Err(CompareError::DifferentScenarios {
                baseline: baseline_label.to_owned(),
                baseline_scenario: baseline.scenario.clone(),
                current: current_label.to_owned(),
                current_scenario: current.scenario.clone(),
            });
        }
        let mut names: Vec<&str> = baseline.endpoints.iter().map(|e| e.name.as_str()).collect();
        for endpoint in &current.endpoints {
            if !names.contains(&endpoint.name.as_str()) {
                names.push(&endpoint.name);
            }
        }
        let find = |report: &Report, name: &str| {
            report
                .endpoints
                .iter()
                .find(|e| e.name == name)
                .map(|e| e.figures.clone())
        };
        let mut rows = vec![Row {
            name: "all".into(),
            baseline: Some(baseline.figures.clone()),
            current: Some(current.figures.clone()),
        }];
        rows.extend(names.iter().map(|name| Row {
            name: (*name).to_owned(),
            baseline: find(baseline, name),
            current: find(current, name),
        }));
        let verdicts = limits
            .iter()
            .map(|limit| {
                let row = match &limit.name {
                    None => &rows[0],
                    Some(name) => rows[1..].iter().find(|r| &r.name == name).ok_or_else(|| {
                        CompareError::UnknownName {
                            limit: limit.text.clone(),
                            name: name.clone(),
                        }
                    })?,
                };
                let base = row.baseline.as_ref().map(|f| limit.metric.of(f));
                let now = row.current.as_ref().map(|f| limit.metric.of(f));
                let worsening = match (base, now) {
                    (Some(b), Some(c)) => limit.metric.worsening(b, c),
                    _ => None,
                };
                Ok(LimitVerdict {
                    limit: limit.text.clone(),
                    scope: row.name.clone(),
                    metric: limit.metric,
                    max: limit.max,
                    baseline: base,
                    current: now,
                    worsening,
                    regressed: worsening.is_some_and(|w| w > limit.max),
                })
            })
            .collect::<Result<Vec<_>, CompareError>>()?;
        let (b, c) = (baseline.figures.violations, current.figures.violations);
        let side = |report: &Report, label: &str| Side {
            label: label.to_owned(),
            run_id: report.run_id.clone(),
            started_at_unix_s: report.started_at_unix_s,
        };
        Ok(Self {
            baseline: side(baseline, baseline_label),
            current: side(current, current_label),
            scenario: current.scenario.clone(),
            rows,
            violations: [
                ("leak".into(), b.leak, c.leak),
                ("lost_write".into(), b.lost_write, c.lost_write),
                ("corrupt".into(), b.corrupt, c.corrupt),
                ("denied".into(), b.denied, c.denied),
                ("anonymous".into(), b.anonymous, c.anonymous),
                ("resurrect".into(), b.resurrect, c.resurrect),
                ("timeout".into(), b.timeout, c.timeout),
            ],
            verdicts,
        })
    }

    /// The limits that were exceeded.
    pub fn regressions(&self) -> impl Iterator<Item = &LimitVerdict> {
        self.verdicts.iter().filter(|v| v.regressed)
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_as_a_comma_list() {
        let limits = Limits::parse("p99=10%, rps=5%,read:p50=20").unwrap().0;
        assert_eq!(limits.len(), 3, "every --max-regression is parsed");
        assert_eq!(
            (limits[0].metric, limits[0].max),
            (Metric::P99, 10.0),
            "p99 with a bare percentage"
        );
        assert_eq!(limits[1].metric, Metric::Rps, "rps is a metric");
        assert_eq!(
            limits[2].name.as_deref(),
            Some("read"),
            "name:metric limits one request"
        );
        for bad in ["p99", "p98=1%", "p99=-1%", "p99=fast", ":p99=1%", ""] {
            assert!(Limits::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rps_regresses_downwards_and_latency_upwards() {
        assert_eq!(
            Metric::Rps.worsening(100.0, 90.0),
            Some(10.0),
            "a rate worsens when it falls"
        );
        assert_eq!(
            Metric::P99.worsening(10.0, 12.0),
            Some(20.0),
            "a latency worsens when it rises"
        );
        assert_eq!(
            Metric::P99.worsening(0.0, 12.0),
            None,
            "a zero baseline has no relative change"
        );
        assert_eq!(
            Metric::FailRate.worsening(1.0, 3.5),
            Some(2.5),
            "a fail rate worsens by percentage points"
        );
    }
}
