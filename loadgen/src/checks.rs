//! Outcomes of a request and the checks that decide them.
//!
//! A failed request is data, not an error: every request ends in exactly one [`Outcome`], which
//! the recorder counts. The first article knows three (`pass`, `fail`, `exception`); the cities
//! scenario adds the violations a load test exists to find (`leak`, `lost_write`, `corrupt`,
//! `denied`, and the `anonymous` and `resurrect` checks') and
//! counts `timeout` apart from other transport errors, so a starving pool is not mistaken for a
//! reset connection.
//!
//! Reporting rule (kept in one place, [`Counts`]): `exception` in the article's summary line and in
//! `requests.exception` includes timeouts; `violations.timeout` gives their share.

use std::fmt;

use hyper::StatusCode;
use serde::Serialize;
use serde_json::Value;

use crate::client::Response;

mod json_path;

use serde::de::DeserializeSeed as _;

/// How one request ended. The discriminants index [`Counts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// Every check held.
    Pass = 0,
    /// A response came back but a check failed (status, body field).
    Fail = 1,
    /// No usable response: connection refused or reset, malformed HTTP.
    Exception = 2,
    /// No response within `--timeout`.
    Timeout = 3,
    /// The response carries data that belongs to another virtual user.
    Leak = 4,
    /// The user's own write is missing (404 right after 201).
    LostWrite = 5,
    /// The user's own record came back with the wrong content.
    Corrupt = 6,
    /// The server refused the user its OWN action (401/403 on its own create, list, read, update
    /// or delete) while its credential was valid: it took the caller for someone else.
    Denied = 7,
    /// A request without a valid credential (none, malformed, or signed by another key) was
    /// answered instead of refused: the `anonymous` check.
    Anonymous = 8,
    /// A record whose delete was acknowledged (and then answered "gone") came back: the
    /// `resurrect` check.
    Resurrect = 9,
}

impl Outcome {
    /// Every outcome, in discriminant order.
    pub const ALL: [Outcome; 10] = [
        Outcome::Pass,
        Outcome::Fail,
        Outcome::Exception,
        Outcome::Timeout,
        Outcome::Leak,
        Outcome::LostWrite,
        Outcome::Corrupt,
        Outcome::Denied,
        Outcome::Anonymous,
        Outcome::Resurrect,
    ];

    /// The name used in reports, CSV columns and thresholds.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Exception => "exception",
            Outcome::Timeout => "timeout",
            Outcome::Leak => "leak",
            Outcome::LostWrite => "lost_write",
            Outcome::Corrupt => "corrupt",
            Outcome::Denied => "denied",
            Outcome::Anonymous => "anonymous",
            Outcome::Resurrect => "resurrect",
        }
    }

    /// A violation of data isolation or durability: what the cities scenario hunts.
    pub fn is_violation(self) -> bool {
        matches!(
            self,
            Outcome::Leak
                | Outcome::LostWrite
                | Outcome::Corrupt
                | Outcome::Denied
                | Outcome::Anonymous
                | Outcome::Resurrect
        )
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A count per outcome; cheap to copy and add.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts(pub [u64; 10]);

impl Counts {
    pub fn add(&mut self, outcome: Outcome, n: u64) {
        self.0[outcome as usize] += n;
    }

    pub fn merge(&mut self, other: &Counts) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine += theirs;
        }
    }

    pub fn get(&self, outcome: Outcome) -> u64 {
        self.0[outcome as usize]
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    pub fn pass(&self) -> u64 {
        self.get(Outcome::Pass)
    }

    pub fn fail(&self) -> u64 {
        self.get(Outcome::Fail)
    }

    /// Transport errors and timeouts: the article's `exception`.
    pub fn exception(&self) -> u64 {
        self.get(Outcome::Exception) + self.get(Outcome::Timeout)
    }

    /// Leaks, lost writes, corruptions and denials together.
    pub fn violation(&self) -> u64 {
        Outcome::ALL
            .iter()
            .filter(|outcome| outcome.is_violation())
            .map(|&outcome| self.get(outcome))
            .sum()
    }

    /// Share of requests that did not pass (0 when nothing ran).
    pub fn fail_rate(&self) -> f64 {
        let total = self.total();
        if total == 0 {
            0.0
        } else {
            (total - self.pass()) as f64 / total as f64
        }
    }
}

/// Why a request did not pass: its outcome and a short reason shown to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub outcome: Outcome,
    pub reason: String,
}

impl Failure {
    pub fn new(outcome: Outcome, reason: impl Into<String>) -> Self {
        Self {
            outcome,
            reason: reason.into(),
        }
    }

    pub fn fail(reason: impl Into<String>) -> Self {
        Self::new(Outcome::Fail, reason)
    }
}

