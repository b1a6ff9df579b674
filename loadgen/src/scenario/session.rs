//! `Session`: one virtual user's handle on the engine — its connection, its recorder, its clock.
//!
//! Two levels: [`Session::send`] times a request and hands back the response or the error with
//! its [`Timing`], leaving the verdict to the caller, who then calls [`Session::record`]; and
//! [`Session::call`], which does both with a check closure, for the common case.
//!
//! Timing: latency runs from just before the request is written (dialling included when the
//! connection must be re-made, as a real client would wait for it) to the last body byte, on the
//! monotonic clock. In the open model the first request of an iteration also gets a corrected
//! latency measured from the iteration's intended start; later requests of the same iteration are
//! sent as soon as the previous one ends, so their corrected latency is their plain latency.
//!
//! Timeout: one timer per session, never earlier than the deadline (`sent + --timeout`) of the
//! request in flight, and moved only when it fires: a request that ends before it costs no timer
//! work (a `tokio::time::timeout` per request registered and cancelled a timer entry under the
//! driver's lock every time). When it fires the clock says which it is: this request's deadline
//! has passed (a timeout), or it was an earlier request's (the timer moves to this one's).
//! A timer that is still pending keeps the waker it was last polled with, so while it has
//! neither fired nor moved it is polled again only for another waker (the same task's waker
//! needs no new registration): a request then costs no timer poll either.

use std::{
    future::{Future, poll_fn},
    pin::{Pin, pin},
    sync::Arc,
    task::{Poll, Waker},
    time::{Duration, Instant},
};

use tokio::time::Sleep;

use crate::{
    checks::{Failure, Outcome},
    client::{Client, ClientError, Outgoing, Response, Target},
    stats::{Recorder, Step, Timing},
};

/// Why a request got no response.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

impl RequestError {
    /// `timeout` or `exception`.
    pub fn outcome(&self) -> Outcome {
        match self {
            RequestError::Client(_) => Outcome::Exception,
            RequestError::Timeout(_) => Outcome::Timeout,
        }
    }
}

/// A request's result and timing, not yet recorded.
#[derive(Debug)]
pub struct Exchange {
    pub result: Result<Response, RequestError>,
    pub timing: Timing,
    /// Just before the request was written, and when its last byte came back (or it failed).
    pub sent: Instant,
    pub ended: Instant,
}

/// What [`Session::call`] recorded, and the response if one came back.
#[derive(Debug)]
pub struct Called {
    pub outcome: Outcome,
    pub response: Option<Response>,
    pub timing: Timing,
}

/// One virtual user's connection, recorder and clock.
#[derive(Debug)]
pub struct Session {
    user: usize,
    target: Arc<Target>,
    client: Client,
    recorder: Recorder,
    timeout: Duration,
    open: bool,
    intended: Option<Instant>,
    /// The `--timeout` timer, made at the first request; moved only when it fires early (see the
    /// module doc).
    timer: Option<Pin<Box<Sleep>>>,
    /// The waker `timer` holds: the one it was last polled with, while it has neither fired nor
    /// been moved since (`None` otherwise).
    timer_waker: Option<Waker>,
}

impl Session {
    pub fn new(
        user: usize,
        target: Arc<Target>,
        recorder: Recorder,
        timeout: Duration,
        open: bool,
    ) -> Self {
        Self {
            user,
            client: Client::to(&target),
            target,
            recorder,
            timeout,
            open,
            intended: None,
            timer: None,
            timer_waker: None,
        }
    }

    /// Another connection of the same user, recording into the same shard: for a request raced
    /// against this session's (the `resurrect` check).
    pub fn sibling(&self) -> Session {
        Session::new(
            self.user,
            self.target.clone(),
            self.recorder.clone(),
            self.timeout,
            self.open,
        )
    }

    /// This user's index, unique in the run (0-based).
    pub fn user(&self) -> usize {
        self.user
    }

    /// Where requests go; builds requests with the `Host` header and base path.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Time since the run started (for evidence).
    pub fn since_start(&self) -> Duration {
        self.recorder.stats().started().elapsed()
    }

    /// When the run started (evidence times are relative to it).
    pub fn started(&self) -> Instant {
        self.recorder.stats().started()
    }

    /// Requests in flight across all users right now (for evidence).
    pub fn in_flight(&self) -> u64 {
        self.recorder.stats().in_flight()
    }

    /// Open model: the runner sets the iteration's intended start before calling the scenario.
    pub(crate) fn set_intended(&mut self, intended: Instant) {
        self.intended = Some(intended);
    }

