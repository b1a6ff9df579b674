//! Is the generator itself the bottleneck? A load generator slower than its target measures itself.
//!
//! Two signs, measured during the run: scheduler lag (a 100 ms ticker on the same runtime as the
//! users: how late it wakes up; when every core is busy, users' timers and socket reads are late by
//! as much) and process CPU (utime + stime from `/proc/self/stat`, Linux only, over wall time and
//! usable cores). The figures are marked suspect, as Locust warns at 90 % CPU, when the CPU is at
//! 90 % or more of the cores the runtime may use, or when the lag's p99 is above 10 ms *and* above
//! the median latency measured (lag of that size is inside every measured latency).

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::stats::{Latency, Quantile, millis};

/// Ticker period.
const PERIOD: Duration = Duration::from_millis(100);
/// CPU share of usable cores above which figures are suspect.
const CPU_SUSPECT: f64 = 0.9;
/// Lag p99 above which (and above the median latency) figures are suspect.
const LAG_SUSPECT: Duration = Duration::from_millis(10);
/// Linux `USER_HZ`: clock ticks per second in `/proc/self/stat` on every mainstream architecture.
const TICKS_PER_SECOND: f64 = 100.0;

/// A running self-check.
#[derive(Debug)]
pub struct SelfCheck {
    lag: Arc<Mutex<Latency>>,
    ticker: JoinHandle<()>,
    cpu_start: Option<f64>,
    wall_start: Instant,
}

/// The self-check's verdict, in the summary and the JSON report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SelfCheckReport {
    /// Process CPU over the run, in percent of one core (200 = two cores busy); null off Linux.
    pub cpu_percent: Option<f64>,
    /// Cores the runtime could use (worker threads, at most the usable cores).
    pub cores: usize,
    pub scheduler_lag_ms: LagMs,
    /// True when the figures may describe the generator rather than the target.
    pub suspect: bool,
    /// Why, in words.
    pub notes: Vec<String>,
}

/// Scheduler lag percentiles, in ms.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LagMs {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl SelfCheck {
    /// Starts the ticker on the current runtime.
    pub fn start() -> Self {
        let lag = Arc::new(Mutex::new(Latency::new()));
        let ticker = tokio::spawn({
            let lag = lag.clone();
            async move {
                let mut due = Instant::now() + PERIOD;
                loop {
                    tokio::time::sleep_until(due.into()).await;
                    let now = Instant::now();
                    if let Ok(mut lag) = lag.lock() {
                        lag.record(now.saturating_duration_since(due));
                    }
                    due = now + PERIOD;
                }
            }
        });
        Self {
            lag,
            ticker,
            cpu_start: cpu_seconds(),
            wall_start: Instant::now(),
        }
    }

    /// Stops the ticker and judges, given the usable cores and the run's median latency.
    pub fn finish(self, cores: usize, median_latency: Duration) -> SelfCheckReport {
        self.ticker.abort();
        let wall = self.wall_start.elapsed().as_secs_f64();
        let cpu_percent = match (self.cpu_start, cpu_seconds()) {
            (Some(start), Some(end)) if wall > 0.0 => Some((end - start) / wall * 100.0),
            _ => None,
        };
        let lag = self.lag.lock().map(|l| l.clone()).unwrap_or_default();
        let lag_p99 = lag.percentile(Quantile::P99);
        let mut notes = Vec::new();
        if let Some(cpu) = cpu_percent
            && cpu / 100.0 >= CPU_SUSPECT * cores as f64
        {
            notes.push(format!(
                "generator CPU at {cpu:.0} % of {cores} core(s): the generator may be the bottleneck"
            ));
        }
        if lag_p99 > LAG_SUSPECT && lag_p99 > median_latency {
            notes.push(format!(
                "scheduler lag p99 {:.1} ms exceeds the median latency {:.3} ms",
                millis(lag_p99),
                millis(median_latency)
            ));
        }
        SelfCheckReport {
            cpu_percent,
            cores,
            scheduler_lag_ms: LagMs {
                p50: millis(lag.percentile(Quantile::P50)),
                p99: millis(lag_p99),
                max: millis(lag.max()),
            },
            suspect: !notes.is_empty(),
            notes,
        }
    }
}

/// User plus system CPU time of this process, in seconds.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse_stat(&stat)
}

/// Fields 14 (utime) and 15 (stime) of `/proc/<pid>/stat`, counted after the command name, which
/// is parenthesised and may itself contain spaces.
fn parse_stat(stat: &str) -> Option<f64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_parsing_skips_a_name_with_spaces() {
        let stat = "42 (load gen) R 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0";
        assert_eq!(
            parse_stat(stat),
            Some(3.0),
            "the CPU time is read from /proc stat"
        );
    }

    #[tokio::test]
    async fn an_idle_runtime_shows_no_scheduler_lag() {
        let check = SelfCheck::start();
        tokio::time::sleep(Duration::from_millis(350)).await;
        // Other tests share this process's CPU time, so only the lag rule is judged here.
        let report = check.finish(usize::MAX / 1000, Duration::from_millis(200));
        assert!(!report.suspect, "{:?}", report.notes);
        assert!(
            report.cpu_percent.is_some(),
            "the self-check reports the CPU use"
        );
    }

    #[tokio::test]
    async fn a_blocked_runtime_is_suspect() {
        let check = SelfCheck::start();
        tokio::time::sleep(Duration::from_millis(150)).await;
        // Block the only thread for far longer than the measured latency.
        std::thread::sleep(Duration::from_millis(300));
        tokio::time::sleep(Duration::from_millis(150)).await;
        let report = check.finish(usize::MAX / 1000, Duration::from_millis(1));
        assert!(report.suspect, "a late start makes the run suspect");
        assert!(
            report.notes[0].contains("scheduler lag"),
            "{:?}",
            report.notes
        );
    }
}
