//! The HTTP/1.1 client of one virtual user: its own keep-alive connection, nothing shared.
//!
//! A real user holds its own connection, so each virtual user does too. reqwest keeps a pool per
//! client, which costs close to a megabyte per user when every user needs its own; here a user owns
//! hyper's low-level connection (`hyper::client::conn::http1`) over a `TcpStream` with `TCP_NODELAY`,
//! and drives it inside its own task: no connection task, no channel hop between tasks, nothing per
//! user but the socket, hyper's buffers and this small struct. A broken connection is dropped and
//! the next request dials again.

use std::{
    future::{Future, poll_fn},
    net::SocketAddr,
    pin::pin,
    task::Poll,
    time::Duration,
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{
    HeaderMap, Method, Request, StatusCode, Uri,
    client::conn::http1::{self, Connection, SendRequest},
    header::{CONTENT_TYPE, HOST, HeaderValue},
};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Why a request got no response. Counted as an `exception` outcome, never propagated.
///
/// The message carries the whole cause chain down to the OS error (`connect: connection refused
/// (os error 111)`, `http: connection error: connection reset by peer (os error 104)`), so the
/// failure reasons in a report say what the network said.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("connect: {}", chain(.0))]
    Connect(#[source] std::io::Error),
    #[error("handshake: {}", chain(.0))]
    Handshake(#[source] hyper::Error),
    #[error("http: {}", chain(.0))]
    Http(#[source] hyper::Error),
    #[error("connection closed before the response")]
    Closed,
}

/// An error and its sources, `: `-separated, each starting lower-case (`connection refused (os
/// error 111)`, as `std::io::Error` writes `Connection refused`).
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = String::new();
    let mut next = Some(error);
    while let Some(error) = next {
        let text = error.to_string();
        if !out.is_empty() {
            // hyper and io errors sometimes repeat their source's text in their own.
            if out.ends_with(&text) {
                next = error.source();
                continue;
            }
            out.push_str(": ");
        }
        let mut chars = text.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_lowercase());
            out.push_str(chars.as_str());
        }
        next = error.source();
    }
    out
}

/// First pause before dialling again after a failed exchange; it doubles per consecutive failure.
const BACKOFF_BASE: Duration = Duration::from_millis(5);
/// Longest pause between two attempts: a dead target costs one connect per user per second.
const BACKOFF_CAP: Duration = Duration::from_secs(1);

/// Where requests go: one resolved address and its `Host` header, shared by every user.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub host: HeaderValue,
    /// The path prefix of the base URL (`/api/v1`, or empty).
    pub base_path: String,
}

