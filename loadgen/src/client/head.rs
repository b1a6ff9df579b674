//! A response head, parsed with `httparse` out of the bytes read, and what it says about the
//! body that follows (RFC 9112 section 6.3) and about the connection (keep-alive or close).
//!
//! The body's framing and the connection's fate are read straight from the parsed fields; the
//! header map is built only for a caller that reads headers (a scenario that checks status and
//! body skips it), its values slices of the head's own buffer (no copy per header). A head larger than
//! [`MAX_HEAD`] or with more than [`MAX_HEADERS`] fields is malformed, so a hostile peer costs
//! bounded memory.

use std::mem::MaybeUninit;

use bytes::{Buf, Bytes, BytesMut};
use hyper::{
    HeaderMap, StatusCode,
    header::{HeaderName, HeaderValue},
};

use super::Headers;

/// The largest response head read (status line and headers).
pub const MAX_HEAD: usize = 64 << 10;
/// The most header fields a response head may have.
pub const MAX_HEADERS: usize = 100;

/// Why a response could not be read as HTTP/1.1. The connection is closed after it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("invalid response head: {0}")]
    Head(httparse::Error),
    #[error("the response head exceeds {} KiB", MAX_HEAD >> 10)]
    HeadTooLarge,
    #[error("invalid header {0}")]
    Header(String),
    #[error("invalid content-length")]
    ContentLength,
    #[error("invalid chunked body: {0}")]
    Chunked(&'static str),
}

/// How the body of a response is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body (`HEAD`, 204, 304).
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the server closes the connection.
    UntilClose,
}

/// A parsed response head.
#[derive(Debug)]
pub struct Head {
    pub status: StatusCode,
    pub headers: Headers,
    pub framing: Framing,
    /// The server lets the connection be used again after this response.
    pub keep_alive: bool,
}

/// Where the head ends in `buf` (after its empty line), if it is all there; an error once the
/// bytes read exceed [`MAX_HEAD`] without an end.
pub fn end(buf: &[u8]) -> Result<Option<usize>, Malformed> {
    let scan = &buf[..buf.len().min(MAX_HEAD)];
    for at in memchr::memchr_iter(b'\n', scan) {
        match scan.get(at + 1..) {
            Some([b'\n', ..]) => return Ok(Some(at + 2)),
            Some([b'\r', b'\n', ..]) => return Ok(Some(at + 3)),
            _ => {}
        }
    }
    if buf.len() >= MAX_HEAD {
        return Err(Malformed::HeadTooLarge);
    }
    Ok(None)
}

/// The fields that decide the framing and the connection, gathered in the one pass over the head.
#[derive(Debug, Default)]
struct Fields<'a> {
    transfer_encoding: Option<&'a [u8]>,
    /// Every `Content-Length` agreed on this value.
    content_length: Option<u64>,
    close: bool,
    keep_alive: bool,
}

impl<'a> Fields<'a> {
    fn see(&mut self, name: &str, value: &'a [u8]) -> Result<(), Malformed> {
        // Most fields (`Server`, `Date`, `Content-Type`) have none of the three names' lengths.
        if !matches!(name.len(), 10 | 14 | 17) {
            return Ok(());
        }
        if is(name.as_bytes(), b"content-length") {
            // One plain number (the usual field) is its own list.
            if let Ok(n) = length(value) {
                return self.agree(n);
            }
            for part in value.split(|b| *b == b',') {
                self.agree(length(part.trim_ascii())?)?;
            }
        } else if is(name.as_bytes(), b"transfer-encoding") {
            // Several fields make one list: the last one holds the last coding.
            self.transfer_encoding = Some(value);
        } else if is(name.as_bytes(), b"connection") {
            // One token (the usual field) is its own list.
            if is(value, b"keep-alive") {
                self.keep_alive = true;
                return Ok(());
            }
            for token in value.split(|b| *b == b',').map(<[u8]>::trim_ascii) {
                self.close |= is(token, b"close");
                self.keep_alive |= is(token, b"keep-alive");
            }
        }
        Ok(())
    }

    /// One more `Content-Length` value: it must agree with every earlier one.
    fn agree(&mut self, n: u64) -> Result<(), Malformed> {
        if self.content_length.is_some_and(|seen| seen != n) {
            return Err(Malformed::ContentLength);
        }
        self.content_length = Some(n);
        Ok(())
    }
}

