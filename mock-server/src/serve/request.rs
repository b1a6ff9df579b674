//! Each request on its way from hyper to the app: checks that need no body (an over-long URI, a
//! declared body over the limit: answered before a byte of it is read), the body's deadline (a
//! request with a body only; a stalled one is answered 408), the peer address for the
//! admin guard, the connection's last verified token for the `AuthUser` extractor, the store
//! generation it is pinned to, and the in-flight marks the watchdog and the gauges read.
//!
//! Unboxed on purpose (the future and the body are concrete types): this runs on every request.

use std::{
    cell::RefCell,
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, Waker, ready},
};

use axum::{
    body::Body,
    extract::{ConnectInfo, Request},
    http::{
        HeaderValue,
        header::{AUTHORIZATION, CONNECTION, CONTENT_LENGTH},
    },
    response::{IntoResponse, Response},
};
use hyper::body::{Frame, Incoming, SizeHint};
use shared::paths;
use tower::{Service, ServiceExt, util::Oneshot};

use super::{body::Deadline, connection::Activity};
use crate::{
    auth::VerifiedToken,
    error::ApiError,
    faults::layer::FaultService,
    state::AppState,
    store::{Pinned, Store},
};

/// Longest request target accepted (nginx's default request-line buffer is 8 KiB); longer is 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// The hyper service of one connection.
#[derive(Debug, Clone)]
pub struct RequestService {
    /// hyper calls the service by `&self`, tower by `&mut self`: the cell lends the app to each
    /// call in turn (one connection's requests are called one after another, in its own task)
    /// instead of a clone of every layer's handles per request.
    app: RefCell<FaultService<crate::app::App>>,
    peer: SocketAddr,
    activity: Arc<Activity>,
    store: Store,
    body_limit: usize,
    body_timeout: std::time::Duration,
    /// The last bearer token verified on this connection (see [`VerifiedToken`]).
    verified: VerifiedToken,
}

impl RequestService {
    pub fn new(
        app: FaultService<crate::app::App>,
        peer: SocketAddr,
        activity: Arc<Activity>,
        state: &AppState,
        body_timeout: std::time::Duration,
    ) -> Self {
        Self {
            app: RefCell::new(app),
            peer,
            activity,
            store: state.store.clone(),
            body_limit: state.body_limit,
            body_timeout,
            verified: VerifiedToken::default(),
        }
    }
}

/// Marks a request finished, for the watchdog and the gauge, when the response body ends or the
/// request is dropped.
#[derive(Debug)]
struct InFlight {
    activity: Arc<Activity>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.activity.request_finished();
    }
}

impl hyper::service::Service<hyper::Request<Incoming>> for RequestService {
    type Response = Response<Tracked>;
    type Error = Infallible;
    type Future = RequestFuture;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        self.activity.request_started();
        let in_flight = InFlight {
            activity: self.activity.clone(),
        };
        // A body that has already ended (no `content-length`, or 0, and no chunks: a plain `GET`)
        // needs no limit check and no deadline.
        let has_body = !hyper::body::Body::is_end_stream(request.body());
        if let Some(error) = refuse_early(&request, has_body, self.body_limit) {
            let mut response = error.into_response();
            // The body is not read, so the connection cannot carry another request.
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            return RequestFuture {
                state: Stage::Early {
                    response: Some(response),
                },
                in_flight: Some(in_flight),
                has_body: false,
            };
        }
        let mut request: Request = if has_body {
            request.map(|body| {
                Body::new(Deadline::new(
                    body,
                    self.body_timeout,
                    self.activity.clone(),
                ))
            })
        } else {
            request.map(Body::new)
        };
        let path = request.uri().path();
        // `/json` never touches the store: no generation to pin.
        let pin = path != paths::JSON;
        // Each extension is an allocation: only the admin guard reads the peer, and only a
        // request with a token can use the connection's verified token.
        if path.starts_with(paths::ADMIN) {
            request.extensions_mut().insert(ConnectInfo(self.peer));
        }
        if request.headers().contains_key(AUTHORIZATION) {
            request.extensions_mut().insert(self.verified.clone());
        }
        // The borrow ends with this function, and nothing it calls calls back into the service.
        let mut app = self.app.borrow_mut();
        let state = match app.poll_ready(&mut Context::from_waker(Waker::noop())) {
            // axum's router and the layers around it are always ready: called at once, the
            // request is not moved through a `Oneshot` first.
            Poll::Ready(Ok(())) if pin => Stage::App {
                future: self.store.pinned(app.call(request), true),
            },
            // Outside a pinned scope a store call sees the current generation, as an unpinned
            // scope would: the task-local is skipped, one move and one scope entry per poll less.
            Poll::Ready(Ok(())) => Stage::Unpinned {
                future: app.call(request),
            },
            Poll::Ready(Err(never)) => match never {},
            Poll::Pending => Stage::Waiting {
                future: self.store.pinned(app.clone().oneshot(request), pin),
            },
        };
        RequestFuture {
            state,
            in_flight: Some(in_flight),
            has_body,
        }
    }
}