    /// Sends `request` with the `--timeout`, and times it. Nothing is recorded yet, unless the run
    /// stops while it is in flight: then it is counted in `in_flight_at_stop` (and as a `timeout`
    /// under `step` when it is older than the timeout).
    pub async fn send<'a>(&mut self, step: Step, request: impl Into<Outgoing<'a>>) -> Exchange {
        let intended = self.intended.take();
        if let Some(pause) = self.client.backoff() {
            // The target failed the last exchange: wait before dialling again. Outside the timing
            // (no request is in flight), inside the run (a stop aborts the wait).
            tokio::time::sleep(pause).await;
        }
        let mut in_flight = InFlight::new(&self.recorder, step, self.timeout);
        let start = in_flight.start;
        let deadline = tokio::time::Instant::from_std(start + self.timeout);
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        let timer_waker = &mut self.timer_waker;
        let result = {
            let mut exchange = pin!(self.client.send(request));
            poll_fn(|cx| {
                // The request first, as `tokio::time::timeout` does: an answer that is ready
                // when the deadline passes is an answer.
                if let Poll::Ready(result) = exchange.as_mut().poll(cx) {
                    return Poll::Ready(Some(result));
                }
                loop {
                    let holds = timer_waker
                        .as_ref()
                        .is_some_and(|waker| waker.will_wake(cx.waker()));
                    // Pending, registered with this waker: it will wake us when it fires (it
                    // marks itself elapsed before it wakes).
                    if holds && !timer.is_elapsed() {
                        return Poll::Pending;
                    }
                    // Out of budget, a sleep returns Pending without registering: only a poll
                    // made with budget left is known to hold the waker.
                    let registers = tokio::task::coop::has_budget_remaining();
                    if timer.as_mut().poll(cx).is_pending() {
                        if registers && !holds {
                            *timer_waker = Some(cx.waker().clone());
                        }
                        return Poll::Pending;
                    }
                    *timer_waker = None;
                    if tokio::time::Instant::now() >= deadline {
                        return Poll::Ready(None);
                    }
                    // An earlier request's deadline: wait for this one's.
                    timer.as_mut().reset(deadline);
                }
            })
            .await
        };
        let end = Instant::now();
        in_flight.answered = true;
        drop(in_flight);
        let result = match result {
            Some(Ok(response)) => Ok(response),
            Some(Err(error)) => Err(RequestError::Client(error)),
            None => {
                self.client.reset();
                Err(RequestError::Timeout(self.timeout))
            }
        };
        let timing = Timing {
            latency: end - start,
            corrected: self
                .open
                .then(|| end.saturating_duration_since(intended.unwrap_or(start))),
            status: result
                .as_ref()
                .ok()
                .map(|response| response.status.as_u16()),
        };
        Exchange {
            result,
            timing,
            sent: start,
            ended: end,
        }
    }

    /// Counts one request under `step`. `reason` says why it did not pass (kept among the first
    /// distinct reasons of the run).
    pub fn record(&self, step: Step, outcome: Outcome, timing: Timing, reason: Option<&str>) {
        self.recorder.record(step, outcome, timing, reason);
    }

    /// Sends, checks and records: a transport error is an `exception` (or `timeout`); otherwise
    /// `check` decides between `pass` and any other outcome.
    pub async fn call<'a>(
        &mut self,
        step: Step,
        request: impl Into<Outgoing<'a>>,
        check: impl FnOnce(&Response) -> Result<(), Failure>,
    ) -> Called {
        let Exchange { result, timing, .. } = self.send(step, request).await;
        match result {
            Err(error) => {
                let outcome = error.outcome();
                self.record(step, outcome, timing, Some(&error.to_string()));
                Called {
                    outcome,
                    response: None,
                    timing,
                }
            }
            Ok(response) => {
                let outcome = match check(&response) {
                    Ok(()) => {
                        self.record(step, Outcome::Pass, timing, None);
                        Outcome::Pass
                    }
                    Err(failure) => {
                        self.record(step, failure.outcome, timing, Some(&failure.reason));
                        failure.outcome
                    }
                };
                Called {
                    outcome,
                    response: Some(response),
                    timing,
                }
            }
        }
    }

    pub(crate) fn recorder(&self) -> &Recorder {
        &self.recorder
    }
}

/// Counts a request in flight until dropped. Dropped unanswered, the request was abandoned: the
/// engine aborts a user mid-request only when the run stops, so it is counted as in flight at the
/// stop (and as a timeout when it had waited longer than the timeout).
struct InFlight<'a> {
    recorder: &'a Recorder,
    step: Step,
    timeout: Duration,
    start: Instant,
    answered: bool,
}

impl<'a> InFlight<'a> {
    fn new(recorder: &'a Recorder, step: Step, timeout: Duration) -> Self {
        recorder.request_started();
        Self {
            recorder,
            step,
            timeout,
            start: Instant::now(),
            answered: false,
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.recorder.request_ended();
        if !self.answered {
            self.recorder
                .abandoned(self.step, self.start.elapsed(), self.timeout);
        }
    }
}
