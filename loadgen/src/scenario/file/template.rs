//! Templates of a scenario file: text with `{name}` placeholders, parsed once when the file is
//! loaded into literal parts and variable slots, and rendered per request into one buffer.
//!
//! A placeholder is `{` + an identifier (`[A-Za-z_][A-Za-z0-9_]*`) + `}`; any other `{` is kept as
//! it is, so JSON bodies (`{"name": "city-{user}"}`) need no escaping. The built-in variables are
//! `user` (the user's index), `iteration` (the user's iteration, from 0), `run` (one random id per
//! run, for names unique across runs) and `uuid` (a fresh v4 UUID per use); every other name must
//! be extracted by an earlier request.

use std::fmt::Write;

/// The built-in variables, in slot order.
pub const BUILTINS: [&str; 4] = ["user", "iteration", "run", "uuid"];
/// Slot of `{user}`.
pub const USER: usize = 0;
/// Slot of `{iteration}`.
pub const ITERATION: usize = 1;
/// Slot of `{run}`.
pub const RUN: usize = 2;
/// Slot of `{uuid}` (rendered fresh, never stored).
pub const UUID: usize = 3;

/// The variable names of one scenario file: built-ins first, then extracted names in the order
/// they are declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names(Vec<String>);

impl Default for Names {
    fn default() -> Self {
        Self(BUILTINS.iter().map(|name| (*name).to_owned()).collect())
    }
}

impl Names {
    /// The slot of `name`, declaring it if new.
    pub fn declare(&mut self, name: &str) -> usize {
        self.slot(name).unwrap_or_else(|| {
            self.0.push(name.to_owned());
            self.0.len() - 1
        })
    }

    pub fn slot(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|known| known == name)
    }

    pub fn name(&self, slot: usize) -> &str {
        &self.0[slot]
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(usize),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// A user's variable values, one per slot (`None` until extracted).
pub type Values = Vec<Option<String>>;

impl Template {
    /// Parses `text`; every placeholder must name a variable of `names` (`known` says which
    /// names exist at this point of the file, for a clear error on a typo).
    pub fn parse(text: &str, names: &Names) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            literal.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match placeholder(after) {
                Some(name) => {
                    let slot = names.slot(name).ok_or_else(|| {
                        format!(
                            "`{{{name}}}` is not a variable: use one of {}, or extract `{name}` \
                             in an earlier request",
                            BUILTINS.join(", ")
                        )
                    })?;
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Var(slot));
                    rest = &after[name.len() + 1..];
                }
                None => {
                    literal.push('{');
                    rest = after;
                }
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Self { parts })
    }

    /// The text when the template has no placeholder (built once, never rendered).
    pub fn as_literal(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [Part::Text(text)] => Some(text),
            _ => None,
        }
    }

    /// Appends the rendered text to `out`, or returns the slot of a variable without a value.
    pub fn render_into(&self, values: &[Option<String>], out: &mut String) -> Result<(), usize> {
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Var(UUID) => {
                    let _ = write!(out, "{}", uuid::Uuid::new_v4());
                }
                Part::Var(slot) => match values.get(*slot) {
                    Some(Some(value)) => out.push_str(value),
                    _ => return Err(*slot),
                },
            }
        }
        Ok(())
    }

    /// Renders into a new string.
    pub fn render(&self, values: &[Option<String>]) -> Result<String, usize> {
        let mut out = String::new();
        self.render_into(values, &mut out)?;
        Ok(out)
    }
}

/// The identifier that `after` (the text after a `{`) starts with, if it is closed by `}`.
fn placeholder(after: &str) -> Option<&str> {
    let end = after.find('}')?;
    let name = &after[..end];
    let mut chars = name.chars();
    let first = chars.next()?;
    let valid = (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(extra: &[&str]) -> Names {
        let mut names = Names::default();
        for name in extra {
            names.declare(name);
        }
        names
    }

    #[test]
    fn placeholders_are_replaced_and_json_braces_kept() {
        let names = names(&["token"]);
        let template = Template::parse(
            r#"{"name": "city-{user}-{iteration}", "t": "{token}"}"#,
            &names,
        )
        .unwrap();
        let mut values: Values = vec![None; names.len()];
        values[USER] = Some("3".into());
        values[ITERATION] = Some("7".into());
        values[names.slot("token").unwrap()] = Some("abc".into());
        assert_eq!(
            template.render(&values).unwrap(),
            r#"{"name": "city-3-7", "t": "abc"}"#,
            "the template fills every value"
        );
    }

    #[test]
    fn a_missing_value_names_its_slot() {
        let names = names(&["token"]);
        let template = Template::parse("Bearer {token}", &names).unwrap();
        let values: Values = vec![None; names.len()];
        assert_eq!(
            template.render(&values),
            Err(4),
            "a variable with no value fails at its offset"
        );
    }

    #[test]
    fn an_unknown_name_is_refused_with_the_builtins_listed() {
        let error = Template::parse("/cities/{city_id}", &Names::default()).unwrap_err();
        assert!(
            error.contains("city_id") && error.contains("iteration"),
            "{error}"
        );
    }

    #[test]
    fn literal_templates_are_recognised() {
        let names = Names::default();
        assert_eq!(
            Template::parse("/json", &names).unwrap().as_literal(),
            Some("/json"),
            "a text without variables is a literal"
        );
        assert_eq!(
            Template::parse("{ }", &names).unwrap().as_literal(),
            Some("{ }"),
            "braces without a name are literal text"
        );
        assert_eq!(
            Template::parse("/u/{user}", &names).unwrap().as_literal(),
            None,
            "a text with a variable is no literal"
        );
    }

    #[test]
    fn uuid_is_fresh_on_every_render() {
        let template = Template::parse("{uuid}", &Names::default()).unwrap();
        let values: Values = vec![None; 4];
        let (a, b) = (template.render(&values), template.render(&values));
        assert_ne!(a.unwrap(), b.unwrap(), "two random values differ");
    }
}
