//! Virtual users: started at `--spawn-rate`, set up once, then looping in the closed model
//! (`--loops`, `--wait`, or [`crate::plan::stages`] that park and wake users) or taking arrival
//! tickets in the open model (`--rate`).
//!
//! Each user is one task that owns its [`Session`] (connection included) and its scenario state;
//! there is no task per connection and no channel per request. On stop the spawner aborts every
//! user task: a request still in flight then is counted in `in_flight_at_stop` (and as a timeout
//! when older than `--timeout`) by the session's in-flight guard, and users that are between
//! iterations stop at their next check of the flag.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::task::JoinSet;

use crate::summary::OpenFigures;
use crate::{
    client::Target,
    plan::{Model, Worker, Workload},
    scenario::{Scenario, Session},
    stats::{Recorder, Stats},
};

use super::stop::Stop;
use crate::plan::stages::Stages;

/// Pause before a failed set-up is tried again.
const SETUP_RETRY: Duration = Duration::from_secs(1);
/// An open-model iteration that starts this much after its intended time counts as `late`.
const LATE_AFTER: Duration = Duration::from_millis(1);
/// An open-model iteration this far behind its intended time means every user is busy and the
/// rate is not being offered: warned once, live (k6's "Insufficient VUs").
const BEHIND_WARN: Duration = Duration::from_millis(250);

/// What every user task shares.
#[derive(Debug)]
pub struct Ctx<S> {
    pub scenario: Arc<S>,
    pub target: Arc<Target>,
    pub stats: Stats,
    pub stop: Stop,
    pub workload: Workload,
    pub clock: Option<OpenClock>,
}

/// The open model's arrival schedule: ticket `k` is due at `origin + (k + phase) / rate`. Users
/// claim tickets in order with one atomic add, so arrivals never wait on each other and in-flight
/// iterations are bounded by the number of users. The phase places a worker's tickets between
/// the other workers' ones (worker K of N: `K / N`), so N workers together arrive evenly spaced.
#[derive(Debug)]
pub struct OpenClock {
    origin: Instant,
    /// A ramping rate (stages) instead of the constant `period_ns`.
    stages: Option<Stages>,
    period_ns: f64,
    /// In periods, below 1: where this worker's arrivals sit between the others' (`K / N`).
    phase: f64,
    /// This worker's index and the number of workers, as floats for the stages' arrival counts.
    index: f64,
    workers: f64,
    end: Option<Instant>,
    next: AtomicU64,
    started: AtomicU64,
    late: AtomicU64,
    /// The live "behind schedule" warning was printed.
    warned: std::sync::atomic::AtomicBool,
    /// `--max-users` of this worker, for the warning.
    users: usize,
}

impl OpenClock {
    pub fn new(
        origin: Instant,
        rate: f64,
        worker: Worker,
        duration: Option<Duration>,
        stages: Option<Stages>,
    ) -> Self {
        Self {
            origin,
            stages,
            period_ns: 1e9 / rate,
            phase: worker.phase(),
            index: worker.index as f64,
            workers: worker.workers as f64,
            end: duration.map(|d| origin + d),
            next: AtomicU64::new(0),
            started: AtomicU64::new(0),
            late: AtomicU64::new(0),
            warned: std::sync::atomic::AtomicBool::new(false),
            users: 0,
        }
    }

    /// The clock of a run on `users` users (for the live warning's text).
    pub fn with_users(mut self, users: usize) -> Self {
        self.users = users;
        self
    }

    /// Warns once, on stderr, that iterations start `behind` after their time: every user is
    /// busy, so the rate is not offered and iterations will be dropped.
    fn behind(&self, behind: Duration) {
        if behind >= BEHIND_WARN && !self.warned.swap(true, Ordering::Relaxed) {
            eprintln!(
                "warning: the open model is {:.1} s behind schedule: all {} users (--max-users) are \
                 busy, so the rate of {:.2}/s is not offered and iterations may be dropped; raise \
                 --max-users, or gate with --threshold 'dropped<1'",
                behind.as_secs_f64(),
                self.users,
                1e9 / self.period_ns
            );
        }
    }

