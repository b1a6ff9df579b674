//! The socket as hyper sees it: reads tell the watchdog a head has begun, and the answers hyper
//! writes by itself for a request it cannot parse get the JSON error body.
//!
//! hyper answers a head it cannot parse on its own, before any service runs: 400 (bad request line
//! or header), 414 (URI over 65,534 bytes) and 431 (head over the buffer limit or more than 100
//! headers), each with `content-length: 0`, and then closes the connection. No hook lets a server
//! give those answers a body, so [`WatchedIo`] recognises them on the way out and writes the same
//! status with the JSON error body instead. The match cannot hit one of the app's answers: every
//! 4xx the app sends has a JSON body, so a non-zero `content-length`, and a body chunk cannot start
//! with a status line with CRLFs (JSON escapes them). A parse error in a pipelined request whose
//! answer hyper writes together with the previous response is left as hyper wrote it.

use std::{
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
};

use axum::http::StatusCode;
use shared::error::ErrorBody;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::connection::Activity;
use crate::error::ApiError;

/// A socket that reports reads to [`Activity`] and gives hyper's own errors a JSON body.
#[derive(Debug)]
pub struct WatchedIo<T> {
    inner: T,
    activity: Arc<Activity>,
    /// A rewritten answer still being written, and how much of it is out.
    replacement: Option<(Vec<u8>, usize)>,
}

impl<T> WatchedIo<T> {
    pub fn new(inner: T, activity: Arc<Activity>) -> Self {
        Self {
            inner,
            activity,
            replacement: None,
        }
    }
}

impl<T: AsyncWrite + Unpin> WatchedIo<T> {
    /// Writes what is left of a replacement; ready when nothing is.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.replacement {
            if *written == bytes.len() {
                self.replacement = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }

    /// Takes `head` as written, queueing its JSON replacement, if it is one of hyper's own errors.
    fn intercept(&mut self, cx: &mut Context<'_>, head: &[u8]) -> Option<io::Result<usize>> {
        let replacement = replacement_for(head)?;
        self.replacement = Some((replacement, 0));
        // Start now; what the socket does not take yet goes out on the next write or flush.
        match self.drain(cx) {
            Poll::Ready(Err(error)) => Some(Err(error)),
            _ => Some(Ok(head.len())),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WatchedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            this.activity.bytes_read();
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WatchedIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        if let Some(result) = this.intercept(cx, buf) {
            return Poll::Ready(result);
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        if let Some(first) = bufs.iter().find(|buf| !buf.is_empty())
            && let Some(result) = this.intercept(cx, first)
        {
            return Poll::Ready(result);
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// The JSON answer that replaces `head` when `head` is one of hyper's own bodiless 4xx answers.
fn replacement_for(head: &[u8]) -> Option<Vec<u8>> {
    let status = head.strip_prefix(b"HTTP/1.1 4")?;
    if !head.ends_with(b"\r\n\r\n") || !contains(head, b"\r\ncontent-length: 0\r\n") {
        return None;
    }
    let error = match status.get(..2)? {
        b"00" => ApiError::BadRequest(
            "The request could not be parsed: bad request line, header or version.".to_owned(),
        ),
        b"14" => ApiError::UriTooLong,
        b"31" => ApiError::HeadersTooLarge,
        _ => return None,
    };
    Some(error_response(&error))
}

/// A complete `connection: close` HTTP/1.1 answer for `error`, with its JSON body.
pub fn error_response(error: &ApiError) -> Vec<u8> {
    let status: StatusCode = error.status();
    let body =
        serde_json::to_string(&ErrorBody::new(error.code(), error.to_string())).unwrap_or_default();
    format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypers_bodiless_400_414_431_are_replaced_and_nothing_else_is() {
        let hyper_400 = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let text = String::from_utf8(replacement_for(hyper_400).unwrap()).unwrap();
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
        assert!(text.ends_with(r#""code":"bad_request","message":"The request could not be parsed: bad request line, header or version."}}"#), "{text}");
        for (head, code) in [
            (
                &b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n\r\n"[..],
                "uri_too_long",
            ),
            (
                b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n",
                "headers_too_large",
            ),
        ] {
            let text = String::from_utf8(replacement_for(head).unwrap()).unwrap();
            assert!(text.contains(code), "{text}");
        }
        // The app's own answers: a body, a 2xx, a body chunk.
        for head in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 60\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"{\"error\": {\"code\": \"bad_request\"}}",
        ] {
            assert!(replacement_for(head).is_none(), "{}", String::from_utf8_lossy(head));
        }
    }
}
