//! A delay distribution: `0`, `200ms`, `uniform:100ms..300ms` or `lognormal:200ms,0.3`.
//!
//! The spec is plain data so that both the CLI and `PUT /__admin/config` use one syntax; the mock
//! server samples it (see `mock_server::delay`).

use std::{fmt, str::FromStr, time::Duration};

use crate::duration::{DurationError, format_duration, parse_duration};

/// How long to wait before answering.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DelaySpec {
    /// The same delay every time (`0` means none).
    Fixed(Duration),
    /// Uniform between two bounds.
    Uniform { low: Duration, high: Duration },
    /// Log-normal with the given median and shape `sigma` (a long right tail, like real servers).
    LogNormal { median: Duration, sigma: f64 },
}

impl Default for DelaySpec {
    fn default() -> Self {
        Self::Fixed(Duration::ZERO)
    }
}

/// Why a delay spec did not parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DelayError {
    #[error("invalid delay `{spec}`: {reason}")]
    Duration {
        spec: String,
        #[source]
        reason: DurationError,
    },
    #[error("invalid delay `{0}`: write `200ms`, `uniform:100ms..300ms` or `lognormal:200ms,0.3`")]
    Syntax(String),
    #[error("invalid delay `{0}`: sigma must be a finite number between 0 and 10")]
    Sigma(String),
    #[error("invalid delay `{0}`: the low bound is above the high bound")]
    Range(String),
}

impl FromStr for DelaySpec {
    type Err = DelayError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let spec = spec.trim();
        let duration = |text: &str| {
            parse_duration(text).map_err(|reason| DelayError::Duration {
                spec: spec.to_owned(),
                reason,
            })
        };
        if let Some(rest) = spec.strip_prefix("uniform:") {
            let (low, high) = rest
                .split_once("..")
                .ok_or_else(|| DelayError::Syntax(spec.to_owned()))?;
            let (low, high) = (duration(low)?, duration(high)?);
            if low > high {
                return Err(DelayError::Range(spec.to_owned()));
            }
            Ok(Self::Uniform { low, high })
        } else if let Some(rest) = spec.strip_prefix("lognormal:") {
            let (median, sigma) = rest
                .split_once(',')
                .ok_or_else(|| DelayError::Syntax(spec.to_owned()))?;
            let median = duration(median)?;
            let sigma: f64 = sigma
                .trim()
                .parse()
                .map_err(|_| DelayError::Sigma(spec.to_owned()))?;
            if !(sigma.is_finite() && (0.0..=10.0).contains(&sigma)) {
                return Err(DelayError::Sigma(spec.to_owned()));
            }
            Ok(Self::LogNormal { median, sigma })
        } else if spec.contains(':') {
            Err(DelayError::Syntax(spec.to_owned()))
        } else {
            Ok(Self::Fixed(duration(spec)?))
        }
    }
}

impl fmt::Display for DelaySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fixed(value) => write!(f, "{}", format_duration(*value)),
            Self::Uniform { low, high } => {
                write!(
                    f,
                    "uniform:{}..{}",
                    format_duration(*low),
                    format_duration(*high)
                )
            }
            Self::LogNormal { median, sigma } => {
                write!(f, "lognormal:{},{sigma}", format_duration(*median))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_and_prints_it_back() {
        for text in ["0", "200ms", "uniform:100ms..300ms", "lognormal:200ms,0.3"] {
            let spec: DelaySpec = text.parse().unwrap();
            assert_eq!(spec.to_string(), text, "{text} prints back as written");
        }
        assert_eq!(
            "200ms".parse::<DelaySpec>().unwrap(),
            DelaySpec::Fixed(Duration::from_millis(200)),
            "a bare duration is a fixed delay"
        );
    }

    #[test]
    fn rejects_bad_specs_with_a_reason() {
        for text in [
            "uniform:300ms..100ms",
            "lognormal:200ms",
            "lognormal:200ms,x",
            "gauss:1s",
            "fast",
        ] {
            let error = text.parse::<DelaySpec>().unwrap_err().to_string();
            assert!(error.contains(text), "{error}");
        }
    }
}