/// Whether `text` is `lower` (lower-case letters and `-`) in any ASCII case, for the names and
/// values `httparse` hands out, without a branch per byte. Setting bit 0x20 turns an upper-case
/// letter into its lower case and turns no other byte into a lower-case letter or `-`, except CR
/// into `-`: and a parsed name or value holds no CR.
fn is<const N: usize>(text: &[u8], lower: &[u8; N]) -> bool {
    let Ok(text) = <&[u8; N]>::try_from(text) else {
        return false;
    };
    text.iter()
        .zip(lower)
        .fold(0, |diff, (a, b)| diff | ((a | 0x20) ^ b))
        == 0
}

/// A `Content-Length` value: decimal digits only.
fn length(text: &[u8]) -> Result<u64, Malformed> {
    if text.is_empty() || text.len() > 19 || !text.iter().all(u8::is_ascii_digit) {
        return Err(Malformed::ContentLength);
    }
    Ok(text
        .iter()
        .fold(0u64, |n, digit| n * 10 + u64::from(digit - b'0')))
}

/// Takes a whole response head off the front of `buf` and parses it, or `None` while it is not
/// all there yet; `no_body` for the answer to a `HEAD` request; `headers` to build the header map
/// (else it stays empty).
///
/// Without a header map the head is parsed where it lies, in one pass: `httparse` finds its end
/// as it parses, and the bytes are then dropped off the buffer (no split, no `Bytes` per
/// response). Anything but a complete, valid head (a partial one, an error) goes the way a head
/// with a map goes, [`end`] then [`parse`], so the outcome, errors included, is the same either
/// way.
pub fn read(buf: &mut BytesMut, no_body: bool, headers: bool) -> Result<Option<Head>, Malformed> {
    if !headers && !buf.is_empty() {
        let scan = &buf[..buf.len().min(MAX_HEAD)];
        let mut slots = [const { MaybeUninit::uninit() }; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut []);
        let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
            &mut response,
            scan,
            &mut slots,
        );
        // Complete here means the same end as `end` finds: every LF of a valid head ends a
        // line, so its first empty line is the first LF followed by LF or CRLF.
        if let Ok(httparse::Status::Complete(len)) = parsed {
            let head = interpret(&response, no_body, None)?;
            buf.advance(len);
            return Ok(Some(head));
        }
    }
    match end(buf)? {
        Some(len) => parse(buf, len, no_body, headers).map(Some),
        None => Ok(None),
    }
}

/// Splits the head (its `len` bytes, as found by [`end`]) off `buf` and parses it; `no_body` for
/// the answer to a `HEAD` request; `headers` to build the header map (else it stays empty).
pub fn parse(
    buf: &mut BytesMut,
    len: usize,
    no_body: bool,
    headers: bool,
) -> Result<Head, Malformed> {
    let bytes: Bytes = buf.split_to(len).freeze();
    // Left uninitialised: filling 100 empty fields per response would cost more than parsing.
    let mut slots = [const { MaybeUninit::uninit() }; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut response, &bytes, &mut slots)
        .map_err(Malformed::Head)?;
    match parsed {
        httparse::Status::Complete(_) => {}
        httparse::Status::Partial => return Err(Malformed::Head(httparse::Error::Token)),
    }
    interpret(&response, no_body, headers.then_some(&bytes))
}

/// What a parsed head says: status, framing, keep-alive, and the header map when `map_from` (the
/// bytes the fields lie in) is given.
fn interpret(
    response: &httparse::Response<'_, '_>,
    no_body: bool,
    map_from: Option<&Bytes>,
) -> Result<Head, Malformed> {
    let code = response.code.unwrap_or_default();
    let status =
        StatusCode::from_u16(code).map_err(|_| Malformed::Head(httparse::Error::Status))?;
    let mut fields = Fields::default();
    for field in response.headers.iter() {
        fields.see(field.name, field.value)?;
    }
    let mut map = HeaderMap::new();
    if let Some(bytes) = map_from {
        map.reserve(response.headers.len());
        for field in response.headers.iter() {
            let name = HeaderName::from_bytes(field.name.as_bytes())
                .map_err(|_| Malformed::Header(field.name.to_owned()))?;
            let value = HeaderValue::from_maybe_shared(bytes.slice_ref(field.value))
                .map_err(|_| Malformed::Header(field.name.to_owned()))?;
            map.append(name, value);
        }
    }
    let framing = framing(status, &fields, no_body);
    let keep_alive = framing != Framing::UntilClose
        && if response.version == Some(0) {
            fields.keep_alive
        } else {
            !fields.close
        };
    Ok(Head {
        status,
        headers: map.into(),
        framing,
        keep_alive,
    })
}