/// `--expect-json PATH=VALUE`: the field at a dotted path equals a JSON value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JsonCheck {
    /// Dotted path (`code`, `data.name`); array indexes are numbers (`items.0.id`).
    pub path: String,
    pub expected: Value,
    /// `path` split at its dots, once.
    #[serde(skip)]
    segments: Vec<String>,
}

impl JsonCheck {
    /// Parses `code=1`, `message="Hello, World!"` or `message=Hello, World!` (a value that is not
    /// valid JSON is taken as a string).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (path, value) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}` must be written PATH=VALUE, e.g. code=1"))?;
        let path = path.trim();
        if path.is_empty() {
            return Err(format!("`{text}` has an empty path"));
        }
        let expected =
            serde_json::from_str(value.trim()).unwrap_or_else(|_| Value::String(value.to_owned()));
        Ok(Self {
            path: path.to_owned(),
            expected,
            segments: json_path::segments(path),
        })
    }

    /// The value at the path in `body`, or `None` when the path leads nowhere. The whole body
    /// is parsed (a syntax error anywhere is an error), but only the value at the path is built:
    /// everything else is skipped, not allocated. As in a parsed document, the last of
    /// duplicate keys counts.
    ///
    /// The walk first compares keys raw (see [`json_path::Keys`]); if that walk fails for any
    /// reason the body is walked again the parsed way, whose verdict (error included) is the
    /// answer, so the shortcut changes no outcome and no message.
    fn find(&self, body: &[u8]) -> Result<Option<Value>, String> {
        // Skipped strings are not checked for UTF-8 by the parser; the document must be. ASCII
        // (the common body) is UTF-8, and checking for it is cheaper.
        if !body.is_ascii() {
            std::str::from_utf8(body).map_err(|error| error.to_string())?;
        }
        match self.walk(body, json_path::Keys::Raw) {
            Ok(found) => Ok(found),
            Err(_) => self
                .walk(body, json_path::Keys::Parsed)
                .map_err(|error| error.to_string()),
        }
    }

    fn walk(&self, body: &[u8], keys: json_path::Keys) -> Result<Option<Value>, serde_json::Error> {
        let mut parser = serde_json::Deserializer::from_slice(body);
        let found = json_path::At::new(&self.segments, keys).deserialize(&mut parser)?;
        parser.end()?;
        Ok(found)
    }
}

/// The checks of a single-request scenario: a status and JSON fields.
#[derive(Debug, Clone, Default)]
pub struct Checks {
    /// `None` accepts any status.
    pub status: Option<StatusCode>,
    pub json: Vec<JsonCheck>,
}

