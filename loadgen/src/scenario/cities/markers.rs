//! Markers: every identity and city name a virtual user writes carries its owner's tag, so any
//! response can be scanned for data that belongs to someone else.
//!
//! Format: `{run}.u{user}` tags a user (`rb3fa9c1.u7`); a city adds its sequence number,
//! `{run}.u{user}.c{seq}`, and a renamed city the suffix `r` (`rb3fa9c1.u7.c12r`). The run id is
//! random per run (or given with `--run-id`), so markers of another run, or another program, are never
//! taken for ours, and generator processes of one run (`--workers`) recognise each other's users.

use std::fmt;

use memchr::memmem;

/// The run's identifier: `rb` and 8 hex digits unless given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunId {
    text: String,
    /// `"{run}.u"`: what the scanner looks for.
    needle: Vec<u8>,
}

impl RunId {
    /// A new random id.
    pub fn random() -> Self {
        Self::new(&format!("rb{:08x}", rand::random::<u32>()))
    }

    /// An id given by the user; letters, digits and `-` only, so it cannot fake a marker.
    pub fn parse(text: &str) -> Result<Self, String> {
        let valid = !text.is_empty() && text.len() <= 32 && text.bytes().all(is_id_byte);
        if valid {
            Ok(Self::new(text))
        } else {
            Err(format!(
                "--run-id `{text}`: use 1 to 32 letters, digits or `-`"
            ))
        }
    }

    fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            needle: format!("{text}.u").into_bytes(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The email of user `user`.
    pub fn email(&self, user: usize) -> String {
        format!("{}.u{user}@racebench.test", self.text)
    }

    /// The password of user `user` (one per user, so an account mix-up fails the login).
    pub fn password(&self, user: usize) -> String {
        format!("pw-{}-{user}", self.text)
    }

    /// The name of city `seq` of user `user`.
    pub fn city(&self, user: usize, seq: u64) -> String {
        format!("{}.u{user}.c{seq}", self.text)
    }

    /// The new name of city `seq` after `--update-check` renamed it.
    pub fn renamed_city(&self, user: usize, seq: u64) -> String {
        format!("{}.u{user}.c{seq}r", self.text)
    }

    /// Every marker of this run in `body`, in order.
    pub fn scan<'a>(&'a self, body: &'a [u8]) -> impl Iterator<Item = Marker> + 'a {
        memmem::find_iter(body, &self.needle)
            // `one.u` inside `rbone.u1` belongs to the run `rbone`, not to `one`.
            .filter(move |&at| at == 0 || !is_id_byte(body[at - 1]))
            .filter_map(move |at| Marker::parse(&body[at + self.needle.len()..]))
    }

    /// The first marker in `body` of a user other than `me`.
    pub fn foreign(&self, body: &[u8], me: usize) -> Option<Marker> {
        self.scan(body).find(|marker| marker.user != me)
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A parsed marker: whose, and which city (if a city's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    pub user: usize,
    pub city: Option<u64>,
    pub renamed: bool,
}

impl Marker {
    /// Parses what follows `{run}.u`: `7`, `7.c12`, `7.c12r`.
    fn parse(rest: &[u8]) -> Option<Self> {
        let (user, rest) = digits(rest)?;
        let (city, renamed) = match rest.strip_prefix(b".c").and_then(digits) {
            Some((seq, rest)) => (Some(seq), rest.first() == Some(&b'r')),
            None => (None, false),
        };
        Some(Self {
            user: usize::try_from(user).ok()?,
            city,
            renamed,
        })
    }

    /// `c.3.12` as people read it: user 3's 12th city.
    pub fn short(&self) -> String {
        match self.city {
            Some(seq) => format!(
                "c.{}.{seq}{}",
                self.user,
                if self.renamed { "r" } else { "" }
            ),
            None => format!("user {}", self.user),
        }
    }
}

fn is_id_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-'
}

fn digits(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let end = bytes
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(bytes.len());
    if end == 0 || end > 19 {
        return None;
    }
    let value = std::str::from_utf8(&bytes[..end]).ok()?.parse().ok()?;
    Some((value, &bytes[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_markers_that_scan_back() {
        let run = RunId::parse("rbtest").unwrap();
        let body = format!(
            r#"{{"data":[{{"name":"{}"}},{{"name":"{}"}},{{"email":"{}"}}]}}"#,
            run.city(3, 12),
            run.renamed_city(7, 1),
            run.email(9)
        );
        let markers: Vec<Marker> = run.scan(body.as_bytes()).collect();
        assert_eq!(
            markers,
            [
                Marker {
                    user: 3,
                    city: Some(12),
                    renamed: false
                },
                Marker {
                    user: 7,
                    city: Some(1),
                    renamed: true
                },
                Marker {
                    user: 9,
                    city: None,
                    renamed: false
                },
            ],
            "the body's marker is parsed into user and city"
        );
        assert_eq!(
            run.foreign(body.as_bytes(), 3).unwrap().user,
            7,
            "a foreign marker names the user who wrote it"
        );
        assert_eq!(
            markers[0].short(),
            "c.3.12",
            "the marker's short form is its user and sequence"
        );
    }

    #[test]
    fn markers_of_another_run_are_not_ours() {
        let run = RunId::parse("rbone").unwrap();
        let other = RunId::parse("rbtwo").unwrap();
        assert_eq!(
            run.scan(other.city(1, 1).as_bytes()).count(),
            0,
            "another run's markers are not found"
        );
        // A run id that is a suffix of another must not match inside it.
        let short = RunId::parse("one").unwrap();
        assert_eq!(
            short.scan(run.city(1, 1).as_bytes()).count(),
            0,
            "a run id that is a suffix of another does not match inside it"
        );
    }

    #[test]
    fn run_ids_are_validated() {
        assert!(
            RunId::parse("ci-42").is_ok(),
            "a run id of letters, digits and dashes is valid"
        );
        assert!(
            RunId::parse("a.u1").is_err(),
            "a run id with a dot is refused"
        );
        assert!(RunId::parse("").is_err(), "an empty run id is refused");
        let random = RunId::random();
        assert!(
            random.as_str().len() == 10 && random.as_str().starts_with("rb"),
            "a random run id is rb plus 8 characters: {}",
            random.as_str()
        );
        assert!(
            RunId::parse(random.as_str()).is_ok(),
            "a random run id is valid: {}",
            random.as_str()
        );
    }
}