fn framing(status: StatusCode, fields: &Fields<'_>, no_body: bool) -> Framing {
    if no_body
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Framing::Empty;
    }
    if let Some(codings) = fields.transfer_encoding {
        // The last coding decides; anything but chunked is read until the close.
        let last = codings
            .split(|b| *b == b',')
            .map(<[u8]>::trim_ascii)
            .rfind(|coding| !coding.is_empty());
        return match last {
            Some(coding) if coding.eq_ignore_ascii_case(b"chunked") => Framing::Chunked,
            _ => Framing::UntilClose,
        };
    }
    match fields.content_length {
        Some(0) => Framing::Empty,
        Some(n) => Framing::Length(n),
        None => Framing::UntilClose,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str, no_body: bool) -> Result<Head, Malformed> {
        let mut buf = BytesMut::from(text.as_bytes());
        let len = end(&buf)?.expect("a whole head");
        parse(&mut buf, len, no_body, true)
    }

    /// `read` without a map against `end` then `parse` on the same bytes: framing, keep-alive,
    /// status, error and what is left in the buffer.
    fn both_ways(text: &[u8]) -> (String, Vec<u8>, String, Vec<u8>) {
        let show = |head: Result<Option<Head>, Malformed>| match head {
            Ok(Some(h)) => format!("{} {:?} {}", h.status, h.framing, h.keep_alive),
            Ok(None) => "more".to_owned(),
            Err(error) => format!("error: {error}"),
        };
        let mut fast = BytesMut::from(text);
        let one = show(read(&mut fast, false, false));
        let mut slow = BytesMut::from(text);
        let two = show(end(&slow).and_then(|len| match len {
            Some(len) => parse(&mut slow, len, false, false).map(Some),
            None => Ok(None),
        }));
        (one, fast.to_vec(), two, slow.to_vec())
    }

    #[test]
    fn reading_in_place_agrees_with_finding_the_end_then_parsing() {
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: v\r\n")).collect();
        let cases: Vec<Vec<u8>> = [
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
            "HTTP/1.1 200 OK\nContent-Length: 2\n\n{}",
            "HTTP/1.1 200 OK\r\nContent-Length: 2\n\r\n{}",
            "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n",
            "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n",
            "HTTP/1.1 2000 OK\r\n\r\n",
            "garbage\r\n",
            "garbage\r\n\r\n",
            "HTTP/1.1 200 OK\r\nBad Name: v\r\n\r\n",
            "HTTP/1.1 200 OK\r\nBad Name: v\r\n",
            "",
        ]
        .iter()
        .map(|text| text.as_bytes().to_vec())
        .chain([
            format!("HTTP/1.1 200 OK\r\n{many}\r\n").into_bytes(),
            format!("HTTP/1.1 200 OK\r\n{many}").into_bytes(),
            vec![b'a'; MAX_HEAD + 1],
            [b"HTTP/1.1 200 OK\r\nX: ".as_slice(), &vec![b'v'; MAX_HEAD]].concat(),
        ])
        .collect();
        for text in cases {
            let (one, left_one, two, left_two) = both_ways(&text);
            let shown = String::from_utf8_lossy(&text[..text.len().min(60)]).into_owned();
            assert_eq!(one, two, "the outcome of {shown:?} is the same both ways");
            if !one.starts_with("error") {
                assert_eq!(
                    left_one, left_two,
                    "{shown:?} leaves the same bytes both ways"
                );
            }
        }
    }

    #[test]
    fn names_and_tokens_match_in_any_case_and_nothing_else() {
        assert!(
            is(b"Content-Length", b"content-length"),
            "mixed case matches"
        );
        assert!(is(b"KEEP-ALIVE", b"keep-alive"), "upper case matches");
        assert!(
            !is(b"content-lengt", b"content-length"),
            "a shorter name does not"
        );
        assert!(!is(b"content_length", b"content-length"), "`_` is not `-`");
        assert!(
            !is(b"clos\xc5", b"close"),
            "a byte above ASCII is no letter"
        );
        assert!(!is(b"c1ose", b"close"), "a digit is no letter");
    }

    #[test]
    fn the_end_is_found_with_crlf_or_bare_lf_and_not_before() {
        assert_eq!(
            end(b"HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody"),
            Ok(Some(25)),
            "the head ends after the blank CRLF line"
        );
        assert_eq!(
            end(b"HTTP/1.1 200 OK\nA: b\n\nbody"),
            Ok(Some(22)),
            "a head with bare LF line ends is accepted"
        );
        assert_eq!(
            end(b"HTTP/1.1 200 OK\r\nA: b\r\n"),
            Ok(None),
            "a head without its blank line is not complete yet"
        );
        let endless = vec![b'a'; MAX_HEAD];
        assert_eq!(
            end(&endless),
            Err(Malformed::HeadTooLarge),
            "a head that never ends is refused once too large"
        );
    }

    #[test]
    fn a_length_a_chunked_body_or_a_close_delimits_the_body() {
        let length = head("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", false).unwrap();
        assert_eq!(
            (length.framing, length.keep_alive),
            (Framing::Length(12), true),
            "a content-length answer is framed by its length and kept alive"
        );
        let chunked = head(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n\r\n",
            false,
        )
        .unwrap();
        assert_eq!(
            chunked.framing,
            Framing::Chunked,
            "chunked wins over a length"
        );
        let close = head("HTTP/1.1 200 OK\r\n\r\n", false).unwrap();
        assert_eq!(
            (close.framing, close.keep_alive),
            (Framing::UntilClose, false),
            "an answer with connection: close and no length is read to the close"
        );
        let head_answer = head("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", true).unwrap();
        assert_eq!(head_answer.framing, Framing::Empty, "the answer to HEAD");
        let no_content = head("HTTP/1.1 204 No Content\r\n\r\n", false).unwrap();
        assert_eq!(
            (no_content.framing, no_content.keep_alive),
            (Framing::Empty, true),
            "a 204 has no body and keeps the connection"
        );
    }

    #[test]
    fn repeated_lengths_must_agree_and_a_close_anywhere_in_the_list_counts() {
        let agreeing = head(
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2, 2\r\n\r\n",
            false,
        );
        assert_eq!(
            agreeing.unwrap().framing,
            Framing::Length(2),
            "lengths that agree frame the body"
        );
        let disagreeing = head(
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
            false,
        );
        assert_eq!(
            disagreeing.unwrap_err(),
            Malformed::ContentLength,
            "two fields with other lengths are malformed"
        );
        let listed = head(
            "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 1\r\n\r\n",
            false,
        );
        assert!(
            !listed.unwrap().keep_alive,
            "close after keep-alive in one field still closes"
        );
    }

    #[test]
    fn connection_close_and_http_1_0_end_the_connection() {
        let close = head(
            "HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 1\r\n\r\n",
            false,
        );
        assert!(
            !close.unwrap().keep_alive,
            "connection: close is not kept alive"
        );
        let old = head("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false);
        assert!(!old.unwrap().keep_alive, "1.0 closes by default");
        let kept = head(
            "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n",
            false,
        );
        assert!(
            kept.unwrap().keep_alive,
            "an HTTP/1.1 answer without connection: close is kept alive"
        );
    }

    #[test]
    fn headers_keep_their_values_and_bad_ones_are_malformed() {
        let ok = head(
            "HTTP/1.1 302 Found\r\nLocation: /next\r\nX: 1\r\nX: 2\r\n\r\n",
            false,
        );
        let ok = ok.unwrap();
        assert_eq!(ok.status, StatusCode::FOUND, "the status is parsed");
        assert_eq!(ok.headers["location"], "/next", "a header is parsed");
        assert_eq!(
            ok.headers.get_all("x").iter().count(),
            2,
            "a repeated header keeps every value"
        );
        let mut buf = BytesMut::from("HTTP/1.1 200 OK\r\nX: 1\r\nContent-Length: 0\r\n\r\n");
        let skipped = parse(&mut buf, 44, false, false).unwrap();
        assert!(skipped.headers.is_empty(), "no map unless asked for");
        assert_eq!(
            skipped.framing,
            Framing::Empty,
            "the framing is read all the same"
        );
        for bad in [
            "HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            "HTTP/1.1 2000 OK\r\n\r\n",
            "garbage\r\n\r\n",
        ] {
            assert!(head(bad, false).is_err(), "{bad:?} is malformed");
        }
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: v\r\n")).collect();
        let too_many = head(&format!("HTTP/1.1 200 OK\r\n{many}\r\n"), false);
        assert_eq!(
            too_many.unwrap_err(),
            Malformed::Head(httparse::Error::TooManyHeaders),
            "a head with too many headers is refused"
        );
    }
}
