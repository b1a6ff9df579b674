//! The request body's deadline (`--body-timeout`, nginx's `client_body_timeout`): a body that goes
//! that long without a byte ends in an error for the handler reading it, and the request is
//! answered 408 with the JSON error and `connection: close` ([`super::request`] swaps the answer).
//!
//! Only a request with a body is wrapped, and the timer is made only when a read has to wait (a
//! small body arrives with its head and never waits): `/json` and every other bodiless request
//! pay nothing, a JSON `POST` pays one flag per read. The header and idle timeouts cannot cover
//! a body: while a request is in flight the connection's watchdog waits for its handler.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
    time::Duration,
};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};

use super::connection::Activity;

/// The error a stalled body ends with; the handler's rejection of it is replaced by the 408.
#[derive(Debug, thiserror::Error)]
#[error("no byte of the request body arrived for {0:?}")]
pub struct Stalled(pub Duration);

pin_project_lite::pin_project! {
    /// A request body under the deadline.
    pub struct Deadline {
        #[pin]
        body: Incoming,
        timeout: Duration,
        // Made on the first read that waits, then moved on after each frame.
        sleep: Option<Pin<Box<Sleep>>>,
        // A frame arrived since the timer was last set.
        moved: bool,
        // Told when the deadline passes, for the 408.
        activity: Arc<Activity>,
    }
}

impl Deadline {
    pub fn new(body: Incoming, timeout: Duration, activity: Arc<Activity>) -> Self {
        Self {
            body,
            timeout,
            sleep: None,
            moved: false,
            activity,
        }
    }
}

impl Body for Deadline {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.project();
        if let Poll::Ready(frame) = this.body.poll_frame(cx) {
            *this.moved = true;
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        let timeout = *this.timeout;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if std::mem::take(this.moved) {
            sleep.as_mut().reset(Instant::now() + timeout);
        }
        ready!(sleep.as_mut().poll(cx));
        this.activity.body_stalled();
        Poll::Ready(Some(Err(Box::new(Stalled(timeout)))))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
