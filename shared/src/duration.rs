//! Durations as people type them on a command line: `0`, `250us`, `200ms`, `0.5s`, `2m`, `1h`,
//! and ranges `0.5s..3s`.
//!
//! `humantime` rejects fractions such as `0.5s`, which load-test users write all the time (Locust's
//! `between(0.5, 3.0)`), so this small parser accepts a decimal number and a unit. A bare number
//! other than `0` is refused: `--wait 5` is ambiguous between seconds and milliseconds.

use std::{fmt, str::FromStr, time::Duration};

/// Why a duration did not parse; the message is shown to the user as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration")]
    Empty,
    #[error("`{0}` has no unit: write e.g. `200ms`, `0.5s` or `2m`")]
    MissingUnit(String),
    #[error("`{0}` has an unknown unit: use ns, us, ms, s, m or h")]
    UnknownUnit(String),
    #[error("`{0}` is not a number followed by a unit")]
    BadNumber(String),
    #[error("`{0}` is too large")]
    TooLarge(String),
    #[error("range `{0}` must be written `low..high` with low <= high")]
    BadRange(String),
}

/// Parses `200ms`, `0.5s`, `1m`, `0`.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| DurationError::BadNumber(text.to_owned()))?;
    let unit_secs = match unit.trim() {
        "" if value == 0.0 => return Ok(Duration::ZERO),
        "" => return Err(DurationError::MissingUnit(text.to_owned())),
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return Err(DurationError::UnknownUnit(text.to_owned())),
    };
    Duration::try_from_secs_f64(value * unit_secs)
        .map_err(|_| DurationError::TooLarge(text.to_owned()))
}

/// A duration or a uniform range of durations (`500ms` or `0.5s..3s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationRange {
    pub low: Duration,
    pub high: Duration,
}

impl DurationRange {
    pub const ZERO: Self = Self {
        low: Duration::ZERO,
        high: Duration::ZERO,
    };

    pub fn fixed(value: Duration) -> Self {
        Self {
            low: value,
            high: value,
        }
    }

    pub fn is_zero(&self) -> bool {
        self.high.is_zero()
    }

    /// The duration at `fraction` (0..=1) of the way from `low` to `high`; callers pass a random
    /// fraction to sample uniformly.
    pub fn at(&self, fraction: f64) -> Duration {
        let span = self.high - self.low;
        self.low + span.mul_f64(fraction.clamp(0.0, 1.0))
    }
}

impl FromStr for DurationRange {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.split_once("..") {
            None => Ok(Self::fixed(parse_duration(text)?)),
            Some((low, high)) => {
                let (low, high) = (parse_duration(low)?, parse_duration(high)?);
                if low > high {
                    return Err(DurationError::BadRange(text.to_owned()));
                }
                Ok(Self { low, high })
            }
        }
    }
}

impl fmt::Display for DurationRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.low == self.high {
            write!(f, "{}", format_duration(self.low))
        } else {
            write!(
                f,
                "{}..{}",
                format_duration(self.low),
                format_duration(self.high)
            )
        }
    }
}

/// Formats a duration in the unit that reads best and parses back: `0`, `250us`, `200ms`, `1.5s`.
pub fn format_duration(value: Duration) -> String {
    let nanos = value.as_nanos();
    if nanos == 0 {
        "0".to_owned()
    } else if nanos.is_multiple_of(1_000_000_000) {
        format!("{}s", nanos / 1_000_000_000)
    } else if nanos.is_multiple_of(1_000_000) {
        format!("{}ms", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
        format!("{}us", nanos / 1_000)
    } else {
        format!("{nanos}ns")
    }
}

/// clap `value_parser` for a single duration.
pub fn duration_arg(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_fractions() {
        assert_eq!(
            parse_duration("200ms").unwrap(),
            Duration::from_millis(200),
            "ms is milliseconds"
        );
        assert_eq!(
            parse_duration("0.5s").unwrap(),
            Duration::from_millis(500),
            "a fraction of a second is allowed"
        );
        assert_eq!(
            parse_duration("2m").unwrap(),
            Duration::from_secs(120),
            "m is minutes"
        );
        assert_eq!(
            parse_duration("250us").unwrap(),
            Duration::from_micros(250),
            "us is microseconds"
        );
        assert_eq!(
            parse_duration("0").unwrap(),
            Duration::ZERO,
            "a bare 0 needs no unit"
        );
        assert_eq!(
            parse_duration(" 1h ").unwrap(),
            Duration::from_secs(3600),
            "surrounding spaces are trimmed; h is hours"
        );
    }

    #[test]
    fn rejects_bare_numbers_and_unknown_units() {
        assert_eq!(
            parse_duration("5"),
            Err(DurationError::MissingUnit("5".into())),
            "a bare number other than 0 lacks its unit"
        );
        assert!(
            matches!(parse_duration("5d"), Err(DurationError::UnknownUnit(_))),
            "d is not a unit: {:?}",
            parse_duration("5d")
        );
        assert!(
            matches!(parse_duration("ms"), Err(DurationError::BadNumber(_))),
            "a unit without a number is a bad number: {:?}",
            parse_duration("ms")
        );
        assert!(
            matches!(parse_duration("-1s"), Err(DurationError::BadNumber(_))),
            "a negative duration is a bad number: {:?}",
            parse_duration("-1s")
        );
        assert_eq!(
            parse_duration(""),
            Err(DurationError::Empty),
            "an empty text is its own error"
        );
    }

    #[test]
    fn ranges_parse_and_sample_between_bounds() {
        let range: DurationRange = "0.5s..3s".parse().unwrap();
        assert_eq!(
            range.low,
            Duration::from_millis(500),
            "the range starts at its low bound"
        );
        assert_eq!(
            range.high,
            Duration::from_secs(3),
            "the range ends at its high bound"
        );
        assert_eq!(range.at(0.0), range.low, "at(0) is the low bound");
        assert_eq!(range.at(1.0), range.high, "at(1) is the high bound");
        assert!(
            "3s..1s".parse::<DurationRange>().is_err(),
            "a range whose low bound exceeds its high one is refused"
        );
        assert_eq!(
            range.to_string(),
            "500ms..3s",
            "a range prints in the shortest units"
        );
    }

    #[test]
    fn format_round_trips() {
        for text in ["0", "1s", "200ms", "250us", "7ns"] {
            assert_eq!(
                format_duration(parse_duration(text).unwrap()),
                text,
                "{text} prints back as written"
            );
        }
    }
}
