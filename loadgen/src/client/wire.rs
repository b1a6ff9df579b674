//! Requests as bytes on the wire: an HTTP/1.1 request head written by hand from a method, a
//! path and a header map, with the body after it.
//!
//! A scenario whose request never changes (`loadgen json`) serialises it once into a [`Wire`]
//! and every user sends those same bytes (reference counted, no per-request work); a request
//! built per call (`hyper::Request`) is serialised when sent. Either way the client writes one
//! buffer: no header map is walked twice and nothing is encoded on the hot path.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{
    HeaderMap, Method, Request, Uri,
    header::{CONTENT_LENGTH, TRANSFER_ENCODING},
};

/// A whole request, serialised once; cloning it is reference counting.
#[derive(Debug, Clone)]
pub struct Wire {
    bytes: Bytes,
    /// A `HEAD` request: its response has no body whatever its headers say.
    head: bool,
    /// The caller reads the response's headers (else their map is not built).
    headers: bool,
}

impl Wire {
    /// Serialises a request: its line, `headers` in their order, `Content-Length` when the body
    /// needs one (a body, or a method that carries one), then the body.
    pub fn new(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Self {
        let mut out = Vec::with_capacity(256 + body.len());
        serialise(method, uri, headers, body, &mut out);
        Self {
            bytes: out.into(),
            head: method == Method::HEAD,
            headers: true,
        }
    }

    /// The same request, for a caller that reads only the status and the body of its response:
    /// no header map is built for it (the framing is read all the same).
    pub fn ignoring_response_headers(mut self) -> Self {
        self.headers = false;
        self
    }

    /// Whether the response's header map is wanted.
    pub fn wants_headers(&self) -> bool {
        self.headers
    }

    /// The bytes to write.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether the response to this request has no body (`HEAD`).
    pub fn expects_no_body(&self) -> bool {
        self.head
    }
}

/// What a client sends: a request built for this call, or one serialised once.
#[derive(Debug)]
pub enum Outgoing<'a> {
    /// Boxed: a request is large, and the common case on the hot path is a [`Wire`].
    Request(Box<Request<Full<Bytes>>>),
    Wire(&'a Wire),
}

impl From<Request<Full<Bytes>>> for Outgoing<'_> {
    fn from(request: Request<Full<Bytes>>) -> Self {
        Outgoing::Request(Box::new(request))
    }
}

impl<'a> From<&'a Wire> for Outgoing<'a> {
    fn from(wire: &'a Wire) -> Self {
        Outgoing::Wire(wire)
    }
}

impl<'a> Outgoing<'a> {
    /// The serialised request (a reference for a [`Wire`], built now for a `Request`).
    pub(super) async fn into_wire(self) -> WireRef<'a> {
        match self {
            Outgoing::Wire(wire) => WireRef::Borrowed(wire),
            Outgoing::Request(request) => {
                let (parts, body) = (*request).into_parts();
                // A `Full` body is one frame that is ready at once; it cannot fail.
                let body = match body.collect().await {
                    Ok(collected) => collected.to_bytes(),
                    Err(never) => match never {},
                };
                WireRef::Owned(Wire::new(&parts.method, &parts.uri, &parts.headers, &body))
            }
        }
    }
}

/// A [`Wire`] borrowed from the scenario or made for one request.
#[derive(Debug)]
pub(super) enum WireRef<'a> {
    Borrowed(&'a Wire),
    Owned(Wire),
}

impl std::ops::Deref for WireRef<'_> {
    type Target = Wire;

    fn deref(&self) -> &Wire {
        match self {
            WireRef::Borrowed(wire) => wire,
            WireRef::Owned(wire) => wire,
        }
    }
}

/// Methods that carry a body by definition get a `Content-Length: 0` even when empty (as curl and
/// hyper send), the others only with a body.
fn carries_body(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH)
}

fn serialise(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    out.extend_from_slice(if target.is_empty() { "/" } else { target }.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        // The body is sent whole with its length: a `Transfer-Encoding` from `-H` would lie.
        if name == TRANSFER_ENCODING {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !headers.contains_key(CONTENT_LENGTH) && (!body.is_empty() || carries_body(method)) {
        out.extend_from_slice(b"content-length: ");
        out.extend_from_slice(body.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

#[cfg(test)]
mod tests {
    use hyper::header::{HOST, HeaderValue, USER_AGENT};

    use super::*;

    fn text(wire: &Wire) -> &str {
        std::str::from_utf8(wire.bytes()).unwrap()
    }

    #[test]
    fn a_get_has_its_headers_in_order_and_no_length() {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("h:1"));
        headers.insert(USER_AGENT, HeaderValue::from_static("t/1"));
        headers.append("x-tag", HeaderValue::from_static("a"));
        headers.append("x-tag", HeaderValue::from_static("b"));
        let wire = Wire::new(&Method::GET, &Uri::from_static("/json?q=1"), &headers, b"");
        assert_eq!(
            text(&wire),
            "GET /json?q=1 HTTP/1.1\r\nhost: h:1\r\nuser-agent: t/1\r\nx-tag: a\r\nx-tag: b\r\n\r\n",
            "a GET is written with its query, host, user agent and repeated headers"
        );
        assert!(!wire.expects_no_body(), "a POST expects a body");
    }

    #[test]
    fn a_body_gets_its_length_and_an_empty_post_a_zero() {
        let headers = HeaderMap::new();
        let wire = Wire::new(&Method::PUT, &Uri::from_static("/a"), &headers, b"{}");
        assert_eq!(
            text(&wire),
            "PUT /a HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}",
            "a PUT with a body declares its length"
        );
        let empty = Wire::new(&Method::POST, &Uri::from_static("http://h"), &headers, b"");
        assert_eq!(
            text(&empty),
            "POST / HTTP/1.1\r\ncontent-length: 0\r\n\r\n",
            "a POST without a body declares content-length 0"
        );
        let head = Wire::new(&Method::HEAD, &Uri::from_static("/"), &headers, b"");
        assert!(head.expects_no_body(), "a HEAD response has no body");
    }
}