    /// When ticket `ticket` is due; `None` when a ramping rate ends before it. Worker K of N takes
    /// the run's arrivals K, K+N, K+2N...
    fn due(&self, ticket: u64) -> Option<Instant> {
        match &self.stages {
            Some(stages) => {
                let arrival = ticket as f64 * self.workers + self.index;
                stages.arrival_at(arrival).map(|at| self.origin + at)
            }
            None => Some(
                self.origin
                    + Duration::from_nanos(((ticket as f64 + self.phase) * self.period_ns) as u64),
            ),
        }
    }

    /// The figures once the run has stopped `elapsed` after the origin.
    pub fn figures(&self, elapsed: Duration) -> OpenFigures {
        // Tickets due strictly before the stop (or the end of --duration, whichever is first).
        let elapsed = match self.end {
            Some(end) => elapsed.min(end - self.origin),
            None => elapsed,
        };
        let scheduled = match &self.stages {
            Some(stages) => ((stages.arrivals_by(elapsed) - self.index) / self.workers)
                .ceil()
                .max(0.0) as u64,
            None => (elapsed.as_nanos() as f64 / self.period_ns - self.phase)
                .ceil()
                .max(0.0) as u64,
        };
        let started = self.started.load(Ordering::Relaxed);
        OpenFigures {
            rate: 1e9 / self.period_ns,
            scheduled,
            started,
            late: self.late.load(Ordering::Relaxed),
            dropped: scheduled.saturating_sub(started),
        }
    }
}

/// Starts every user at the spawn rate and returns when all have ended (loops done), or aborts
/// them all when the run stops.
pub async fn spawn_all<S: Scenario>(ctx: Arc<Ctx<S>>) {
    let mut users = JoinSet::new();
    let origin = ctx.stats.started();
    for index in 0..ctx.workload.model.users() {
        if let Some(rate) = ctx.workload.spawn_rate {
            let at = origin + Duration::from_secs_f64(index as f64 / rate);
            if !ctx.stop.sleep_until(at).await {
                break;
            }
        }
        if ctx.stop.is_stopped() {
            break;
        }
        users.spawn(user(ctx.clone(), index));
    }
    loop {
        tokio::select! {
            biased;
            _ = ctx.stop.stopped() => {
                users.abort_all();
                break;
            }
            next = users.join_next() => {
                if next.is_none() {
                    return;
                }
            }
        }
    }
    while users.join_next().await.is_some() {}
}

/// Marks a user active for as long as it lives (abort included).
struct Active(Recorder);

impl Active {
    fn new(recorder: &Recorder) -> Self {
        recorder.user_active(true);
        Self(recorder.clone())
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.user_active(false);
    }
}

