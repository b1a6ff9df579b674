//! A chunked body (RFC 9112 section 7.1) decoded from whatever part of it has been read: the
//! decoder keeps its place between reads, so chunks split anywhere (inside a size line, a CRLF,
//! the data) decode the same as whole ones.
//!
//! Bounded: a body past `max` bytes is refused as soon as a chunk's size says so, a size line or
//! the trailers past [`MAX_LINE`] / [`MAX_TRAILERS`] bytes are malformed.

use bytes::{Buf, BytesMut};

use super::head::Malformed;

/// The longest chunk-size line (size and extensions).
pub const MAX_LINE: usize = 4 << 10;
/// The most trailer bytes read after the last chunk.
pub const MAX_TRAILERS: usize = 16 << 10;

/// Where the decoder is in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before a chunk-size line.
    Size,
    /// Inside a chunk's data: this many bytes left.
    Data(u64),
    /// After a chunk's data: its CRLF.
    DataEnd,
    /// After the last (zero) chunk: trailer lines until an empty one; this many bytes read.
    Trailers(usize),
    Done,
}

/// What a call to [`Chunked::decode`] reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The body is complete.
    Done,
    /// More bytes are needed.
    More,
    /// The body is larger than the limit.
    TooLarge,
}

/// A chunked-body decoder.
#[derive(Debug)]
pub struct Chunked {
    state: State,
    max: u64,
}

impl Chunked {
    /// A decoder for a body of at most `max` bytes.
    pub fn new(max: u64) -> Self {
        Self {
            state: State::Size,
            max,
        }
    }

    /// Consumes from `input` what it can, appending data to `body`.
    pub fn decode(
        &mut self,
        input: &mut BytesMut,
        body: &mut BytesMut,
    ) -> Result<Progress, Malformed> {
        loop {
            match self.state {
                State::Done => return Ok(Progress::Done),
                State::Size => {
                    let Some(line) = take_line(input, MAX_LINE, "chunk size line too long")? else {
                        return Ok(Progress::More);
                    };
                    let size = chunk_size(&line)?;
                    if (body.len() as u64).saturating_add(size) > self.max {
                        return Ok(Progress::TooLarge);
                    }
                    self.state = if size == 0 {
                        State::Trailers(0)
                    } else {
                        State::Data(size)
                    };
                }
                State::Data(left) => {
                    if input.is_empty() {
                        return Ok(Progress::More);
                    }
                    let n = (input.len() as u64).min(left) as usize;
                    body.extend_from_slice(&input[..n]);
                    input.advance(n);
                    self.state = if n as u64 == left {
                        State::DataEnd
                    } else {
                        State::Data(left - n as u64)
                    };
                }
                State::DataEnd => match input.first().copied() {
                    None => return Ok(Progress::More),
                    Some(b'\n') => {
                        input.advance(1);
                        self.state = State::Size;
                    }
                    Some(b'\r') => match input.get(1).copied() {
                        None => return Ok(Progress::More),
                        Some(b'\n') => {
                            input.advance(2);
                            self.state = State::Size;
                        }
                        Some(_) => return Err(Malformed::Chunked("no CRLF after the data")),
                    },
                    Some(_) => return Err(Malformed::Chunked("no CRLF after the data")),
                },
                State::Trailers(read) => {
                    let left = MAX_TRAILERS.saturating_sub(read);
                    let Some(line) = take_line(input, left, "trailers too long")? else {
                        return Ok(Progress::More);
                    };
                    self.state = if line.is_empty() {
                        State::Done
                    } else {
                        State::Trailers(read + line.len() + 2)
                    };
                }
            }
        }
    }
}

/// The next line of `input` without its line ending, if a whole one is there; an error when
/// `limit` bytes hold no end.
fn take_line(
    input: &mut BytesMut,
    limit: usize,
    too_long: &'static str,
) -> Result<Option<BytesMut>, Malformed> {
    match memchr::memchr(b'\n', &input[..input.len().min(limit)]) {
        Some(at) => {
            let mut line = input.split_to(at + 1);
            line.truncate(at);
            if line.last() == Some(&b'\r') {
                line.truncate(at - 1);
            }
            Ok(Some(line))
        }
        None if input.len() >= limit => Err(Malformed::Chunked(too_long)),
        None => Ok(None),
    }
}

/// The hexadecimal size at the start of a chunk-size line (extensions after `;` ignored).
fn chunk_size(line: &[u8]) -> Result<u64, Malformed> {
    let end = line.iter().position(|b| *b == b';').unwrap_or(line.len());
    let digits = line[..end].trim_ascii();
    if digits.is_empty() || digits.len() > 15 {
        return Err(Malformed::Chunked("invalid chunk size"));
    }
    digits.iter().try_fold(0u64, |size, b| {
        let digit = (*b as char)
            .to_digit(16)
            .ok_or(Malformed::Chunked("invalid chunk size"))?;
        Ok(size * 16 + u64::from(digit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `wire` in pieces of `step` bytes; returns the body and the unread rest.
    fn feed(wire: &[u8], step: usize, max: u64) -> Result<(Progress, Vec<u8>, Vec<u8>), Malformed> {
        let mut decoder = Chunked::new(max);
        let mut input = BytesMut::new();
        let mut body = BytesMut::new();
        let mut progress = Progress::More;
        for piece in wire.chunks(step) {
            input.extend_from_slice(piece);
            progress = decoder.decode(&mut input, &mut body)?;
            if progress != Progress::More {
                break;
            }
        }
        Ok((progress, body.to_vec(), input.to_vec()))
    }

    const BODY: &[u8] = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Sum: 1\r\n\r\nNEXT";

    #[test]
    fn a_body_split_anywhere_decodes_the_same() {
        for step in 1..=BODY.len() {
            let (progress, body, rest) = feed(BODY, step, 1 << 20).unwrap();
            assert_eq!(progress, Progress::Done, "step {step}");
            assert_eq!(body, b"hello, world", "step {step}");
            assert!(
                b"NEXT".starts_with(&rest),
                "step {step}: bytes after the body stay unread, got {rest:?}"
            );
        }
    }

    #[test]
    fn a_chunk_past_the_limit_is_refused_by_its_size() {
        let (progress, body, _) = feed(b"5\r\nhello\r\nffff\r\n", 64, 10).unwrap();
        assert_eq!(
            progress,
            Progress::TooLarge,
            "a chunk over the body limit is too large"
        );
        assert_eq!(body, b"hello", "nothing of the big chunk was read");
    }

    #[test]
    fn bad_sizes_missing_crlf_and_endless_lines_are_malformed() {
        assert!(feed(b"zz\r\n", 64, 100).is_err(), "not hex");
        assert!(feed(b"\r\n", 64, 100).is_err(), "no size");
        assert!(
            feed(b"ffffffffffffffff\r\n", 64, u64::MAX).is_err(),
            "overflow"
        );
        assert!(feed(b"1\r\naXX", 64, 100).is_err(), "no CRLF after data");
        let endless = vec![b'1'; MAX_LINE + 1];
        assert_eq!(
            feed(&endless, 1024, 100).unwrap_err(),
            Malformed::Chunked("chunk size line too long"),
            "a chunk size line that never ends is refused"
        );
        let trailers = [b"0\r\n".as_slice(), &vec![b'x'; MAX_TRAILERS + 1]].concat();
        assert_eq!(
            feed(&trailers, 1024, 100).unwrap_err(),
            Malformed::Chunked("trailers too long"),
            "trailers that never end are refused"
        );
    }
}
