//! `--expect-json` on the hot path: the value at a dotted path, found while the body is parsed,
//! without building the rest of the document (no map, no string per field: every other value
//! is skipped by the parser, which still checks its syntax).
//!
//! Keys are compared one of two ways ([`Keys`]): as parsed strings, as a document is parsed, or
//! as the raw bytes between their quotes, which skips a UTF-8 check per key (the caller checks
//! the whole body once) but is sure only for a key that needs no decoding: any other key stops
//! the walk with [`UNSURE`], and the caller walks again the parsed way.

use std::{fmt, slice};

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// The error a [`Keys::Raw`] walk stops with on a key it cannot compare raw.
pub const UNSURE: &str = "a key needs decoding";

/// How object keys are compared with a path's segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    /// Parsed as strings (escapes decoded, UTF-8 and control characters checked).
    Parsed,
    /// The bytes between the quotes, for a body already known to be UTF-8; a key with an escape
    /// or a control character stops the walk with [`UNSURE`].
    Raw,
}

/// The rest of a path; deserialising with it yields the value at the path, if any.
#[derive(Clone)]
pub struct At<'p> {
    rest: slice::Iter<'p, String>,
    keys: Keys,
}

impl<'p> At<'p> {
    /// The path split at its dots (once, when the check is parsed: see [`segments`]).
    pub fn new(segments: &'p [String], keys: Keys) -> Self {
        Self {
            rest: segments.iter(),
            keys,
        }
    }
}

/// A dotted path's segments (`items.0.id`: `items`, `0`, `id`).
pub fn segments(path: &str) -> Vec<String> {
    path.split('.').map(str::to_owned).collect()
}

impl<'de> DeserializeSeed<'de> for At<'_> {
    type Value = Option<Value>;

    fn deserialize<D: de::Deserializer<'de>>(self, input: D) -> Result<Option<Value>, D::Error> {
        let mut rest = self.rest;
        match rest.next() {
            None => serde::Deserialize::deserialize(input).map(Some),
            Some(key) => input.deserialize_any(Step {
                key,
                rest: At {
                    rest,
                    keys: self.keys,
                },
            }),
        }
    }
}

/// One path segment: a key of an object or an index of an array.
struct Step<'p> {
    key: &'p str,
    rest: At<'p>,
}

/// A scalar where the path goes on: the path leads nowhere.
macro_rules! nowhere {
    ($($name:ident: $ty:ty),*) => {
        $(fn $name<E: de::Error>(self, _: $ty) -> Result<Option<Value>, E> {
            Ok(None)
        })*
    };
}

impl<'de> Visitor<'de> for Step<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    nowhere!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);

    fn visit_unit<E: de::Error>(self) -> Result<Option<Value>, E> {
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Value>, A::Error> {
        let mut found = None;
        while let Some(matches) = map.next_key_seed(Key(self.key, self.rest.keys))? {
            if matches {
                // A later duplicate replaces an earlier one, as in a parsed document.
                found = map.next_value_seed(self.rest.clone())?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<Value>, A::Error> {
        let index = self.key.parse::<usize>().ok();
        let mut found = None;
        let mut at = 0;
        loop {
            if Some(at) == index {
                match seq.next_element_seed(self.rest.clone())? {
                    Some(value) => found = value,
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            at += 1;
        }
        Ok(found)
    }
}

/// Whether an object key equals the segment; compared where it lies, never copied.
struct Key<'p>(&'p str, Keys);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, input: D) -> Result<bool, D::Error> {
        match self.1 {
            Keys::Parsed => input.deserialize_str(self),
            Keys::Raw => input.deserialize_bytes(self),
        }
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }

    /// A key lying in the body as it is: without an escape (else it would have been copied),
    /// so only a control character (refused in a parsed key) keeps it from being sure.
    fn visit_borrowed_bytes<E: de::Error>(self, key: &'de [u8]) -> Result<bool, E> {
        if key.iter().any(|byte| *byte < 0x20) {
            return Err(E::custom(UNSURE));
        }
        Ok(key == self.0.as_bytes())
    }

    /// A key with an escape, decoded leniently: only the parsed way is sure.
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<bool, E> {
        Err(E::custom(UNSURE))
    }
}
