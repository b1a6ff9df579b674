//! Two requests sent together, last-byte synchronised: open both connections, write every byte of
//! each request but the last, wait until both are written, then release the two last bytes one
//! right after the other (the observer's first). Neither request is complete before both are
//! fully on the wire, so network and client jitter cannot pull them apart; what is left is the
//! server's own scheduling. Each answer is read to the end of its connection (`Connection:
//! close`), at most [`MAX_ANSWER`] bytes.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{HeaderMap, Request, header};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::file::Order;
use crate::client::{Stream, Target, dial_stream};

/// Largest answer read (a longer one is an error).
const MAX_ANSWER: usize = 4 << 20;

/// An answer of the race.
#[derive(Debug)]
pub struct Raced {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When the request's last byte was written, and when its answer's first byte was read: two
    /// answers overlapped in time when each request was complete before the other's answer began.
    pub released: Option<Instant>,
    pub first_byte: Option<Instant>,
}

impl Raced {
    /// Whether this request and `other` were both at the server at some moment (each was sent
    /// whole before the other's answer began). Unknown times count as overlapping.
    pub fn overlapped(&self, other: &Raced) -> bool {
        match (
            self.released,
            self.first_byte,
            other.released,
            other.first_byte,
        ) {
            (Some(mine_sent), Some(mine_back), Some(theirs_sent), Some(theirs_back)) => {
                mine_sent < theirs_back && theirs_sent < mine_back
            }
            _ => true,
        }
    }
}

/// Why one of the racing requests got no answer.
#[derive(Debug, thiserror::Error)]
pub enum RaceError {
    #[error("connect: {0}")]
    Connect(String),
    #[error("write: {0}")]
    Write(std::io::Error),
    #[error("read: {0}")]
    Read(std::io::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("an answer that is not HTTP/1.1: {0}")]
    Parse(String),
}

