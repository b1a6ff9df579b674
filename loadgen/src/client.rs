//! The HTTP/1.1 client of one virtual user: its own keep-alive connection, nothing shared but
//! the run's TLS configuration.
//!
//! A real user holds its own connection, so each virtual user does too. reqwest keeps a pool per
//! client, which costs close to a megabyte per user when every user needs its own; here a user owns
//! one HTTP/1.1 [`connection`] over a `TcpStream` with `TCP_NODELAY` (TLS over it for `https`, see
//! [`tls`]) and drives it inside its own task: no connection task, no channel between tasks, no
//! header map built per request. A request is bytes written at once ([`wire`]: serialised once
//! per run when it never changes), a response is parsed with `httparse` ([`head`], [`chunked`])
//! out of one reused buffer. A broken connection is dropped and the next request dials again,
//! after a back-off while the target keeps failing. A response body is read up to `--max-body`,
//! so whatever a target sends costs bounded memory.

pub mod chunked;
pub mod connection;
pub mod head;
pub mod headers;
pub mod tls;
pub mod wire;

use std::{
    net::SocketAddr,
    path::PathBuf,
    time::{Duration, Instant},
};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{
    HeaderMap, Method, Request, StatusCode, Uri,
    header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue, USER_AGENT},
};
use tokio::net::TcpStream;

use connection::Connection;
pub use head::Malformed;
pub use headers::Headers;
pub use tls::Stream;
use tls::Tls;
pub use wire::{Outgoing, Wire};

/// Why a request got no response. Counted as an `exception` outcome, never propagated.
///
/// The message carries the whole cause chain down to the OS error (`connect: connection refused
/// (os error 111)`, `http: connection error: connection reset by peer (os error 104)`), so the
/// failure reasons in a report say what the network said.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("connect: {}", chain(.0))]
    Connect(#[source] std::io::Error),
    #[error("tls: {}", chain(.0))]
    Tls(#[source] std::io::Error),
    /// Reading or writing the connection failed (reset, broken pipe).
    #[error("http: {}", chain(.0))]
    Http(#[source] std::io::Error),
    /// The bytes that came back are not an HTTP/1.1 response.
    #[error("http: {0}")]
    Malformed(#[from] Malformed),
    #[error("connection closed before the response")]
    Closed,
    /// The body went past `--max-body`; the connection is closed.
    #[error("body_too_large: the response body exceeds --max-body {}", size_text(*.0))]
    BodyTooLarge(u64),
}

impl ClientError {
    /// A response did come back (too large to read): the target is up, so no back-off.
    fn answered(&self) -> bool {
        matches!(self, ClientError::BodyTooLarge(_))
    }
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

/// The default `--max-body`: 8 MiB.
pub const DEFAULT_MAX_BODY: u64 = 8 << 20;

/// How the client talks to the target, from the connection flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `--max-body`, in bytes.
    pub max_body: u64,
    /// `--cacert`: extra trusted certificates (PEM).
    pub cacert: Option<PathBuf>,
    /// `--insecure`: accept any certificate.
    pub insecure: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_body: DEFAULT_MAX_BODY,
            cacert: None,
            insecure: false,
        }
    }
}

/// How a user's client dials: the address, TLS (shared config) and the body limit. Cloning it is
/// reference counting.
#[derive(Debug, Clone)]
pub struct Dialer {
    addr: SocketAddr,
    tls: Option<Tls>,
    max_body: u64,
}

/// Where requests go: one resolved address, the headers every request carries (`Host`, the
/// default `User-Agent`, Basic auth from the URL), and the dialer; shared by every user.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    /// `host[:port]` as in the URL, without its userinfo.
    pub host: HeaderValue,
    /// The path prefix of the base URL (`/api/v1`, or empty).
    pub base_path: String,
    /// `Host`, `User-Agent: loadgen/VERSION` and, when the URL has `user:password@`, its Basic
    /// `Authorization`: built once, cloned into every request.
    pub headers: HeaderMap,
    dialer: Dialer,
}

/// The default `User-Agent`.
pub const USER_AGENT_VALUE: &str = concat!("loadgen/", env!("CARGO_PKG_VERSION"));

impl Target {
    /// Parses `http[s]://[user:password@]host[:port][/base]` with the default options and
    /// resolves the host once.
    pub async fn resolve(url: &str) -> Result<Self, String> {
        Self::resolve_with(url, &Options::default()).await
    }