/// The error for a request that can be refused from its head alone.
fn refuse_early(
    request: &hyper::Request<Incoming>,
    has_body: bool,
    body_limit: usize,
) -> Option<ApiError> {
    let uri = request.uri();
    let target = uri
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if target > MAX_URI_BYTES {
        return Some(ApiError::UriTooLong);
    }
    // A body that has already ended declares nothing over the limit: no header lookup.
    if !has_body {
        return None;
    }
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > body_limit as u64) {
        return Some(ApiError::PayloadTooLarge);
    }
    None
}

/// The answer to a request whose body stalled, whatever its handler made of the body's error: the
/// rest of the body never came, so the connection closes after it.
fn stalled() -> Response {
    let mut response = ApiError::BodyTimeout.into_response();
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

pin_project_lite::pin_project! {
    /// The response of [`RequestService`]: refused early, or the app's.
    pub struct RequestFuture {
        #[pin]
        state: Stage,
        in_flight: Option<InFlight>,
        // Whether the request has a body under the deadline, whose stall replaces the answer.
        has_body: bool,
    }
}

/// The app's own future for a request.
type AppFuture = <FaultService<crate::app::App> as Service<Request>>::Future;

pin_project_lite::pin_project! {
    #[project = StageProjection]
    enum Stage {
        Early { response: Option<Response> },
        App { #[pin] future: Pinned<AppFuture> },
        Unpinned { #[pin] future: AppFuture },
        Waiting { #[pin] future: Pinned<Oneshot<FaultService<crate::app::App>, Request>> },
    }
}

impl Future for RequestFuture {
    type Output = Result<Response<Tracked>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = match this.state.project() {
            StageProjection::Early { response } => response.take().unwrap_or_default(),
            StageProjection::App { future } => match ready!(future.poll(cx)) {
                Ok(response) => response,
                Err(never) => match never {},
            },
            StageProjection::Unpinned { future } => match ready!(future.poll(cx)) {
                Ok(response) => response,
                Err(never) => match never {},
            },
            StageProjection::Waiting { future } => match ready!(future.poll(cx)) {
                Ok(response) => response,
                Err(never) => match never {},
            },
        };
        let in_flight = this.in_flight.take();
        let response = match &in_flight {
            Some(in_flight) if *this.has_body && in_flight.activity.take_body_stalled() => {
                stalled()
            }
            _ => response,
        };
        Poll::Ready(Ok(response.map(|body| Tracked {
            body,
            _in_flight: in_flight,
        })))
    }
}

pin_project_lite::pin_project! {
    /// A response body that marks its request finished when it is dropped (hyper drops it once
    /// the last frame is out, or when the connection ends).
    pub struct Tracked {
        #[pin]
        body: Body,
        _in_flight: Option<InFlight>,
    }
}

impl hyper::body::Body for Tracked {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        self.project().body.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