/// The bytes of `request` (built for the target, body `body`), closing the connection after it.
pub fn serialize(request: &Request<Full<Bytes>>, body: &Bytes) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    out.extend_from_slice(format!("{} {path} HTTP/1.1\r\n", request.method()).as_bytes());
    for (name, value) in request.headers() {
        if name == header::CONNECTION || name == header::CONTENT_LENGTH {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    out.extend_from_slice(b"connection: close\r\n\r\n");
    out.extend_from_slice(body);
    out
}

/// Sends `observer` and `victim` (serialized requests) as `order` says (released together: the
/// second last byte `stagger` after the first); both answers, the observer's first.
pub async fn race(
    target: &Target,
    observer: &[u8],
    victim: &[u8],
    order: Order,
    stagger: Duration,
    timeout: Duration,
) -> [Result<Raced, RaceError>; 2] {
    match order {
        Order::VictimFirst => {
            let victim = alone(target, victim, timeout).await;
            let observer = alone(target, observer, timeout).await;
            [observer, victim]
        }
        Order::ObserverFirst => {
            let observer = alone(target, observer, timeout).await;
            let victim = alone(target, victim, timeout).await;
            [observer, victim]
        }
        Order::Together | Order::TogetherVictimFirst => {
            let (first, second) = if order == Order::Together {
                (observer, victim)
            } else {
                (victim, observer)
            };
            match tokio::time::timeout(timeout, together(target, first, second, stagger)).await {
                Ok([a, b]) if order == Order::Together => [a, b],
                Ok([a, b]) => [b, a],
                Err(_) => [
                    Err(RaceError::Timeout(timeout)),
                    Err(RaceError::Timeout(timeout)),
                ],
            }
        }
    }
}

async fn alone(target: &Target, request: &[u8], timeout: Duration) -> Result<Raced, RaceError> {
    let exchange = async {
        let mut stream = connect(target).await?;
        stream.write_all(request).await.map_err(RaceError::Write)?;
        stream.flush().await.map_err(RaceError::Write)?;
        let released = Instant::now();
        let mut answer = read_answer(&mut stream).await?;
        answer.released = Some(released);
        Ok(answer)
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or(Err(RaceError::Timeout(timeout)))
}

async fn together(
    target: &Target,
    observer: &[u8],
    victim: &[u8],
    stagger: Duration,
) -> [Result<Raced, RaceError>; 2] {
    let opened = tokio::join!(connect(target), connect(target));
    let (mut first, mut second) = match opened {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            let message = e.to_string();
            return [
                Err(RaceError::Connect(message.clone())),
                Err(RaceError::Connect(message)),
            ];
        }
    };
    let (observer_head, observer_last) = observer.split_at(observer.len() - 1);
    let (victim_head, victim_last) = victim.split_at(victim.len() - 1);
    let written = tokio::join!(
        write_flushed(&mut first, observer_head),
        write_flushed(&mut second, victim_head)
    );
    if let (Err(e), _) | (_, Err(e)) = written {
        let message = e.to_string();
        return [
            Err(RaceError::Write(e)),
            Err(RaceError::Write(std::io::Error::other(message))),
        ];
    }
    // Both requests wait for one byte: release them together. The observer's answer is read
    // from the moment its last byte is out, so an answer that comes back within the stagger is
    // seen to (and the pair is seen not to overlap).
    if let Err(e) = write_flushed(&mut first, observer_last).await {
        let message = e.to_string();
        return [
            Err(RaceError::Write(e)),
            Err(RaceError::Write(std::io::Error::other(message))),
        ];
    }
    let observer_released = Instant::now();
    let victim_side = async {
        if !stagger.is_zero() {
            tokio::time::sleep(stagger).await;
        }
        write_flushed(&mut second, victim_last)
            .await
            .map_err(RaceError::Write)?;
        let released = Instant::now();
        let mut answer = read_answer(&mut second).await?;
        answer.released = Some(released);
        Ok(answer)
    };
    let (observer_answer, victim_answer) = tokio::join!(read_answer(&mut first), victim_side);
    let observer_answer = observer_answer.map(|mut answer| {
        answer.released = Some(observer_released);
        answer
    });
    [observer_answer, victim_answer]
}

async fn connect(target: &Target) -> Result<Stream, RaceError> {
    dial_stream(target)
        .await
        .map_err(|e| RaceError::Connect(e.to_string()))
}

async fn write_flushed(stream: &mut Stream, bytes: &[u8]) -> std::io::Result<()> {
    stream.write_all(bytes).await?;
    stream.flush().await
}

/// Reads the answer to the end of the connection and parses it.
async fn read_answer(stream: &mut Stream) -> Result<Raced, RaceError> {
    let mut buffer = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    let mut first_byte = None;
    let stamped = |answer: Option<Raced>, first_byte: Option<Instant>| {
        answer.map(|mut answer| {
            answer.first_byte = first_byte;
            answer
        })
    };
    loop {
        let n = stream.read(&mut chunk).await.map_err(RaceError::Read)?;
        if n == 0 {
            break;
        }
        first_byte.get_or_insert_with(Instant::now);
        buffer.extend_from_slice(&chunk[..n]);
        if buffer.len() > MAX_ANSWER {
            return Err(RaceError::Parse(format!("longer than {MAX_ANSWER} bytes")));
        }
        if let Some(answer) = stamped(complete(&buffer)?, first_byte) {
            return Ok(answer);
        }
    }
    stamped(complete(&buffer)?, first_byte)
        .ok_or_else(|| RaceError::Parse("the connection closed mid-answer".into()))
}

/// The answer in `bytes`, once complete (by `Content-Length`, chunked encoding, or `None` until
/// the connection closes when neither is given).
fn complete(bytes: &[u8]) -> Result<Option<Raced>, RaceError> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let head = match response.parse(bytes) {
        Ok(httparse::Status::Complete(head)) => head,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(RaceError::Parse(e.to_string())),
    };
    let status = response.code.unwrap_or(0);
    let mut map = HeaderMap::new();
    for h in response.headers.iter() {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(h.name.as_bytes()),
            header::HeaderValue::from_bytes(h.value),
        ) {
            map.append(name, value);
        }
    }
    let rest = &bytes[head..];
    let chunked = map
        .get(header::TRANSFER_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        match dechunk(rest)? {
            Some(body) => body,
            None => return Ok(None),
        }
    } else if let Some(length) = map
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        if rest.len() < length {
            return Ok(None);
        }
        rest[..length].to_vec()
    } else {
        // Read to the close: the caller calls again at EOF.
        rest.to_vec()
    };
    Ok(Some(Raced {
        status,
        headers: map,
        body: Bytes::from(body),
        released: None,
        first_byte: None,
    }))
}

/// A chunked body, once its last chunk arrived.
fn dechunk(mut rest: &[u8]) -> Result<Option<Vec<u8>>, RaceError> {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let size_text = std::str::from_utf8(&rest[..line_end])
            .map_err(|_| RaceError::Parse("a chunk size that is not text".into()))?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| RaceError::Parse(format!("chunk size `{size_text}`")))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(Some(body));
        }
        if rest.len() < size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_by_length_and_by_chunks() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";
        let answer = complete(plain).unwrap().expect("complete");
        assert_eq!(
            (answer.status, &answer.body[..]),
            (200, &b"hello"[..]),
            "a content-length answer is read whole"
        );
        assert!(
            complete(&plain[..plain.len() - 1]).unwrap().is_none(),
            "one byte short"
        );
        let chunked = b"HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let answer = complete(chunked).unwrap().expect("complete");
        assert_eq!(
            (answer.status, &answer.body[..]),
            (404, &b"abcde"[..]),
            "a chunked answer is decoded whole"
        );
    }

    #[test]
    fn a_request_closes_its_connection_and_says_its_length() {
        let request = Request::builder()
            .method("POST")
            .uri("/api/cities")
            .header("host", "x")
            .body(Full::new(Bytes::from_static(b"{}")))
            .unwrap();
        let text = String::from_utf8(serialize(&request, &Bytes::from_static(b"{}"))).unwrap();
        assert_eq!(
            text,
            "POST /api/cities HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
            "the raced request is written whole with connection: close"
        );
    }
}
