//! A response's header map, kept out of line.
//!
//! Most exchanges read no header (`loadgen json` checks the status and the body): their map is
//! absent and costs nothing. A response carrying a `HeaderMap` inline is about 100 bytes larger,
//! and a response is moved several times on its way from the connection to the check (through
//! the client's, the session's and the scenario's futures): at that size each move is a `memcpy`
//! call, at the boxed size a few register moves. A response that has headers pays one small
//! allocation beside the map's own.

use std::{ops::Deref, sync::OnceLock};

use hyper::HeaderMap;

/// A header map, empty unless the caller asked for headers and the response had some. Reads as
/// a `HeaderMap` (`Deref`).
#[derive(Debug, Clone, Default)]
pub struct Headers(Option<Box<HeaderMap>>);

impl Headers {
    /// The map itself (empty when absent).
    pub fn into_map(self) -> HeaderMap {
        self.0.map(|map| *map).unwrap_or_default()
    }
}

impl From<HeaderMap> for Headers {
    fn from(map: HeaderMap) -> Self {
        Self((!map.is_empty()).then(|| Box::new(map)))
    }
}

impl Deref for Headers {
    type Target = HeaderMap;

    fn deref(&self) -> &HeaderMap {
        static EMPTY: OnceLock<HeaderMap> = OnceLock::new();
        match &self.0 {
            Some(map) => map,
            None => EMPTY.get_or_init(HeaderMap::new),
        }
    }
}

#[cfg(test)]
mod tests {
    use hyper::header::{HeaderValue, LOCATION};

    use super::*;

    #[test]
    fn an_empty_map_is_absent_and_a_full_one_reads_back_whole() {
        let none = Headers::from(HeaderMap::new());
        assert!(none.0.is_none(), "an empty map takes no allocation");
        assert!(none.is_empty(), "an absent map reads as empty");
        let mut map = HeaderMap::new();
        map.append(LOCATION, HeaderValue::from_static("/a"));
        map.append(LOCATION, HeaderValue::from_static("/b"));
        let some = Headers::from(map.clone());
        assert_eq!(
            some.get_all(LOCATION).iter().count(),
            2,
            "every value is kept"
        );
        assert_eq!(some.into_map(), map, "the map comes back as it went in");
        assert_eq!(none.into_map(), HeaderMap::new(), "an absent map is empty");
    }
}