impl Target {
    /// Parses `http://host[:port][/base]` and resolves the host once.
    pub async fn resolve(url: &str) -> Result<Self, String> {
        let uri: Uri = url
            .parse()
            .map_err(|error| format!("`{url}` is not a URL: {error}"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(other) => {
                return Err(format!(
                    "`{url}`: scheme {other} is not supported, use http"
                ));
            }
            None => return Err(format!("`{url}` needs a scheme: http://HOST:PORT/PATH")),
        }
        let authority = uri
            .authority()
            .ok_or_else(|| format!("`{url}` has no host"))?;
        let port = authority.port_u16().unwrap_or(80);
        let addr = tokio::net::lookup_host((authority.host(), port))
            .await
            .map_err(|error| format!("cannot resolve `{}`: {error}", authority.host()))?
            .next()
            .ok_or_else(|| format!("`{}` resolves to no address", authority.host()))?;
        let host = HeaderValue::from_str(authority.as_str())
            .map_err(|_| format!("`{url}` has an invalid host"))?;
        let base_path = uri
            .path_and_query()
            .map(|p| p.as_str().trim_end_matches('/'))
            .unwrap_or("")
            .to_owned();
        Ok(Self {
            addr,
            host,
            base_path,
        })
    }

    /// A request for `path` (appended to the base path) with the `Host` header set.
    pub fn request(&self, method: Method, path: &str, body: Bytes) -> Request<Full<Bytes>> {
        let uri: Uri = format!("{}{path}", self.base_path)
            .parse()
            .unwrap_or_else(|_| Uri::from_static("/"));
        Prepared::new(method, uri, self.host.clone(), None).build(body)
    }

    /// A JSON request (`Content-Type: application/json`).
    pub fn json_request(
        &self,
        method: Method,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Request<Full<Bytes>> {
        let body = serde_json::to_vec(body).unwrap_or_default();
        let mut request = self.request(method, path, body.into());
        request
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        request
    }
}

/// The parts of a request that never change, built once; cloning them is reference counting.
#[derive(Debug, Clone)]
pub struct Prepared {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
}

impl Prepared {
    pub fn new(
        method: Method,
        uri: Uri,
        host: HeaderValue,
        content_type: Option<HeaderValue>,
    ) -> Self {
        let mut headers = HeaderMap::with_capacity(2);
        headers.insert(HOST, host);
        if let Some(content_type) = content_type {
            headers.insert(CONTENT_TYPE, content_type);
        }
        Self {
            method,
            uri,
            headers,
        }
    }

    pub fn build(&self, body: Bytes) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// A response read to its last byte.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    /// The body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

type Conn = Connection<TokioIo<TcpStream>, Full<Bytes>>;

/// One user's connection; dials lazily and again after any error, backing off while the target
/// keeps failing (see [`Client::backoff`]).
#[derive(Debug)]
pub struct Client {
    addr: SocketAddr,
    connection: Option<(SendRequest<Full<Bytes>>, Conn)>,
    /// Consecutive exchanges that ended without a response.
    failures: u32,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            connection: None,
            failures: 0,
        }
    }

    /// How long to wait before the next request, after consecutive failed exchanges: exponential
    /// from 5 ms, capped at 1 s, with jitter (a random half to all of it) so users that failed
    /// together do not dial again together; `None` once a response came back. A refused port
    /// then costs each user about one connect a second, not a busy loop.
    pub fn backoff(&self) -> Option<Duration> {
        if self.failures == 0 {
            return None;
        }
        let doubled = BACKOFF_BASE.saturating_mul(1 << (self.failures - 1).min(16));
        let pause = doubled.min(BACKOFF_CAP);
        Some(pause.mul_f64(0.5 + 0.5 * rand::random::<f64>()))
    }

    /// Sends `request` and reads the whole body. On any error the connection is dropped, so the
    /// next call dials a fresh one. Cancelling the future (a timeout) leaves the connection in an
    /// unknown state: call [`Client::reset`] then.
    pub async fn send(&mut self, request: Request<Full<Bytes>>) -> Result<Response, ClientError> {
        let result = self.exchange(request).await;
        match &result {
            Ok(_) => self.failures = 0,
            Err(_) => self.failures = self.failures.saturating_add(1),
        }
        result
    }

    async fn exchange(&mut self, request: Request<Full<Bytes>>) -> Result<Response, ClientError> {
        if let Some((sender, conn)) = self.connection.as_mut() {
            // A kept-alive connection the server closed while idle is not a failed request:
            // poll it once, without waiting, so a pending close is read before writing, and
            // dial again if it ended.
            let ended =
                poll_fn(|cx| Poll::Ready(std::pin::Pin::new(&mut *conn).poll(cx).is_ready())).await;
            if ended || sender.is_closed() {
                self.connection = None;
            }
        }
        if self.connection.is_none() {
            self.connection = Some(dial(self.addr).await?);
        }
        let (sender, conn) = self.connection.as_mut().expect("dialled above");
        let exchange = async {
            sender.ready().await.map_err(ClientError::Http)?;
            let response = sender
                .send_request(request)
                .await
                .map_err(ClientError::Http)?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await.map_err(ClientError::Http)?.to_bytes();
            Ok(Response {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        let result = drive(conn, exchange).await;
        let keep = match &result {
            Ok(response) => !closes(&response.headers),
            Err(_) => false,
        };
        if !keep {
            self.connection = None;
        }
        result
    }

    /// Dials now if not connected (the preflight: connect and handshake before the load).
    pub async fn connect(&mut self) -> Result<(), ClientError> {
        if self.connection.is_none() {
            self.connection = Some(dial(self.addr).await?);
        }
        Ok(())
    }

    /// Forgets the connection (after a timeout cancelled a request half-way).
    pub fn reset(&mut self) {
        self.connection = None;
    }
}

async fn dial(addr: SocketAddr) -> Result<(SendRequest<Full<Bytes>>, Conn), ClientError> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(ClientError::Connect)?;
    stream.set_nodelay(true).map_err(ClientError::Connect)?;
    http1::handshake(TokioIo::new(stream))
        .await
        .map_err(ClientError::Handshake)
}

/// Polls `exchange` and the connection that serves it together, in the caller's task.
async fn drive<T>(
    conn: &mut Conn,
    exchange: impl Future<Output = Result<T, ClientError>>,
) -> Result<T, ClientError> {
    let mut exchange = pin!(exchange);
    poll_fn(|cx| {
        if let Poll::Ready(result) = exchange.as_mut().poll(cx) {
            return Poll::Ready(result);
        }
        match std::pin::Pin::new(&mut *conn).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(())) => {
                // The connection ended; the exchange may still hold a finished response.
                match exchange.as_mut().poll(cx) {
                    Poll::Ready(result) => Poll::Ready(result),
                    Poll::Pending => Poll::Ready(Err(ClientError::Closed)),
                }
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(ClientError::Http(error))),
        }
    })
    .await
}

fn closes(headers: &HeaderMap) -> bool {
    headers
        .get(hyper::header::CONNECTION)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"close"))
}
