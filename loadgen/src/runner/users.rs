//! Virtual users: started at `--spawn-rate`, set up once, then looping in the closed model
//! (`--loops`, `--wait`, or [`super::stages`] that park and wake users) or taking arrival
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

use crate::{
    client::Target,
    plan::{Model, Workload},
    scenario::{Scenario, Session},
    stats::{Recorder, Stats},
};

use super::{stages::Stages, stop::Stop};

/// Pause before a failed set-up is tried again.
const SETUP_RETRY: Duration = Duration::from_secs(1);
/// An open-model iteration that starts this much after its intended time counts as `late`.
const LATE_AFTER: Duration = Duration::from_millis(1);

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

/// The open model's arrival schedule: ticket `k` is due at `origin + k / rate`. Users claim tickets
/// in order with one atomic add, so arrivals never wait on each other and in-flight iterations are
/// bounded by the number of users.
#[derive(Debug)]
pub struct OpenClock {
    origin: Instant,
    /// A ramping rate (stages) instead of the constant `period_ns`.
    stages: Option<Stages>,
    period_ns: f64,
    end: Option<Instant>,
    next: AtomicU64,
    started: AtomicU64,
    late: AtomicU64,
}

/// What the open model did, for the report.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct OpenFigures {
    pub rate: f64,
    /// Iterations due before the run stopped.
    pub scheduled: u64,
    /// Iterations started.
    pub started: u64,
    /// Started more than 1 ms after their intended time because every user was busy.
    pub late: u64,
    /// Due but never started: all `--max-users` were busy until the end.
    pub dropped: u64,
}

impl OpenClock {
    pub fn new(
        origin: Instant,
        rate: f64,
        duration: Option<Duration>,
        stages: Option<Stages>,
    ) -> Self {
        Self {
            origin,
            stages,
            period_ns: 1e9 / rate,
            end: duration.map(|d| origin + d),
            next: AtomicU64::new(0),
            started: AtomicU64::new(0),
            late: AtomicU64::new(0),
        }
    }

    /// When ticket `ticket` is due; `None` when a ramping rate ends before it.
    fn due(&self, ticket: u64) -> Option<Instant> {
        match &self.stages {
            Some(stages) => stages.arrival_at(ticket as f64).map(|at| self.origin + at),
            None => {
                Some(self.origin + Duration::from_nanos((ticket as f64 * self.period_ns) as u64))
            }
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
            Some(stages) => stages.arrivals_by(elapsed).ceil() as u64,
            None => (elapsed.as_nanos() as f64 / self.period_ns).ceil() as u64,
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
