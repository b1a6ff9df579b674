//! The engine: starts the users, runs the test timer and the signal handler, collects statistics
//! once per tick into the timeline and the totals, and stops.
//!
//! Layout: [`users`] (spawn rate, closed and open models; `plan::stages` ramps users up, holding,
//! down), [`live`] (the live view) and [`metrics`] (`--metrics-listen`), [`stop`] (timer,
//! signals, the stop switch). The collector lives here: every [`TICK`] it swaps the recorders'
//! shards, turns the window into an [`Interval`], merges it into the run's totals and updates the
//! live progress.

pub mod live;
pub mod metrics;
pub mod stop;
pub mod users;

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use tokio::time::MissedTickBehavior;

use crate::{
    client::Target,
    plan::{Model, Workload},
    scenario::Scenario,
    selfcheck::SelfCheck,
    stats::{Interval, Quantile, Stats, Timeline, Window},
};

pub use crate::summary::{OpenFigures, Run, TICK};
use live::Live;
pub use stop::{Signal, Stop, StopReason};

/// Recorder shards per runtime thread: enough that two threads rarely meet on one lock.
const SHARDS_PER_THREAD: usize = 4;

/// Runs `scenario` under `workload` until loops are done, the duration elapses or `shutdown`
/// resolves (the binary passes Ctrl-C / SIGTERM).
pub async fn run<S: Scenario>(
    workload: &Workload,
    scenario: Arc<S>,
    target: Arc<Target>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    mut live: Live,
) -> Run {
    let steps = scenario.steps();
    let open = workload.model.is_open();
    let stop = Stop::new();
    // A signal that came during the set-up (see `stop::install`) stops the run before its first
    // user: an empty report, stopped by the signal.
    let mut shutdown = Box::pin(shutdown);
    let on_signal = if is_ready_now(shutdown.as_mut()).await {
        stop.stop(StopReason::Signal);
        None
    } else {
        let stop = stop.clone();
        Some(tokio::spawn(async move {
            shutdown.await;
            stop.stop(StopReason::Signal);
        }))
    };
    // `--start-at`: the workers of a run begin together, so their intervals line up. A signal
    // while waiting ends the run before it started (an empty report).
    if let Some(at) = workload.start_at
        && let Ok(wait) = at.duration_since(SystemTime::now())
    {
        stop.sleep(wait).await;
    }
    let self_check = SelfCheck::start();
    let started_at = SystemTime::now();
    let started = Instant::now();
    let shards = (workload.threads * SHARDS_PER_THREAD)
        .min(workload.model.users())
        .max(1);
    let stats = Stats::new(steps.len(), shards, started);

    let timer = workload.duration.map(|duration| {
        let stop = stop.clone();
        tokio::spawn(async move {
            if stop.sleep_until(started + duration).await {
                stop.stop(StopReason::Duration);
            }
        })
    });
    let clock = match workload.model {
        Model::Open { rate, max_users } => Some(
            users::OpenClock::new(
                started,
                rate,
                workload.worker,
                workload.duration,
                workload.stages.clone(),
            )
            .with_users(max_users),
        ),
        Model::Closed { .. } => None,
    };
    let ctx = Arc::new(users::Ctx {
        scenario,
        target,
        stats: stats.clone(),
        stop: stop.clone(),
        workload: workload.clone(),
        clock,
    });
    let mut spawner = tokio::spawn(users::spawn_all(ctx.clone()));

    let mut ticker = tokio::time::interval_at((started + TICK).into(), TICK);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut collector = Collector {
        stats: &stats,
        steps: &steps,
        open,
        last: Duration::ZERO,
        window: Window::new(steps.len()),
        spare: Window::new(steps.len()),
        last_window: Window::new(steps.len()),
        totals: Window::new(steps.len()),
        timeline: Timeline::new(),
    };
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let now = started.elapsed();
                collector.close(now);
                let interval = collector.timeline.last().expect("just closed");
                live.update(now, &collector.totals, interval, &stats);
            }
            _ = &mut spawner => break,
        }
    }
    // Every user has ended: loops done, or aborted on stop. The open model has no loops: its
    // clock stops issuing at the duration, so an open run that ends by itself ended by duration;
    // so does a run whose stages ramped every user down before the timer fired.
    stop.stop(if open || workload.stages.is_some() {
        StopReason::Duration
    } else {
        StopReason::Loops
    });
    let duration = started.elapsed();
    if let Some(on_signal) = on_signal {
        on_signal.abort();
    }
    if let Some(timer) = timer {
        timer.abort();
    }
    collector.finish(duration);
    let Collector {
        totals, timeline, ..
    } = collector;
    live.finish();
    let median = totals.total().latency.percentile(Quantile::P50);
    let cores = workload
        .threads
        .min(std::thread::available_parallelism().map_or(1, |n| n.get()));
    Run {
        open: ctx.clock.as_ref().map(|clock| clock.figures(duration)),
        stopped_by: stop.reason().unwrap_or(StopReason::Loops),
        iterations: stats.iterations(),
        in_flight_at_stop: stats.in_flight_at_stop(),
        self_check: self_check.finish(cores, median),
        steps,
        started_at,
        duration,
        totals,
        intervals: timeline.into_intervals(),
    }
}