async fn user<S: Scenario>(ctx: Arc<Ctx<S>>, index: usize) {
    let open = ctx.clock.is_some();
    let mut session = Session::new(
        index,
        ctx.target.clone(),
        ctx.stats.recorder(index),
        ctx.workload.timeout,
        open,
    );
    // Stages of the open model ramp the rate (the clock), not the users.
    let stages = ctx.workload.stages.as_ref().filter(|_| !open);
    let origin = ctx.stats.started();
    // With stages a user sets up only once it is first wanted.
    if let Some(stages) = stages
        && !wait_until_wanted(&ctx, stages, index).await
    {
        return;
    }
    let mut state = loop {
        match ctx.scenario.setup(&mut session).await {
            Ok(state) => break state,
            Err(error) => {
                tracing::debug!(user = index, %error, "set-up failed; retrying");
                if !ctx.stop.sleep(SETUP_RETRY).await {
                    return;
                }
            }
        }
    };
    let mut active = Some(Active::new(session.recorder()));
    match (&ctx.workload.model, &ctx.clock) {
        (Model::Closed { loops, .. }, _) => {
            let mut done = 0u64;
            while !ctx.stop.is_stopped() && loops.is_none_or(|loops| done < loops) {
                if let Some(stages) = stages
                    && !stages.wants(index, origin.elapsed())
                {
                    // Ramping down: idle (not counted as active) until a later stage wants us.
                    active = None;
                    if !wait_until_wanted(&ctx, stages, index).await {
                        break;
                    }
                    active = Some(Active::new(session.recorder()));
                }
                ctx.scenario.iteration(&mut state, &mut session).await;
                session.recorder().iteration_done();
                done += 1;
                let more = loops.is_none_or(|loops| done < loops);
                if more && !ctx.workload.wait.is_zero() {
                    let pause = ctx.workload.wait.at(rand::random::<f64>());
                    if !ctx.stop.sleep(pause).await {
                        break;
                    }
                }
            }
        }
        (Model::Open { .. }, Some(clock)) => {
            while !ctx.stop.is_stopped() {
                let Some(due) = clock.due(clock.next.fetch_add(1, Ordering::Relaxed)) else {
                    break;
                };
                if clock.end.is_some_and(|end| due >= end) {
                    break;
                }
                let now = Instant::now();
                if due > now {
                    if !ctx.stop.sleep_until(due).await {
                        break;
                    }
                } else if now - due > LATE_AFTER {
                    clock.late.fetch_add(1, Ordering::Relaxed);
                    clock.behind(now - due);
                }
                clock.started.fetch_add(1, Ordering::Relaxed);
                session.set_intended(due);
                ctx.scenario.iteration(&mut state, &mut session).await;
                session.recorder().iteration_done();
            }
        }
        (Model::Open { .. }, None) => unreachable!("the runner makes a clock for the open model"),
    }
    drop(active);
}

/// Sleeps until the stages want user `index`; false if that never happens or the run stops.
async fn wait_until_wanted<S>(ctx: &Ctx<S>, stages: &Stages, index: usize) -> bool {
    let origin = ctx.stats.started();
    match stages.next_wanted(index, origin.elapsed()) {
        Some(at) => ctx.stop.sleep_until(origin + at).await,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_clocks_interleave_into_the_runs_schedule() {
        // One clock at 90/s, and three workers' clocks at 30/s each with their phases.
        let origin = Instant::now();
        let one = OpenClock::new(origin, 90.0, Worker::default(), None, None);
        let mut together: Vec<Duration> = (0..3)
            .flat_map(|index| {
                let worker = Worker { index, workers: 3 };
                let clock = OpenClock::new(origin, 30.0, worker, None, None);
                (0..30)
                    .map(|ticket| clock.due(ticket).unwrap() - origin)
                    .collect::<Vec<_>>()
            })
            .collect();
        together.sort();
        let alone: Vec<Duration> = (0..90)
            .map(|ticket| one.due(ticket).unwrap() - origin)
            .collect();
        for (k, (a, b)) in together.iter().zip(&alone).enumerate() {
            let gap = a.abs_diff(*b);
            assert!(
                gap <= Duration::from_micros(1),
                "arrival {k}: {a:?} vs {b:?}"
            );
        }
        // Due before 1 s: 90 arrivals of the run, 30 of each worker.
        let scheduled: u64 = (0..3)
            .map(|index| {
                let worker = Worker { index, workers: 3 };
                OpenClock::new(origin, 30.0, worker, None, None)
                    .figures(Duration::from_secs(1))
                    .scheduled
            })
            .sum();
        assert_eq!(
            scheduled, 90,
            "three workers together schedule the 90 arrivals due in the first second"
        );
        assert_eq!(
            one.figures(Duration::from_secs(1)).scheduled,
            90,
            "one worker alone schedules all 90"
        );
    }
}
