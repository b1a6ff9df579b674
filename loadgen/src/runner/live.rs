//! Live progress while the run goes: on a terminal a compact live view (an indicatif bar over
//! iterations or seconds, then requests, req/s, pass / fail / exception / violation counts,
//! percentiles, users and in-flight requests), otherwise one plain line every `--report-every`
//! (no control characters, so CI logs stay readable), or nothing.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::{
    plan::{Model, Plan, Progress},
    stats::{Interval, Quantile, Stats, Window, millis},
};

/// The live view; the collector calls [`Live::update`] once per tick.
#[derive(Debug)]
pub struct Live {
    mode: Mode,
    report_every: Duration,
    next_line: Duration,
    last_total: u64,
    last_at: Duration,
    metrics: Option<super::metrics::Metrics>,
}

#[derive(Debug)]
enum Mode {
    Bar {
        bar: ProgressBar,
        by_iterations: bool,
    },
    /// On stdout, or on stderr when the JSON report takes stdout (`--json-out -`).
    Lines {
        stderr: bool,
    },
    Off,
}

impl Live {
    /// No output at all (tests, `--quiet`).
    pub fn off() -> Self {
        Self::with_mode(Mode::Off, Duration::from_secs(5))
    }

    pub fn new(plan: &Plan) -> Self {
        let mode = match plan.output.progress {
            Progress::Off => Mode::Off,
            Progress::Lines => Mode::Lines {
                stderr: plan.output.json_to_stdout(),
            },
            Progress::Bar => {
                let workload = &plan.workload;
                let (length, by_iterations) = match (&workload.model, workload.duration) {
                    (
                        Model::Closed {
                            users,
                            loops: Some(loops),
                        },
                        _,
                    ) => (Some(*users as u64 * loops), true),
                    (_, Some(duration)) => (Some(duration.as_secs().max(1)), false),
                    _ => (None, false),
                };
                let unit = if by_iterations { "iterations" } else { "s" };
                let bar = match length {
                    Some(length) => {
                        ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stdout())
                            .with_style(
                            ProgressStyle::with_template(&format!(
                                "{{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {unit}\n{{msg}}"
                            ))
                            .expect("valid template")
                            .progress_chars("=> "),
                        )
                    }
                    None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout())
                        .with_style(
                            ProgressStyle::with_template("{elapsed_precise} {spinner}\n{msg}")
                                .expect("valid template"),
                        ),
                };
                Mode::Bar { bar, by_iterations }
            }
        };
        Self::with_mode(mode, plan.output.report_every)
    }

    fn with_mode(mode: Mode, report_every: Duration) -> Self {
        Self {
            mode,
            report_every,
            next_line: report_every,
            last_total: 0,
            last_at: Duration::ZERO,
            metrics: None,
        }
    }

    /// Also renders the live Prometheus page at every tick.
    pub fn with_metrics(mut self, metrics: super::metrics::Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Shows the state at `now` (since the start).
    pub fn update(&mut self, now: Duration, totals: &Window, interval: &Interval, stats: &Stats) {
        if let Some(metrics) = &self.metrics {
            metrics.update(totals, interval, stats);
        }
        match &self.mode {
            Mode::Off => {}
            Mode::Bar { bar, by_iterations } => {
                let row = interval.all();
                bar.set_position(if *by_iterations {
                    stats.iterations()
                } else {
                    now.as_secs()
                });
                let total = totals.total();
                let counts = &total.counts;
                bar.set_message(format!(
                    "  {} requests, {:.1} req/s now | pass {} | fail {} | exception {} | \
                     violation {}\n  latency p50 {:.2} ms, p99 {:.2} ms (last second p99 {:.2} ms) \
                     | users {} | in flight {}",
                    counts.total(),
                    row.total as f64 / (interval.end_s - interval.start_s).max(1e-9),
                    counts.pass(),
                    counts.fail(),
                    counts.exception(),
                    counts.violation(),
                    millis(total.latency.percentile(Quantile::P50)),
                    millis(total.latency.percentile(Quantile::P99)),
                    row.p99_ms,
                    interval.active_users,
                    interval.in_flight
                ));
            }
            Mode::Lines { stderr } => {
                if now < self.next_line {
                    return;
                }
                self.next_line += self.report_every;
                let total = totals.total();
                let counts = &total.counts;
                let span = (now - self.last_at).as_secs_f64();
                let rate = (counts.total() - self.last_total) as f64 / span.max(1e-9);
                self.last_total = counts.total();
                self.last_at = now;
                let line = format!(
                    "[{:>7.1}s] users {}, in flight {}, {} requests ({:.1} req/s), pass {}, fail {}, \
                     exception {}, violation {}, p50 {:.3} ms, p99 {:.3} ms",
                    now.as_secs_f64(),
                    interval.active_users,
                    interval.in_flight,
                    counts.total(),
                    rate,
                    counts.pass(),
                    counts.fail(),
                    counts.exception(),
                    counts.violation(),
                    millis(total.latency.percentile(Quantile::P50)),
                    millis(total.latency.percentile(Quantile::P99)),
                );
                if *stderr {
                    eprintln!("{line}");
                } else {
                    println!("{line}");
                }
            }
        }
    }

    /// Clears the bar before the summary prints.
    pub fn finish(&mut self) {
        if let Mode::Bar { bar, .. } = &self.mode {
            bar.finish_and_clear();
        }
    }
}