/// Polls `future` once: whether it is already done.
async fn is_ready_now<F: Future>(mut future: std::pin::Pin<&mut F>) -> bool {
    std::future::poll_fn(|cx| std::task::Poll::Ready(future.as_mut().poll(cx).is_ready())).await
}

/// Turns the shards' windows into intervals and run totals.
struct Collector<'a> {
    stats: &'a Stats,
    steps: &'a [String],
    open: bool,
    last: Duration,
    /// The interval being closed, and the one window that circulates through the shards: both
    /// reused every tick (see [`Stats::collect_into`]).
    window: Window,
    spare: Window,
    /// The window of the last closed interval, kept so a stub final interval can join it.
    last_window: Window,
    totals: Window,
    /// Bounded: old intervals are folded into coarser ones.
    timeline: Timeline,
}

impl Collector<'_> {
    /// Closes the interval ending `now` (since the start).
    fn close(&mut self, now: Duration) {
        let mut window = std::mem::replace(&mut self.window, Window::new(0));
        self.stats.collect_into(&mut window, &mut self.spare);
        // The interval ends when its last shard was swapped, not when the tick fired: a request
        // recorded between the two belongs to it and must not look earlier than it happened.
        let now = now.max(self.stats.started().elapsed());
        self.push(self.last, now, &window);
        self.totals.merge(&window);
        self.last = now;
        // The closed window becomes the last one; the previous last one is reused next tick.
        self.window = std::mem::replace(&mut self.last_window, window);
    }

    /// Closes the final interval. One shorter than half a tick (the run stopped just after a tick)
    /// joins the previous interval, so a few milliseconds do not draw a spike of requests/second.
    fn finish(&mut self, now: Duration) {
        let short = now.saturating_sub(self.last) < TICK / 2;
        if !short || self.timeline.is_empty() {
            self.close(now);
            return;
        }
        self.stats.collect_into(&mut self.window, &mut self.spare);
        self.totals.merge(&self.window);
        let previous = self.timeline.pop().expect("checked non-empty");
        let start = Duration::from_secs_f64(previous.start_s);
        self.last_window.merge(&self.window);
        let joined = std::mem::replace(&mut self.last_window, Window::new(self.steps.len()));
        self.push(start, now, &joined);
        self.last = now;
    }

    fn push(&mut self, start: Duration, end: Duration, window: &Window) {
        self.timeline.push(Interval::new(
            self.steps,
            window,
            start,
            end,
            self.stats.in_flight(),
            self.stats.active_users(),
            self.open,
        ));
    }
}