impl Checks {
    /// Pass, or the first check that failed. The body is parsed only when a JSON check exists
    /// (once per check: each builds only its own value).
    pub fn verify(&self, response: &Response) -> Result<(), Failure> {
        if let Some(expected) = self.status
            && response.status != expected
        {
            return Err(Failure::fail(format!(
                "status {} != {}",
                response.status.as_u16(),
                expected.as_u16()
            )));
        }
        if self.json.is_empty() {
            return Ok(());
        }
        for check in &self.json {
            let found = check
                .find(&response.body)
                .map_err(|error| Failure::fail(format!("body is not JSON: {error}")))?;
            match found {
                Some(actual) if actual == check.expected => {}
                Some(actual) => {
                    return Err(Failure::fail(format!(
                        "{} = {} != {}",
                        check.path, actual, check.expected
                    )));
                }
                None => return Err(Failure::fail(format!("{} is missing", check.path))),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn response(status: u16, body: &str) -> Response {
        Response {
            status: StatusCode::from_u16(status).unwrap(),
            headers: Default::default(),
            body: Bytes::from(body.to_owned()),
            first_byte: std::time::Instant::now(),
        }
    }

    fn checks(json: &[&str]) -> Checks {
        Checks {
            status: Some(StatusCode::OK),
            json: json.iter().map(|t| JsonCheck::parse(t).unwrap()).collect(),
        }
    }

    #[test]
    fn matching_status_and_fields_pass() {
        let body = r#"{"code": 1, "message": "Hello, World!", "data": {"items": [{"id": "a"}]}}"#;
        let checks = checks(&["code=1", "message=Hello, World!", "data.items.0.id=\"a\""]);
        assert_eq!(
            checks.verify(&response(200, body)),
            Ok(()),
            "a 200 with the expected body passes"
        );
    }

    #[test]
    fn wrong_status_fails_with_both_codes_in_the_reason() {
        let failure = checks(&[]).verify(&response(503, "")).unwrap_err();
        assert_eq!(
            failure,
            Failure::fail("status 503 != 200"),
            "a status other than the expected one fails, naming both"
        );
    }

    #[test]
    fn wrong_missing_or_unparsable_fields_fail() {
        let checks = checks(&["code=2"]);
        assert_eq!(
            checks.verify(&response(200, r#"{"code": 1}"#)).unwrap_err(),
            Failure::fail("code = 1 != 2"),
            "a json field with another value fails, naming both"
        );
        assert_eq!(
            checks.verify(&response(200, r#"{}"#)).unwrap_err(),
            Failure::fail("code is missing"),
            "a missing json field fails, saying so"
        );
        assert!(
            checks
                .verify(&response(200, "nope"))
                .unwrap_err()
                .reason
                .starts_with("body is not JSON"),
            "a body that is not JSON fails, saying so"
        );
    }

    #[test]
    fn a_path_finds_the_last_duplicate_and_nothing_through_a_scalar() {
        let body = r#"{"a": {"b": 1}, "a": {"b": [10, {"c": "x"}]}, "s": "t\u00e9"}"#;
        let found = |path: &str| {
            JsonCheck::parse(&format!("{path}=0"))
                .unwrap()
                .find(body.as_bytes())
        };
        assert_eq!(
            found("a.b.1.c"),
            Ok(Some(Value::from("x"))),
            "the last `a` counts"
        );
        assert_eq!(
            found("a.b.0"),
            Ok(Some(Value::from(10))),
            "a dotted path walks objects and arrays"
        );
        assert_eq!(found("a.b.2"), Ok(None), "past the array's end");
        assert_eq!(found("a.b.x"), Ok(None), "not an index");
        assert_eq!(found("s.x"), Ok(None), "through a string");
        assert_eq!(
            found("s"),
            Ok(Some(Value::from("t\u{e9}"))),
            "a string value keeps its unicode"
        );
        let whole = serde_json::from_str::<Value>(body).unwrap();
        assert_eq!(
            found("a"),
            Ok(Some(whole["a"].clone())),
            "as a parsed document"
        );
        let broken = JsonCheck::parse("a=1").unwrap();
        assert!(
            broken.find(br#"{"a": 1, "b": [}"#).is_err(),
            "an error after the field"
        );
        assert!(
            broken.find(b"{\"a\": 1, \"b\": \"\xff\"}").is_err(),
            "bad UTF-8 skipped"
        );
        assert!(broken.find(br#"{"a": 1} x"#).is_err(), "trailing bytes");
    }

    #[test]
    fn keys_with_escapes_or_control_characters_are_judged_as_parsed() {
        let code = JsonCheck::parse("code=1").unwrap();
        assert_eq!(
            code.find(br#"{"c\u006fde": 1}"#),
            Ok(Some(Value::from(1))),
            "an escaped key is the key it decodes to"
        );
        assert_eq!(
            code.find(br#"{"co\"de": 2, "code": 1}"#),
            Ok(Some(Value::from(1))),
            "an escaped quote is part of another key"
        );
        let tab = b"{\"co\tde\": 1}";
        assert_eq!(
            code.find(tab),
            Err(serde_json::from_slice::<Value>(tab)
                .unwrap_err()
                .to_string()),
            "a raw control character in a key is the parser's error"
        );
        let lone = br#"{"\ud800": 1, "code": 1}"#;
        assert_eq!(
            code.find(lone),
            Err(serde_json::from_slice::<Value>(lone)
                .unwrap_err()
                .to_string()),
            "a lone surrogate in a key is the parser's error"
        );
        let latin = b"{\"code\": 1, \"n\": \"\xe9\"}";
        assert_eq!(
            code.find(latin),
            Err("invalid utf-8 sequence of 1 bytes from index 18".to_owned()),
            "a body that is not UTF-8 fails the UTF-8 check, even where the walk skips"
        );
        assert_eq!(
            code.find("{\"cod\u{e9}\": 2, \"code\": 1}".as_bytes()),
            Ok(Some(Value::from(1))),
            "a UTF-8 key is compared whole"
        );
    }

    #[test]
    fn json_check_needs_an_equals_sign() {
        assert!(
            JsonCheck::parse("code").is_err(),
            "a json check without = is refused"
        );
        assert!(
            JsonCheck::parse("=1").is_err(),
            "a json check without a field is refused"
        );
    }

    #[test]
    fn counts_fold_timeouts_into_exceptions_and_violations_apart() {
        let mut counts = Counts::default();
        for outcome in Outcome::ALL {
            counts.add(outcome, 1);
        }
        assert_eq!(
            counts.total(),
            10,
            "every recorded outcome is counted in the total"
        );
        assert_eq!(counts.exception(), 2, "exceptions are counted");
        assert_eq!(counts.violation(), 6, "violations are counted");
        assert!(
            (counts.fail_rate() - 9.0 / 10.0).abs() < 1e-12,
            "the fail rate is everything but passes over the total: {}",
            counts.fail_rate()
        );
    }
}