    /// [`Target::resolve`] with the connection flags (`--max-body`, `--cacert`, `--insecure`).
    pub async fn resolve_with(url: &str, options: &Options) -> Result<Self, String> {
        let uri: Uri = url
            .parse()
            .map_err(|error| format!("`{url}` is not a URL: {error}"))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            Some(other) => {
                return Err(format!(
                    "`{url}`: scheme {other} is not supported, use http or https"
                ));
            }
            None => return Err(format!("`{url}` needs a scheme: http://HOST:PORT/PATH")),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| format!("`{url}` has no host"))?;
        // `host()` keeps IPv6 brackets (`[::1]`), right for `Host`, not for lookup or TLS names.
        let name = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let addr = tokio::net::lookup_host((name, port))
            .await
            .map_err(|error| format!("cannot resolve `{name}`: {error}"))?
            .next()
            .ok_or_else(|| format!("`{name}` resolves to no address"))?;
        let host_text = match authority.port() {
            Some(port) => format!("{}:{port}", authority.host()),
            None => authority.host().to_owned(),
        };
        let host = HeaderValue::from_str(&host_text)
            .map_err(|_| format!("`{url}` has an invalid host"))?;
        let mut headers = HeaderMap::with_capacity(4);
        headers.insert(HOST, host.clone());
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        if let Some((userinfo, _)) = authority.as_str().rsplit_once('@') {
            headers.insert(AUTHORIZATION, basic_auth(userinfo, url)?);
        }
        let tls = https
            .then(|| Tls::new(name, options.cacert.as_deref(), options.insecure))
            .transpose()?;
        let base_path = uri
            .path_and_query()
            .map(|p| p.as_str().trim_end_matches('/'))
            .unwrap_or("")
            .to_owned();
        Ok(Self {
            addr,
            host,
            base_path,
            headers,
            dialer: Dialer {
                addr,
                tls,
                max_body: options.max_body,
            },
        })
    }

    /// A request for `path` (appended to the base path) with the target's headers.
    pub fn request(&self, method: Method, path: &str, body: Bytes) -> Request<Full<Bytes>> {
        self.prepare(method, path, &HeaderMap::new()).build(body)
    }

    /// The unchanging parts of a request for `path`, built once: the target's headers, then
    /// `extra` (which replaces a default of the same name).
    pub fn prepare(&self, method: Method, path: &str, extra: &HeaderMap) -> Prepared {
        let uri: Uri = format!("{}{path}", self.base_path)
            .parse()
            .unwrap_or_else(|_| Uri::from_static("/"));
        let mut headers = self.headers.clone();
        for name in extra.keys() {
            headers.remove(name);
        }
        for (name, value) in extra {
            headers.append(name, value.clone());
        }
        Prepared {
            method,
            uri,
            headers,
        }
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

/// `user:password` (percent-encoded, as in a URL) as a Basic `Authorization` value.
fn basic_auth(userinfo: &str, url: &str) -> Result<HeaderValue, String> {
    let decoded = percent_decode(userinfo)
        .ok_or_else(|| format!("`{url}`: the user or password is badly percent-encoded"))?;
    let token = base64::engine::general_purpose::STANDARD.encode(decoded);
    let mut value = HeaderValue::from_str(&format!("Basic {token}"))
        .map_err(|_| format!("`{url}`: the user or password cannot be sent"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// `%XX` decoding; `None` on a broken escape.
fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The parts of a request that never change, built once; cloning them is reference counting.
#[derive(Debug, Clone)]
pub struct Prepared {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
}

impl Prepared {
    /// A request with exactly `Host` and an optional `Content-Type` (no default `User-Agent`:
    /// [`Target::prepare`] adds the target's headers).
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

    /// The whole request with `body`, serialised once for a request that never changes.
    pub fn wire(&self, body: &[u8]) -> Wire {
        Wire::new(&self.method, &self.uri, &self.headers, body)
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
    /// Empty unless the request asked for headers (see [`Wire::ignoring_response_headers`]).
    pub headers: Headers,
    pub body: Bytes,
    /// When the status line and headers had been read (the first byte, give or take a packet).
    pub first_byte: Instant,
}

impl Response {
    /// The body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// One user's connection; dials lazily and again after any error, backing off while the target
/// keeps failing (see [`Client::backoff`]).
#[derive(Debug)]
pub struct Client {
    dialer: Dialer,
    connection: Option<Connection>,
    /// Consecutive exchanges that ended without a response.
    failures: u32,
}

impl Client {
    /// A plain-HTTP client with the default body limit.
    pub fn new(addr: SocketAddr) -> Self {
        Self::with(Dialer {
            addr,
            tls: None,
            max_body: DEFAULT_MAX_BODY,
        })
    }

    /// A client for `target`: its TLS configuration (shared) and body limit.
    pub fn to(target: &Target) -> Self {
        Self::with(target.dialer.clone())
    }

    fn with(dialer: Dialer) -> Self {
        Self {
            dialer,
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

    /// Sends a request (built for this call, or a [`Wire`] serialised once) and reads the whole
    /// body (up to `--max-body`). On any error the connection is dropped, so the next call dials
    /// a fresh one. Cancelling the future (a timeout) leaves the connection in an unknown state:
    /// call [`Client::reset`] then.
    pub async fn send<'a>(
        &mut self,
        request: impl Into<Outgoing<'a>>,
    ) -> Result<Response, ClientError> {
        let result = self.exchange(request.into()).await;
        match &result {
            Err(error) if !error.answered() => self.failures = self.failures.saturating_add(1),
            _ => self.failures = 0,
        }
        result
    }

    async fn exchange(&mut self, request: Outgoing<'_>) -> Result<Response, ClientError> {
        let wire = request.into_wire().await;
        if let Some(connection) = self.connection.as_mut() {
            // A kept-alive connection the server closed while idle is not a failed request:
            // look once, without waiting, and dial again if it ended.
            if !connection.is_idle().await {
                self.connection = None;
            }
        }
        self.connect().await?;
        let connection = self.connection.as_mut().expect("dialled above");
        match connection.exchange(&wire, self.dialer.max_body).await {
            Ok((response, keep)) => {
                if !keep {
                    self.connection = None;
                }
                Ok(response)
            }
            Err(error) => {
                self.connection = None;
                Err(error)
            }
        }
    }

    /// Dials now if not connected (the preflight: connect and TLS handshake).
    pub async fn connect(&mut self) -> Result<(), ClientError> {
        if self.connection.is_none() {
            self.connection = Some(Connection::new(dial(&self.dialer).await?));
        }
        Ok(())
    }

    /// Forgets the connection (after a timeout cancelled a request half-way).
    pub fn reset(&mut self) {
        self.connection = None;
    }
}

/// A raw connection to `target` (TCP, and TLS when the URL is `https://`), for callers that
/// write the request bytes themselves (`loadgen replay`'s last-byte synchronisation).
pub async fn dial_stream(target: &Target) -> Result<Stream, ClientError> {
    dial(&target.dialer).await
}

async fn dial(dialer: &Dialer) -> Result<Stream, ClientError> {
    let tcp = TcpStream::connect(dialer.addr)
        .await
        .map_err(ClientError::Connect)?;
    tcp.set_nodelay(true).map_err(ClientError::Connect)?;
    match &dialer.tls {
        None => Ok(Stream::Plain(tcp)),
        Some(tls) => tls.handshake(tcp).await.map_err(ClientError::Tls),
    }
}

/// `8388608` as `8 MiB`, `1500` as `1500 B`: the size as a user would have typed it.
pub fn size_text(bytes: u64) -> String {
    for (unit, size) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{} {unit}", bytes / size);
        }
    }
    format!("{bytes} B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_chain_reaches_the_os_error_in_lower_case() {
        let io = std::io::Error::from_raw_os_error(111);
        assert_eq!(
            ClientError::Connect(io).to_string(),
            "connect: connection refused (os error 111)",
            "a connect error names the OS error"
        );
    }

    #[test]
    fn userinfo_becomes_basic_auth_percent_decoded() {
        let value = basic_auth("alice:s%40cret", "http://x").unwrap();
        assert_eq!(
            value, "Basic YWxpY2U6c0BjcmV0",
            "userinfo is percent-decoded and base64-encoded as basic auth"
        );
        assert!(value.is_sensitive(), "kept out of debug output");
        assert!(
            basic_auth("alice:%4", "http://x").is_err(),
            "a broken percent escape in userinfo is refused"
        );
        assert_eq!(
            percent_decode("a%20b"),
            Some(b"a b".to_vec()),
            "%20 decodes to a space"
        );
    }

    #[tokio::test]
    async fn the_host_header_leaves_the_userinfo_out() {
        let target = Target::resolve("http://u:p@127.0.0.1:8020/api")
            .await
            .unwrap();
        assert_eq!(
            target.host, "127.0.0.1:8020",
            "the target's host keeps its port"
        );
        assert_eq!(
            target.headers[HOST], "127.0.0.1:8020",
            "the Host header is the host and port"
        );
        assert_eq!(
            target.headers[USER_AGENT], USER_AGENT_VALUE,
            "the default user agent is sent"
        );
        assert_eq!(target.base_path, "/api", "the URL's path is the base path");
    }

    #[test]
    fn back_off_doubles_with_jitter_up_to_the_cap() {
        let mut client = Client::new("127.0.0.1:1".parse().unwrap());
        assert_eq!(client.backoff(), None, "no failure, no pause");
        client.failures = 1;
        let first = client.backoff().unwrap();
        assert!(
            first >= BACKOFF_BASE / 2 && first <= BACKOFF_BASE,
            "{first:?}"
        );
        client.failures = 4;
        let fourth = client.backoff().unwrap();
        assert!(
            fourth >= BACKOFF_BASE * 4 && fourth <= BACKOFF_BASE * 8,
            "{fourth:?}"
        );
        client.failures = 40;
        let capped = client.backoff().unwrap();
        assert!(
            capped >= BACKOFF_CAP / 2 && capped <= BACKOFF_CAP,
            "{capped:?}"
        );
    }
}
