//! One keep-alive HTTP/1.1 connection, driven in its user's own task: write the request's bytes,
//! read into one reused buffer until a whole response is there, hand the body out as a slice of
//! that buffer (no copy unless chunked), and say whether the connection may carry the next one.
//!
//! The buffer is allocated at the first read ([`READ_SIZE`]) and grows only for a response that
//! needs more; once the previous response is dropped the next read reuses the same memory.
//! Anything the server sends that no request asked for (bytes after a response, data while idle,
//! its close of an idle connection) retires the connection instead of being read as the next
//! answer.

use std::{future::poll_fn, pin::pin, task::Poll, time::Instant};

use bytes::{Bytes, BytesMut};
use hyper::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{
    ClientError, Response,
    chunked::{Chunked, Progress},
    head::{self, Framing},
    tls::Stream,
    wire::Wire,
};

/// The read buffer's first size, and how much it grows by when a read finds it full.
pub const READ_SIZE: usize = 4 << 10;
/// Below this much free room the buffer grows before a read.
const MIN_ROOM: usize = 512;

/// A connected stream and its read buffer.
#[derive(Debug)]
pub struct Connection {
    stream: Stream,
    buf: BytesMut,
}

impl Connection {
    pub fn new(stream: Stream) -> Self {
        Self {
            stream,
            buf: BytesMut::new(),
        }
    }

    /// Whether the connection can carry another request: nothing arrived since the last
    /// response (neither the close of a server that ends idle connections, nor bytes nobody asked
    /// for). Reads once without waiting.
    pub async fn is_idle(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        self.make_room(0);
        poll_fn(|cx| {
            let read = pin!(self.stream.read_buf(&mut self.buf));
            Poll::Ready(read.poll(cx).is_pending())
        })
        .await
    }

    /// Sends `wire` and reads its response whole (its body up to `max_body` bytes); the flag
    /// says whether the connection may be used again. On an error it may not.
    pub async fn exchange(
        &mut self,
        wire: &Wire,
        max_body: u64,
    ) -> Result<(Response, bool), ClientError> {
        self.stream
            .write_all(wire.bytes())
            .await
            .map_err(ClientError::Http)?;
        self.stream.flush().await.map_err(ClientError::Http)?;
        let head = loop {
            if let Some(head) =
                head::read(&mut self.buf, wire.expects_no_body(), wire.wants_headers())?
            {
                // An interim answer (100 Continue, 103 Early Hints): the real one follows.
                if head.status.is_informational() && head.status != StatusCode::SWITCHING_PROTOCOLS
                {
                    continue;
                }
                break head;
            }
            self.fill(0).await?;
        };
        let first_byte = Instant::now();
        let mut keep = head.keep_alive && head.status != StatusCode::SWITCHING_PROTOCOLS;
        let body = match head.framing {
            Framing::Empty => Bytes::new(),
            Framing::Length(length) => {
                if length > max_body {
                    return Err(ClientError::BodyTooLarge(max_body));
                }
                let length =
                    usize::try_from(length).map_err(|_| ClientError::BodyTooLarge(max_body))?;
                while self.buf.len() < length {
                    self.fill(length - self.buf.len()).await?;
                }
                self.buf.split_to(length).freeze()
            }
            Framing::Chunked => self.chunked(max_body).await?,
            Framing::UntilClose => {
                keep = false;
                self.until_close(max_body).await?
            }
        };
        // Bytes after the response answer nothing that was asked: the stream is out of step.
        keep &= self.buf.is_empty();
        let response = Response {
            status: head.status,
            headers: head.headers,
            body,
            first_byte,
        };
        Ok((response, keep))
    }

    async fn chunked(&mut self, max_body: u64) -> Result<Bytes, ClientError> {
        let mut decoder = Chunked::new(max_body);
        let mut body = BytesMut::new();
        loop {
            match decoder.decode(&mut self.buf, &mut body)? {
                Progress::Done => return Ok(body.freeze()),
                Progress::TooLarge => return Err(ClientError::BodyTooLarge(max_body)),
                Progress::More => self.fill(0).await?,
            }
        }
    }

    async fn until_close(&mut self, max_body: u64) -> Result<Bytes, ClientError> {
        loop {
            if self.buf.len() as u64 > max_body {
                return Err(ClientError::BodyTooLarge(max_body));
            }
            self.make_room(0);
            let read = self
                .stream
                .read_buf(&mut self.buf)
                .await
                .map_err(ClientError::Http)?;
            if read == 0 {
                return Ok(self.buf.split().freeze());
            }
        }
    }

    /// Reads more of the response (at least `want` bytes of room first); the end of the stream
    /// here is a response cut short.
    async fn fill(&mut self, want: usize) -> Result<(), ClientError> {
        self.make_room(want);
        match self.stream.read_buf(&mut self.buf).await {
            Ok(0) => Err(ClientError::Closed),
            Ok(_) => Ok(()),
            Err(error) => Err(ClientError::Http(error)),
        }
    }

    fn make_room(&mut self, want: usize) {
        let room = self.buf.capacity() - self.buf.len();
        if room < want.max(MIN_ROOM) {
            self.buf.reserve(want.max(READ_SIZE));
        }
    }
}
