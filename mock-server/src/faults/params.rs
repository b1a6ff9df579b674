//! Typed fault parameters. A fault declares its own with [`params!`]: a struct whose fields are
//! the `key=value` keys, each with its type, its default (in the CLI's syntax) and its help (the
//! field's doc comment). The macro derives the default, the parser of one key and the display of
//! one key, so `NAME[:key=value,...]`, `mock-server faults` and `GET /__admin/faults` all follow
//! from the struct. [`Common`] holds the parameters every fault takes (`p`, `seed`, `barrier`).

use std::{any::Any, fmt, sync::Arc, time::Duration};

use shared::duration::{format_duration, parse_duration};

/// How a parameter's value is written and checked (for documentation and the admin API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// `3ms`, `0.5s`, `0`.
    Duration,
    /// A probability in `[0, 1]`.
    Probability,
    /// A non-negative integer.
    Count,
    /// A `u64` seed.
    Seed,
}

/// A type a parameter can have: parsed from and shown in the CLI's syntax.
pub trait ParamValue: Sized {
    const KIND: ParamKind;
    /// The value of `text`, or why not (shown to the user after the key).
    fn parse(text: &str) -> Result<Self, String>;
    fn show(&self) -> String;
}

impl ParamValue for Duration {
    const KIND: ParamKind = ParamKind::Duration;
    fn parse(text: &str) -> Result<Self, String> {
        parse_duration(text).map_err(|e| e.to_string())
    }
    fn show(&self) -> String {
        format_duration(*self)
    }
}

impl ParamValue for usize {
    const KIND: ParamKind = ParamKind::Count;
    fn parse(text: &str) -> Result<Self, String> {
        text.parse()
            .map_err(|_| "expected a non-negative integer".to_owned())
    }
    fn show(&self) -> String {
        self.to_string()
    }
}

impl ParamValue for u64 {
    const KIND: ParamKind = ParamKind::Seed;
    fn parse(text: &str) -> Result<Self, String> {
        text.parse()
            .map_err(|_| "expected an unsigned 64-bit integer".to_owned())
    }
    fn show(&self) -> String {
        self.to_string()
    }
}

/// A probability in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Probability(pub f64);

impl ParamValue for Probability {
    const KIND: ParamKind = ParamKind::Probability;
    fn parse(text: &str) -> Result<Self, String> {
        let why = || "expected a number between 0 and 1".to_owned();
        let p: f64 = text.parse().map_err(|_| why())?;
        (0.0..=1.0).contains(&p).then_some(Self(p)).ok_or_else(why)
    }
    fn show(&self) -> String {
        self.0.to_string()
    }
}

/// One parameter as the catalogue lists it.
#[derive(Debug)]
pub struct ParamDef {
    pub key: &'static str,
    pub kind: ParamKind,
    /// In the CLI's syntax.
    pub default: &'static str,
    pub help: &'static str,
}

impl ParamDef {
    /// The help text on one line (the doc comment it comes from may span several).
    pub fn help_line(&self) -> String {
        self.help.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// A fault's parameter struct (implemented by [`params!`]).
pub trait Params: Default + Clone + fmt::Debug + PartialEq + Send + Sync + 'static {
    const DEFS: &'static [ParamDef];
    /// Sets `key` (one of [`Self::DEFS`]) from its text.
    fn set(&mut self, key: &str, value: &str) -> Result<(), String>;
    /// `key`'s value in the CLI's syntax.
    fn show(&self, key: &str) -> String;
}

/// Declares a fault's parameter struct: `/// help` then `key: Type = "default",` per field.
macro_rules! params {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[doc = $help:literal])+ $key:ident : $ty:ty = $default:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        $vis struct $name {
            $( $(#[doc = $help])+ pub $key: $ty, )*
        }

        impl Default for $name {
            fn default() -> Self {
                Self {
                    $( $key: <$ty as $crate::faults::params::ParamValue>::parse($default)
                        .expect(concat!("the default of `", stringify!($key), "` parses")), )*
                }
            }
        }

        impl $crate::faults::params::Params for $name {
            const DEFS: &'static [$crate::faults::params::ParamDef] = &[
                $( $crate::faults::params::ParamDef {
                    key: stringify!($key),
                    kind: <$ty as $crate::faults::params::ParamValue>::KIND,
                    default: $default,
                    help: concat!($($help),+),
                }, )*
            ];

            fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
                let _ = &value;
                match key {
                    $( stringify!($key) => {
                        self.$key = $crate::faults::params::ParamValue::parse(value.trim())?;
                        Ok(())
                    } )*
                    other => Err(format!("no parameter `{other}`")),
                }
            }

            fn show(&self, key: &str) -> String {
                match key {
                    $( stringify!($key) => $crate::faults::params::ParamValue::show(&self.$key), )*
                    other => unreachable!("no parameter `{other}`"),
                }
            }
        }
    };
}
pub(crate) use params;

params! {
    /// The parameters every fault takes, on top of its own.
    pub struct Common {
        /// probability that the fault fires on a request that reaches it
        p: Probability = "1",
        /// seed of the p decision, so a run can be repeated
        seed: u64 = "0",
        /// hold the first K requests at the racy pause until all K arrived, then release them
        /// together (0: off)
        barrier: usize = "0",
    }
}

params! {
    /// The parameters of a fault that takes none of its own (only the [`Common`] ones).
    pub struct NoParams {}
}

/// Some fault's parameter struct, behind its type (the switchboard holds one per fault).
#[derive(Clone)]
pub struct AnyParams(Arc<dyn Any + Send + Sync>);

impl AnyParams {
    pub fn new<P: Params>(params: P) -> Self {
        Self(Arc::new(params))
    }

    /// The parameters as `P`; `P` is always the struct of the fault they belong to.
    pub fn get<P: Params>(&self) -> &P {
        self.0
            .downcast_ref()
            .expect("a fault's parameters have its own type")
    }
}

impl fmt::Debug for AnyParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AnyParams")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    params! {
        struct Example {
            /// a pause
            window: Duration = "3ms",
            /// how many
            count: usize = "5",
        }
    }

    #[test]
    fn the_macro_derives_defaults_parsing_and_display_from_the_struct() {
        let mut example = Example::default();
        assert_eq!(
            example.window,
            Duration::from_millis(3),
            "default from its text"
        );
        example.set("count", " 7 ").unwrap();
        assert_eq!(example.count, 7, "set parses the trimmed value");
        assert_eq!(example.show("window"), "3ms", "shown in the CLI's syntax");
        assert_eq!(
            Example::DEFS[1].key,
            "count",
            "DEFS lists the fields in declaration order"
        );
        assert_eq!(
            Example::DEFS[1].help_line(),
            "how many",
            "help from the doc comment"
        );
        assert!(
            example.set("count", "-1").is_err(),
            "a negative count is refused"
        );
    }

    #[test]
    fn a_probability_is_between_zero_and_one() {
        assert_eq!(
            Probability::parse("0.25"),
            Ok(Probability(0.25)),
            "0.25 is a probability"
        );
        for bad in ["1.5", "-0.1", "half"] {
            assert!(
                Probability::parse(bad).is_err(),
                "{bad} is not a probability"
            );
        }
    }
}
